import { registryView } from '../../core/view.js';
import { fullTime, type TimeStyle } from '../../debug/format.js';
import { describePoint, parsePoint, type Point } from '../../debug/point.js';
import { replayTo } from '../../debug/replay-to.js';
import { formatView } from '../../report/registry-table.js';
import { openLog } from '../debug/command-kit.js';
import { resolveLog } from '../debug/log-source.js';
import { newestSnapshot } from '../event-log/open-log.js';
import type { LogProblem } from '../event-log/reader.js';
import { replayLogFile } from '../event-log/replay-file.js';
import { type BatchedEvents, EVENT_BATCHES } from '../../debug/walk.js';
import type { Event } from '../../events/types.js';
import { isNatsTarget } from '../fleet/nats.js';
import type { CommandIO } from './io.js';

export interface ReplayCommandOptions {
  readonly json?: boolean;
  readonly check?: boolean;
  /** Stop at this point: a seq, `gen:N`, or a time. */
  readonly until?: string;
  /** Stop at this time (ISO 8601 or relative: -90s); a seq or gen:N too. */
  readonly at?: string;
  readonly utc?: boolean;
  /** Start at the newest snapshot instead of the oldest kept segment (faster; checks only what follows it). */
  readonly fromSnapshot?: boolean;
  /** On a stream (nats://…): only these hosts. */
  readonly host?: readonly string[];
}

/**
 * Exit codes: 0 fine, 1 --check found violations or the point is not in the log, 2 the log
 * cannot be read or is not an event log, or a usage error.
 */
export async function replayCommand(
  given: string,
  options: ReplayCommandOptions,
  io: CommandIO,
): Promise<number> {
  if (isNatsTarget(given)) {
    if (options.until !== undefined || options.at !== undefined || options.fromSnapshot) {
      io.err('procreg replay: --until, --at and --from-snapshot read a log file; on a stream, give none');
      return 2;
    }
    return (await import('./fleet-command.js')).fleetReplayCommand(given, options, io);
  }
  if (options.until !== undefined && options.at !== undefined) {
    io.err('procreg replay: give --until or --at, not both');
    return 2;
  }
  const spec = options.until ?? options.at;
  let point: Point | null = null;
  if (spec !== undefined) {
    const p = parsePoint(spec, Date.now());
    if (!p.ok) {
      io.err(`procreg replay: ${options.until !== undefined ? '--until' : '--at'}: ${p.error}`);
      return 2;
    }
    point = p.value;
  }
  const resolved = resolveLog(given);
  if (!resolved.ok) {
    io.err(`procreg replay: ${resolved.message}`);
    return 2;
  }
  const { path, files } = resolved.source;
  if (point !== null) return replayToPoint(given, point, options, io);
  const check = options.check ?? false;
  let replayed: Awaited<ReturnType<typeof replayLogFile>>;
  const from = options.fromSnapshot ? newestSnapshot(files) : null;
  const parts = from
    ? [{ path: from.file, start: from.offset }, ...files.slice(files.indexOf(from.file) + 1)]
    : files;
  try {
    replayed = await replayLogFile(parts, { check });
  } catch (e) {
    io.err(`procreg replay: ${path}: cannot read the event log: ${(e as Error).message}`);
    return 2;
  }
  const { result, problems: logProblems } = replayed;
  for (const p of logProblems) io.err(`${p.file ?? path}:${p.line}: ${p.kind}: ${p.message}`);
  // One file from seq 1 (its head snapshot) needs no word on where the fold began.
  if (files.length > 1 || from || (result.fromSnapshot && result.firstSeq > 1))
    io.err(describeStart(files, result, from));
  const view = registryView(result.state, result.lastSeq);
  io.out(options.json ? JSON.stringify(view, null, 2) : formatView(view, result.events, result.lastTime));
  if (!check) return brokenChain(logProblems, io) ? 1 : 0;
  return checkVerdict(result.problems, logProblems, result.events, io);
}

/** Where the fold began, when the log is more than one file or starts from a snapshot. */
function describeStart(
  files: readonly string[],
  result: { firstSeq: number; fromSnapshot: boolean; lastSeq: number },
  from: { file: string; seq: number } | null,
): string {
  const n = files.length;
  const segs = `${n} file${n === 1 ? '' : 's'} (${n > 1 ? `${n - 1} closed segment${n > 2 ? 's' : ''} and the live one` : 'the live segment'})`;
  if (from) return `read from the newest snapshot, seq ${from.seq} in ${from.file}, to seq ${result.lastSeq}`;
  if (result.firstSeq > 1 && result.fromSnapshot)
    return `read ${segs}: seq ${result.firstSeq}-${result.lastSeq}, starting from the snapshot at seq ${result.firstSeq} (the segments before it were deleted by retention)`;
  return `read ${segs}: seq ${result.firstSeq}-${result.lastSeq}`;
}

