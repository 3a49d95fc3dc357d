/**
 * The debugging commands on a fleet's stream (`nats://host:port[/stream]`), and `procreg
 * fleet status`. Per host, the exact fold of its log, seq-checked; across hosts, a merged view
 * ordered by (time, host, seq) — by the hosts' wall clocks, which the output says.
 */
import { Replayer } from '../../core/replay.js';
import { registryView, type RegistryView } from '../../core/view.js';
import { renderLoop, type Told } from '../../debug/collapse.js';
import { renderEventLine } from '../../debug/describe.js';
import { EventsQuery } from '../../debug/filter.js';
import { calendarDay, isoTime, type TimeStyle } from '../../debug/format.js';
import { formatView, table } from '../../report/registry-table.js';
import { CommandFailure, EXIT, runCommand, timeStyle, unknownNames } from '../debug/command-kit.js';
import {
  type FleetStream,
  listLogs,
  logEvents,
  newestSnapshotSeq,
  openFleetStream,
  type StreamLog,
  type StreamProblem,
} from '../fleet/stream-source.js';
import { inPool } from '../fleet/pool.js';
import { eventJson, type EventsCommandOptions, parseFilter } from './events-command.js';
import type { CommandIO } from './io.js';

export interface FleetOptions {
  readonly host?: readonly string[];
}

async function withStream<T>(given: string, body: (fs: FleetStream) => Promise<T>): Promise<T> {
  const fs = await openFleetStream(given);
  try {
    return await body(fs);
  } finally {
    await fs.close();
  }
}

async function logsOf(
  fs: FleetStream,
  opts: FleetOptions,
  io: CommandIO,
  name: string,
): Promise<StreamLog[]> {
  const hosts = opts.host ?? [];
  const logs = await listLogs(fs, hosts, (s) =>
    io.err(`procreg ${name}: ${s}: not a procreg log subject; ignored`),
  );
  if (logs.length === 0)
    throw new CommandFailure(
      hosts.length
        ? `stream ${fs.stream} on ${fs.server} has no log of host(s) ${hosts.join(', ')}`
        : `stream ${fs.stream} on ${fs.server} holds no procreg log yet`,
    );
  const missing = hosts.filter((h) => !logs.some((l) => l.host === h));
  if (missing.length) io.err(`procreg ${name}: no log of host(s) ${missing.join(', ')} on the stream`);
  return logs;
}

function problemPrinter(io: CommandIO, name: string, problems: StreamProblem[]) {
  return (p: StreamProblem) => {
    problems.push(p);
    io.err(`procreg ${name}: ${p.host} (log ${p.logId}): ${p.kind}: ${p.message}`);
  };
}

/** `procreg events nats://…`: every host's events, merged by (time, host, seq). */
export function fleetEventsCommand(
  given: string,
  opts: EventsCommandOptions & FleetOptions,
  io: CommandIO,
): Promise<number> {
  return runCommand('events', io, () => {
    if (opts.follow || opts.cursorFile !== undefined)
      throw new CommandFailure('--follow and --cursor-file read a log file; on a stream, give neither', 2);
    const filter = parseFilter(opts, Date.now());
    return withStream(given, async (fs) => {
      const logs = await logsOf(fs, opts, io, 'events');
      const problems: StreamProblem[] = [];
      const onProblem = problemPrinter(io, 'events', problems);
      const told: { log: StreamLog; t: Told; time: number; seq: number }[] = [];
      const known = { services: new Set<string>(), checks: new Set<string>() };
      for (const log of logs) {
        const query = new EventsQuery({ filter, all: opts.all || opts.json });
        const keep = (ts: readonly Told[]) => {
          for (const t of ts)
            told.push({
              log,
              t,
              time: t.kind === 'event' ? t.line.time : t.loop.time,
              seq: t.kind === 'event' ? t.event.seq : t.loop.lastSeq,
            });
        };
        for await (const batch of logEvents(fs, log, onProblem)) for (const e of batch) keep(query.push(e));
        keep(query.flush());
        for (const s of query.known.services) known.services.add(s);
        for (const c of query.known.checks) known.checks.add(c);
      }
      const unknown = [...(opts.service ?? []).filter((s) => !known.services.has(s))];
      const unknownChecks = [...(opts.check ?? []).filter((c) => !known.checks.has(c))];
      if (unknown.length || unknownChecks.length)
        throw new CommandFailure(
          unknownNames(unknown.length ? 'service(s)' : 'check(s)', [...unknown, ...unknownChecks], {
            services: [...known.services].sort(),
            checks: [...known.checks].sort(),
          }).replace('not in this log', 'not in any log on the stream'),
        );
      told.sort(
        (a, b) =>
          a.time - b.time || (a.log.host < b.log.host ? -1 : a.log.host > b.log.host ? 1 : a.seq - b.seq),
      );
      const style = timeStyle(opts);
      if (!opts.json && logs.length > 1)
        io.out(
          `# ${logs.length} logs of ${new Set(logs.map((l) => l.host)).size} host(s), merged in the order of their wall clocks (time, host, seq)`,
        );
      let day = '';
      for (const { log, t } of told) {
        if (opts.json) {
          if (t.kind !== 'event') continue;
          io.out(JSON.stringify({ host: log.host, logId: log.logId, ...eventJson(t) }));
          continue;
        }
        day = dayHeader(io, style, t.kind === 'event' ? t.line.time : t.loop.time, day);
        const text =
          t.kind === 'event'
            ? renderEventLine(t.line, { ...style, seqs: opts.seq })
            : renderLoop(t.loop, style);
        io.out(`${log.host.padEnd(12)} ${text}`);
      }
      return problems.length > 0 ? EXIT.failed : EXIT.ok;
    });
  });
}

