/**
 * `procreg events <log>`: the events, one line each in plain words, filtered; crash loops
 * collapsed (`--all` expands them); `--follow` keeps printing as the supervisor appends;
 * `--cursor-file` resumes exactly after the last event of the previous call.
 */
import type { Told } from '../../debug/collapse.js';
import { renderLoop } from '../../debug/collapse.js';
import { renderEventLine } from '../../debug/describe.js';
import { type EventFilter, EventsQuery, knownTypes, unknownTypes } from '../../debug/filter.js';
import { calendarDay, isoTime, type TimeStyle } from '../../debug/format.js';
import { parseTime } from '../../debug/point.js';
import type { Event } from '../../events/types.js';
import {
  absolute,
  CommandFailure,
  EXIT,
  finishReport,
  openLog,
  runCommand,
  timeStyle,
  unknownNames,
  usageError,
} from '../debug/command-kit.js';
import { type Cursor, readCursor, writeCursor } from '../debug/cursor.js';
import { follow } from '../debug/follow.js';
import { EVENT_BATCHES } from '../../debug/walk.js';
import { isNatsTarget } from '../fleet/nats.js';
import type { CommandIO } from './io.js';

export interface EventsCommandOptions {
  readonly service?: readonly string[];
  readonly check?: readonly string[];
  readonly type?: readonly string[];
  readonly since?: string;
  readonly until?: string;
  readonly gen?: string;
  readonly follow?: boolean;
  readonly cursorFile?: string;
  readonly all?: boolean;
  readonly json?: boolean;
  readonly utc?: boolean;
  readonly seq?: boolean;
  /** Poll interval of --follow, ms (for tests; default 200). */
  readonly pollMs?: number;
  /** Ends --follow (the CLI aborts it on SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
}

/** The JSON line `events --json` prints per event: one documented, stable shape. */
export interface EventJson {
  readonly seq: number;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly type: string;
  readonly kind: string;
  readonly service: string | null;
  readonly check: string | null;
  readonly serial: number | null;
  readonly gen: number;
  readonly text: string;
  readonly lastWords: unknown;
  /** The log line itself. */
  readonly event: Event;
}

/** An event as `events --json` prints it (a stream's reader adds its host and logId first). */
export function eventJson(t: Extract<Told, { kind: 'event' }>): EventJson {
  const l = t.line;
  return {
    seq: l.seq,
    time: isoTime(l.time),
    type: l.type,
    kind: l.kind,
    service: l.service,
    check: l.check,
    serial: l.serial,
    gen: l.gen,
    text: l.text,
    lastWords: l.lastWords,
    event: t.event,
  };
}

export async function eventsCommand(
  log: string,
  opts: EventsCommandOptions & { readonly host?: readonly string[] },
  io: CommandIO,
): Promise<number> {
  if (isNatsTarget(log)) return (await import('./fleet-command.js')).fleetEventsCommand(log, opts, io);
  if (opts.host?.length)
    return runCommand('events', io, () =>
      Promise.reject(usageError('--host reads a stream (nats://…); a log file has one host')),
    );
  return runCommand('events', io, () => run(log, opts, io));
}

async function run(log: string, opts: EventsCommandOptions, io: CommandIO): Promise<number> {
  const now = Date.now();
  const filter = parseFilter(opts, now);
  const cursorPath = opts.cursorFile;
  const open = openLog(log, io);
  const logPath = absolute(open.source.path);
  let afterSeq: number | undefined;
  if (cursorPath !== undefined) {
    const c = readCursor(cursorPath);
    if (!c.ok) throw new CommandFailure(c.message);
    if (c.cursor) {
      if (c.cursor.log !== logPath)
        throw new CommandFailure(`cursor file ${cursorPath} belongs to ${c.cursor.log}, not to ${logPath}`);
      afterSeq = c.cursor.seq;
    }
  }
  const style = timeStyle(opts);
  const query = new EventsQuery({ filter: { ...filter, afterSeq }, all: opts.all || opts.json });
  const out = new Printer(io, style, opts);
  let last: { seq: number; time: number } | null = null;
  const saveCursor = () => {
    if (cursorPath === undefined || last === null) return;
    const c: Cursor = { seq: last.seq, time: last.time, log: logPath };
    writeCursor(cursorPath, c);
  };
  const take = (e: Event) => {
    out.print(query.push(e));
    last = { seq: e.seq, time: e.time };
  };
  let checkedNames = false;
  const afterFirstPass = () => {
    if (checkedNames) return;
    checkedNames = true;
    const u = query.unknown();
    if (afterSeq !== undefined && query.lastSeq < afterSeq)
      throw new CommandFailure(
        `cursor file ${cursorPath} is at seq ${afterSeq}, past the end of ${open.source.path} (its last event is seq ${query.lastSeq}): is it the cursor of another log?`,
      );
    if (u.services.length || u.checks.length) {
      const msg = unknownNames(
        u.services.length ? 'service(s)' : 'check(s)',
        [...u.services, ...u.checks],
        query.known,
      );
      if (!opts.follow) throw new CommandFailure(msg);
      io.err(`procreg events: warning: ${msg} (a reload may add them; following)`);
    }
  };

  if (!opts.follow) {
    for await (const batch of open.events()[EVENT_BATCHES]()) for (const e of batch) take(e);
    out.print(query.flush());
    afterFirstPass();
    saveCursor();
    return finishReport(open, 'procreg events');
  }

  const signal = opts.signal ?? new AbortController().signal;
  for await (const item of follow(open.reader, {
    signal,
    pollMs: opts.pollMs,
    closed: open.closed,
    onSwitch: (what) => io.err(`procreg events: ${what}`),
  })) {
    if (item === 'idle') {
      out.print(query.flush());
      afterFirstPass();
      saveCursor();
      continue;
    }
    take(item);
  }
  out.print(query.flush());
  saveCursor();
  open.report.finish('procreg events');
  return EXIT.ok;
}

/** The filter options, checked (exit 2 naming the flag); also for a stream (fleet-command.ts). */
export function parseFilter(opts: EventsCommandOptions, now: number): EventFilter {
  const time = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const t = parseTime(v, now);
    if (!t.ok) throw usageError(`${flag}: ${t.error}`);
    return t.value;
  };
  const types = (opts.type ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = unknownTypes(types);
  if (bad.length)
    throw usageError(`--type: unknown event type(s) ${bad.join(', ')}; known: ${knownTypes().join(', ')}`);
  let gen: number | undefined;
  if (opts.gen !== undefined) {
    if (!/^\d+$/.test(opts.gen) || Number(opts.gen) < 1)
      throw usageError(`--gen: ${JSON.stringify(opts.gen)} is not a generation (1, 2, …)`);
    gen = Number(opts.gen);
  }
  const since = time('--since', opts.since);
  const until = time('--until', opts.until);
  if (since !== undefined && until !== undefined && until < since)
    throw usageError('--until is before --since');
  return { services: opts.service ?? [], checks: opts.check ?? [], types, since, until, gen };
}

/** Writes what a query tells: JSON lines, or plain lines with a day header when the day changes. */
class Printer {
  private day = '';

  constructor(
    private readonly io: CommandIO,
    private readonly style: TimeStyle,
    private readonly opts: EventsCommandOptions,
  ) {}

  print(told: readonly Told[]): void {
    for (const t of told) {
      if (this.opts.json) {
        if (t.kind !== 'event') continue;
        this.io.out(JSON.stringify(eventJson(t)));
        continue;
      }
      const time = t.kind === 'event' ? t.line.time : t.loop.time;
      const day = calendarDay(time, this.style);
      if (day !== this.day) {
        this.day = day;
        this.io.out(`-- ${day}${this.style.utc ? ' UTC' : ''} --`);
      }
      this.io.out(
        t.kind === 'event'
          ? renderEventLine(t.line, { ...this.style, seqs: this.opts.seq })
          : renderLoop(t.loop, this.style),
      );
    }
  }
}