/**
 * Segments that do not follow each other (one missing, overlapping, of another log): the
 * registry printed is not what the log's history folds to, so even without --check it is a
 * failure (exit 1), said in one line after the problems by file and seq.
 */
function brokenChain(problems: readonly LogProblem[], io: CommandIO): boolean {
  const n = problems.filter(
    (p) => p.kind === 'foreign-log' || ((p.kind === 'seq-gap' || p.kind === 'seq-repeat') && p.previousFile),
  ).length;
  if (n > 0)
    io.err(
      `the segments of the log do not form one chain (${n} break(s), above): the registry shown is not the fold of its whole history`,
    );
  return n > 0;
}

function checkVerdict(
  problems: readonly { seq: number; kind: string; message: string }[],
  logProblems: readonly { kind: string }[],
  events: number,
  io: CommandIO,
): number {
  // A torn tail is what a crash leaves and is expected; anything else in the file is damage.
  const damage = logProblems.filter((p) => p.kind !== 'torn');
  for (const p of problems) io.err(`seq ${p.seq}: ${p.kind}: ${p.message}`);
  if (problems.length === 0 && damage.length === 0) {
    io.err(
      `check: ${events} events, every invariant holds after every event, every logged decision re-derived`,
    );
    return 0;
  }
  io.err(`check: FAILED — ${problems.length} violation(s) and ${damage.length} damaged line(s)`);
  return 1;
}

/** `replay --until/--at`: the registry at a point, with the generation and config in force there. */
async function replayToPoint(
  given: string,
  point: Point,
  options: ReplayCommandOptions,
  io: CommandIO,
): Promise<number> {
  const style: TimeStyle = { utc: options.utc ?? false };
  const open = openLog(given, io);
  const damaged: { kind: string }[] = [];
  let res: Awaited<ReturnType<typeof replayTo>>;
  try {
    res = await replayTo(countDamage(open, damaged), point, { check: options.check ?? false, ...style });
  } catch (e) {
    io.err(`procreg replay: ${open.source.path}: cannot read the event log: ${(e as Error).message}`);
    return 2;
  }
  open.report.finish('procreg replay');
  if (!res.ok) {
    io.err(`procreg replay: ${open.source.path}: ${describePoint(point, style)}: ${res.error}`);
    return 1;
  }
  const r = res.replay;
  if (options.json) {
    io.out(
      JSON.stringify(
        {
          ...r.view,
          time: r.time,
          at: { point: describePoint(point, style), seq: r.seq, time: r.time },
          config: r.config,
        },
        null,
        2,
      ),
    );
  } else {
    io.out(
      [
        `at ${describePoint(point, style)}: the last event at or before it is seq ${r.seq} (${fullTime(r.time, style)})`,
        configLine(r, style),
        '',
        formatView(r.view, r.result.events, r.time),
      ].join('\n'),
    );
  }
  if (!options.check) return open.report.damaged > 0 ? 1 : 0;
  return checkVerdict(r.result.problems, damaged, r.result.events, io);
}

function configLine(
  r: { generation: number; config: { services: object; checks: object } | null },
  _style: TimeStyle,
): string {
  if (!r.config) return 'config in force: none (no config was loaded yet)';
  const s = Object.keys(r.config.services);
  const c = Object.keys(r.config.checks);
  return `config in force: generation ${r.generation}: services ${s.join(', ') || 'none'}; checks ${c.join(', ') || 'none'} (--json prints it whole)`;
}

function countDamage(open: ReturnType<typeof openLog>, damaged: { kind: string }[]): BatchedEvents {
  const events = open.events();
  async function* batches(): AsyncGenerator<readonly Event[]> {
    yield* events[EVENT_BATCHES]();
    for (let i = 0; i < open.report.damaged; i++) damaged.push({ kind: 'invalid' });
  }
  return {
    [EVENT_BATCHES]: batches,
    async *[Symbol.asyncIterator]() {
      for await (const b of batches()) yield* b;
    },
  };
}