function dayHeader(io: CommandIO, style: TimeStyle, time: number, day: string): string {
  const d = calendarDay(time, style);
  if (d !== day) io.out(`-- ${d}${style.utc ? ' UTC' : ''} --`);
  return d;
}

export interface FleetReplayOptions extends FleetOptions {
  readonly json?: boolean;
  readonly check?: boolean;
}

/** `procreg replay nats://…`: each host's log folded exactly, one registry per host. */
export function fleetReplayCommand(given: string, opts: FleetReplayOptions, io: CommandIO): Promise<number> {
  return runCommand('replay', io, () =>
    withStream(given, async (fs) => {
      const logs = await logsOf(fs, opts, io, 'replay');
      const problems: StreamProblem[] = [];
      const onProblem = problemPrinter(io, 'replay', problems);
      let failed = false;
      const out: { host: string; logId: string; view: RegistryView }[] = [];
      for (const log of logs) {
        const replayer = new Replayer({ check: opts.check ?? false });
        for await (const batch of logEvents(fs, log, onProblem)) for (const e of batch) replayer.push(e);
        const r = replayer.result();
        const view = registryView(r.state, r.lastSeq);
        out.push({ host: log.host, logId: log.logId, view });
        if (!opts.json) {
          io.out(`== ${log.host} (log ${log.logId}): seq ${r.firstSeq}-${r.lastSeq}, ${r.events} events`);
          io.out(formatView(view, r.events, r.lastTime));
          io.out('');
        }
        if (opts.check) {
          for (const p of r.problems) io.err(`${log.host}: seq ${p.seq}: ${p.kind}: ${p.message}`);
          const mine = problems.filter((p) => p.logId === log.logId);
          if (r.problems.length === 0 && mine.length === 0)
            io.err(
              `check: ${log.host}: ${r.events} events, every invariant holds after every event, every logged decision re-derived`,
            );
          else {
            io.err(
              `check: ${log.host}: FAILED — ${r.problems.length} violation(s) and ${mine.length} stream problem(s)`,
            );
            failed = true;
          }
        }
      }
      if (opts.json) io.out(JSON.stringify(out, null, 2));
      return failed || problems.length > 0 ? EXIT.failed : EXIT.ok;
    }),
  );
}

export interface FleetStatusOptions extends FleetOptions {
  readonly json?: boolean;
}

interface HostRow {
  readonly host: string;
  readonly logId: string;
  readonly lastEvent: string | null;
  readonly seq: number;
  readonly generation: number;
  readonly phase: string;
  readonly running: number;
  readonly backingOff: number;
  readonly givenUp: number;
  readonly services: number;
  /** How long after the event the stream stored the newest message, seconds. */
  readonly shipLagSeconds: number | null;
  /** Seconds since the newest event (by this machine's clock). */
  readonly silentSeconds: number | null;
  /** Events folded to build the row (from the newest snapshot). */
  readonly folded: number;
}

