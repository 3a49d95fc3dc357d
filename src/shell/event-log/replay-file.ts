import { Replayer, type ReplayOptions, type ReplayResult } from '../../core/replay.js';
import { type LogPart, type LogProblem, readLogParts } from './reader.js';

export interface LogFileReplay {
  readonly result: ReplayResult;
  /** What was wrong in the file itself (damaged lines, seq gaps, a torn tail), by line. */
  readonly problems: readonly LogProblem[];
}

/**
 * The one way to fold an event log file — or the files of a segmented log, in order: stream
 * them, fold every event, collect what was wrong with the files. A missing file is an empty log when `missingOk`, else an error.
 * An abort rejects with the signal's reason, whatever else happened.
 */
export async function replayLogFile(
  path: string | readonly (string | LogPart)[],
  options: ReplayOptions & {
    readonly missingOk?: boolean;
    /** Abandons the replay between two batches (at most 1 MiB of log each): it rejects with the signal's reason. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<LogFileReplay> {
  const replayer = new Replayer(options);
  const problems: LogProblem[] = [];
  try {
    const parts = (typeof path === 'string' ? [path] : path).map((p) =>
      typeof p === 'string' ? { path: p } : p,
    );
    for await (const batch of readLogParts(parts)) {
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
