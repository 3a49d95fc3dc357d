/**
 * What every debugging command does alike: find the log, read it with its problems reported
 * and a progress bar on a terminal, say one clear message and exit 1 when something is
 * wrong (2 for a usage error), never a stack trace.
 */
import { resolve } from 'node:path';
import type { TimeStyle } from '../../debug/format.js';
import type { Event } from '../../events/types.js';
import { type BatchedEvents, EVENT_BATCHES } from '../../debug/walk.js';
import type { CommandIO } from '../cli/io.js';
import { ClosedSegments } from './closed-segments.js';
import { type LogSource, resolveLog } from './log-source.js';
import { type LogProblem as ReaderProblem, LogReader } from './read-log.js';
import { ProblemReport, ProgressBar } from './report.js';

/** Exit codes of the debugging commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CommandFailure(message, EXIT.usage);

export interface OpenLog {
  readonly source: LogSource;
  readonly reader: LogReader;
  readonly report: ProblemReport;
  readonly progress: ProgressBar;
  /** The events of the whole file as it is now (the progress bar cleared when done), also in batches. */
  events(): BatchedEvents;
  /**
   * The closed segments, each read once (for a follower, again whenever the live segment may
   * have been rotated), leaving `reader` (the live segment's) to go on after the last of them.
   */
  readonly closed: ClosedSegments;
}

export function openLog(given: string, io: CommandIO): OpenLog {
  const r = resolveLog(given);
  if (!r.ok) throw new CommandFailure(r.message);
  const source = r.source;
  const report = new ProblemReport(io);
  const progress = new ProgressBar(`reading ${source.path}`);
  const options = {
    onProblem: (p: ReaderProblem) => {
      progress.done();
      report.add(p);
    },
    onProgress: (bytes: number, total: number) => progress.update(bytes, total),
  };
  // The live segment's reader is the one a follower goes on with; the closed segments before
  // it are read each by its own, the seq chain carried from one to the next.
  const reader = new LogReader(source.path, {
    ...options,
    onNewLog: (first, before) =>
      io.err(
        `${source.path}: a new log starts here at seq ${first} (the previous one ended at seq ${before}); reading it from its start`,
      ),
  });
  const closed = new ClosedSegments(reader, options);
  return {
    source,
    reader,
    report,
    progress,
    closed,
    events(): BatchedEvents {
      async function* batches(): AsyncGenerator<readonly Event[]> {
        try {
          yield* closed.batches();
          if (!source.files.includes(source.path)) return; // the live segment is missing (a crash mid-rotation)
          yield* reader.batches(true);
        } finally {
          progress.done();
        }
      }
      return {
        [EVENT_BATCHES]: batches,
        async *[Symbol.asyncIterator]() {
          for await (const b of batches()) yield* b;
        },
      };
    },
  };
}

/**
 * Run a command body: a CommandFailure becomes its message and exit code; anything else
 * (an I/O error reading the log) one line naming the file, exit 1.
 */
export async function runCommand(name: string, io: CommandIO, body: () => Promise<number>): Promise<number> {
  stopOnClosedStdout();
  try {
    return await body();
  } catch (e) {
    if (e instanceof CommandFailure) {
      io.err(`procreg ${name}: ${e.message}`);
      return e.exitCode;
    }
    const err = e as NodeJS.ErrnoException;
    io.err(`procreg ${name}: ${err.path ? `${err.path}: ` : ''}${err.message}`);
    return EXIT.failed;
  }
}

let stdoutWatched = false;

/** `procreg events … | head`: a reader that went away ends the command quietly. */
function stopOnClosedStdout(): void {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export function timeStyle(opts: { utc?: boolean }): TimeStyle {
  return { utc: opts.utc ?? false };
}

/** The unknown-name message, listing the names the log knows. */
export function unknownNames(
  what: string,
  names: readonly string[],
  known: { services: readonly string[]; checks: readonly string[] },
): string {
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  return `${what} ${names.map((n) => JSON.stringify(n)).join(', ')} not in this log; it knows services: ${list(known.services)}; checks: ${list(known.checks)}`;
}

export function absolute(path: string): string {
  return resolve(path);
}

/** The damaged-lines verdict: exit 1 when any line was damaged (a torn tail is not). */
export function finishReport(open: OpenLog, what: string): number {
  open.report.finish(what);
  return open.report.damaged > 0 ? EXIT.failed : EXIT.ok;
}