/** `procreg fleet status nats://…`: one row per host, each folded from its newest snapshot. */
export function fleetStatusCommand(given: string, opts: FleetStatusOptions, io: CommandIO): Promise<number> {
  return runCommand('fleet status', io, () =>
    withStream(given, async (fs) => {
      const all = await logsOf(fs, opts, io, 'fleet status');
      // A host's current log is its newest one (a replaced log leaves an older subject).
      const newest = new Map<string, StreamLog>();
      for (const l of all) {
        const had = newest.get(l.host);
        if (!had || had.last.stored < l.last.stored) newest.set(l.host, l);
      }
      const problems: StreamProblem[] = [];
      const onProblem = problemPrinter(io, 'fleet status', problems);
      const now = Date.now();
      // Hosts read side by side: each is a few requests and the events since its snapshot.
      const rows = await inPool([...newest.values()], 16, async (log): Promise<HostRow> => {
        const from = await newestSnapshotSeq(fs, log);
        const replayer = new Replayer({});
        for await (const batch of logEvents(fs, log, onProblem, from ?? undefined))
          for (const e of batch) replayer.push(e);
        const r = replayer.result();
        const view = registryView(r.state, r.lastSeq);
        const count = (s: string) => view.services.filter((x) => x.state === s).length;
        const lastTime = log.last.event?.time ?? null;
        return {
          host: log.host,
          logId: log.logId,
          lastEvent: lastTime === null ? null : isoTime(lastTime),
          seq: r.lastSeq,
          generation: view.generation,
          phase: view.phase,
          running: count('running'),
          backingOff: count('backoff'),
          givenUp: count('given-up') + count('failed'),
          services: view.services.length,
          shipLagSeconds: lastTime === null ? null : Math.max(0, (log.last.stored - lastTime) / 1000),
          silentSeconds: lastTime === null ? null : Math.max(0, (now - lastTime) / 1000),
          folded: r.events,
        };
      });
      if (opts.json) io.out(JSON.stringify({ stream: fs.stream, server: fs.server, hosts: rows }, null, 2));
      else {
        io.out(
          table(
            [
              'HOST',
              'LAST EVENT',
              'SEQ',
              'GEN',
              'PHASE',
              'RUNNING',
              'BACKOFF',
              'GIVEN UP',
              'SHIP LAG',
              'SILENT',
            ],
            rows.map((r) => [
              r.host,
              r.lastEvent === null ? '-' : isoTime(Date.parse(r.lastEvent)).replace('T', ' ').slice(0, 19),
              r.seq,
              r.generation,
              r.phase,
              `${r.running}/${r.services}`,
              r.backingOff,
              r.givenUp,
              r.shipLagSeconds === null ? '-' : `${r.shipLagSeconds.toFixed(1)}s`,
              r.silentSeconds === null ? '-' : `${Math.round(r.silentSeconds)}s`,
            ]),
          ).join('\n'),
        );
      }
      return problems.length > 0 ? EXIT.failed : EXIT.ok;
    }),
  );
}

/**
 * history, why and timeline on a stream: each selected host's current log read by the
 * command as it reads a file (materialized: ../fleet/materialize.ts), one section per host
 * (`== host (log …)`), the file's name in messages replaced by the host's. Hosts whose
 * configs never had `name` are skipped (said once); none having it is the usual error.
 */
export function fleetPerHostCommand(
  command: string,
  given: string,
  opts: FleetOptions,
  name: string | null,
  io: CommandIO,
  body: (path: string, io: CommandIO, host: string) => Promise<number>,
): Promise<number> {
  return runCommand(command, io, () =>
    withStream(given, async (fs) => {
      const all = await logsOf(fs, opts, io, command);
      const newest = new Map<string, StreamLog>();
      for (const l of all) {
        const had = newest.get(l.host);
        if (!had || had.last.stored < l.last.stored) newest.set(l.host, l);
      }
      const problems: StreamProblem[] = [];
      const { materializeLogs } = await import('../fleet/materialize.js');
      const { files, dispose } = await materializeLogs(
        fs,
        [...newest.values()],
        problemPrinter(io, command, problems),
      );
      try {
        const having = name === null ? files : files.filter((f) => f.names.has(name));
        if (having.length === 0)
          throw new CommandFailure(
            `service or check ${JSON.stringify(name)} not in any host's log on the stream (hosts: ${files.map((f) => f.log.host).join(', ')})`,
          );
        const without = files.filter((f) => !having.includes(f));
        if (without.length)
          io.err(`procreg ${command}: no ${name} on host(s) ${without.map((f) => f.log.host).join(', ')}`);
        let code: number = problems.length > 0 ? EXIT.failed : EXIT.ok;
        for (const f of having) {
          const label = `${fs.server}/${fs.stream} host ${f.log.host}`;
          const swap = (t: string) => t.split(f.path).join(label);
          const hostIo: CommandIO = { out: (t) => io.out(swap(t)), err: (t) => io.err(swap(t)) };
          // A section header; with --json on stderr, so that stdout holds only the JSON.
          if (having.length > 1 || opts.host?.length)
            ((opts as { json?: boolean }).json ? io.err : io.out)(`== ${f.log.host} (log ${f.log.logId})`);
          code = Math.max(code, await body(f.path, hostIo, f.log.host));
        }
        return code;
      } finally {
        dispose();
      }
    }),
  );
}
