/**
 * `procreg history <log> <service>`: one row per incarnation — number, generation, PID,
 * started, ended, uptime, how it ended and who caused it, the restart delay chosen after it
 * and the restart-intensity count at that moment.
 */
import { lastWordsText } from '../../debug/describe.js';
import { KnownNames } from '../../debug/filter.js';
import { calendarDay, clockTime, duration, exitWords, type TimeStyle } from '../../debug/format.js';
import { HistoryBuilder, type HistoryRow, type ServiceHistory, windowText } from '../../debug/history.js';
import { Story } from '../../debug/story.js';
import { table } from '../../report/registry-table.js';
import {
  CommandFailure,
  finishReport,
  openLog,
  runCommand,
  timeStyle,
  unknownNames,
  usageError,
} from '../debug/command-kit.js';
import { EVENT_BATCHES } from '../../debug/walk.js';
import { isNatsTarget } from '../fleet/nats.js';
import type { CommandIO } from './io.js';

export interface HistoryCommandOptions {
  readonly json?: boolean;
  readonly utc?: boolean;
  /** Only the last N incarnations. */
  readonly last?: string;
}

/** `history --json`: one object. */
export interface HistoryJson extends ServiceHistory {
  readonly log: string;
}

export async function historyCommand(
  log: string,
  service: string,
  opts: HistoryCommandOptions & { readonly host?: readonly string[] },
  io: CommandIO,
): Promise<number> {
  if (isNatsTarget(log))
    return (await import('./fleet-command.js')).fleetPerHostCommand(
      'history',
      log,
      opts,
      service,
      io,
      (path, hostIo) => historyCommand(path, service, opts, hostIo),
    );
  return runCommand('history', io, async () => {
    let last: number | undefined;
    if (opts.last !== undefined) {
      if (!/^\d+$/.test(opts.last) || Number(opts.last) < 1)
        throw usageError(`--last: ${JSON.stringify(opts.last)} is not a positive number`);
      last = Number(opts.last);
    }
    const open = openLog(log, io);
    const story = new Story();
    const known = new KnownNames();
    const builder = new HistoryBuilder(service, { last }).attach(story);
    for await (const batch of open.events()[EVENT_BATCHES]())
      for (const e of batch) {
        known.see(e);
        story.push(e);
      }
    story.finish();
    if (!known.hasService(service)) {
      if (known.hasCheck(service))
        throw new CommandFailure(
          `${service} is a check: history is kept per service; see its runs with procreg events ${log} --check ${service}`,
        );
      throw new CommandFailure(unknownNames('service', [service], known));
    }
    const h = builder.result(story);
    const style = timeStyle(opts);
    if (opts.json) {
      const j: HistoryJson = { log: open.source.path, ...h };
      io.out(JSON.stringify(j, null, 2));
    } else io.out(renderHistory(h, open.source.path, style));
    return finishReport(open, 'procreg history');
  });
}

export function renderHistory(h: ServiceHistory, log: string, style: TimeStyle): string {
  const rows = h.rows;
  const instances = new Set(rows.map((r) => r.instance)).size > 1;
  const first = rows[0];
  const days = new Set(
    rows
      .flatMap((r) => [r.startedAt, ...(r.endedAt !== null ? [r.endedAt] : [])])
      .map((t) => calendarDay(t, style)),
  );
  const when = (t: number) =>
    days.size > 1 ? `${calendarDay(t, style)} ${clockTime(t, style)}` : clockTime(t, style);
  const head = [
    `history of ${h.service} in ${log}: ${rows.length} incarnation(s)${h.omitted ? ` (the last ${rows.length}; ${h.omitted} before them left out)` : ''}; now ${h.state ?? 'not in the registry'}`,
    first ? `times are ${style.utc ? 'UTC' : 'local'}${days.size === 1 ? `, on ${[...days][0]}` : ''}` : '',
  ].filter(Boolean);
  if (rows.length === 0) return [...head, `${h.service} has not started in this log`].join('\n');
  const cols = [
    '#',
    ...(instances ? ['PROCREG'] : []),
    'GEN',
    'PID',
    'STARTED',
    'ENDED',
    'UPTIME',
    'EXIT',
    'ENDED BY',
    'THEN',
    'RESTARTS',
  ];
  const body = rows.map((r) => [
    r.incarnation,
    ...(instances ? [r.instance] : []),
    r.generation,
    r.pid ?? '-',
    when(r.startedAt),
    r.endedAt !== null ? when(r.endedAt) : 'running',
    r.uptimeMs !== null ? duration(r.uptimeMs) : '-',
    r.exit ? exitWords(r.exit.code, r.exit.signal, r.exit.error) : '-',
    r.endedBy?.text ?? '-',
    r.then?.text ?? '-',
    windowText(r.then),
  ]);
  const lines = table(cols, body);
  // Last words under their row.
  const out: string[] = [...head, '', lines[0] as string];
  rows.forEach((r: HistoryRow, i) => {
    out.push(lines[i + 1] as string);
    if (r.lastWords) out.push(`    ${lastWordsText(r.lastWords)}`);
  });
  return out.join('\n');
}
