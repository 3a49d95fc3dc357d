import { Replayer, type ReplayOptions, type ReplayResult } from '../../core/replay.js';
import { type LogProblem, readLogBatches } from './reader.js';

export interface LogFileReplay {
  readonly result: ReplayResult;
  /** What was wrong in the file itself (damaged lines, seq gaps, a torn tail), by line. */
  readonly problems: readonly LogProblem[];
}

/**
 * The one way to fold an event log file: stream it, fold every event, collect what was
 * wrong with the file. A missing file is an empty log when `missingOk`, else an error.
 * An abort rejects with the signal's reason, whatever else happened.
 */
export async function replayLogFile(
  path: string,
  options: ReplayOptions & {
    readonly missingOk?: boolean;
    /** Abandons the replay between two batches (at most 1 MiB of log each): it rejects with the signal's reason. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<LogFileReplay> {
  const replayer = new Replayer(options);
  const problems: LogProblem[] = [];
  try {
    for await (const batch of readLogBatches(path)) {
      options.signal?.throwIfAborted();
      for (const e of batch.events) replayer.push(e);
      for (const p of batch.problems) problems.push(p);
    }
  } catch (e) {
    if (options.signal?.aborted || !options.missingOk || (e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw e;
  }
  return { result: replayer.result(), problems };
}
