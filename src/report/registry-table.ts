import type { RegistryView } from '../core/view.js';
import { formatUptime } from './durations.js';
import {
  clockSeconds,
  explainView,
  lastExitWords,
  restartWords,
  type StatusAt,
  type TimeStyle,
} from './status-explain.js';

/**
 * The registry for a person, as of `at` (now for `status`, the last event for `replay`): per
 * service its state, PID, uptime, restarts in the maxRestarts window, last exit and what it
 * waits for; per check its health and last result.
 */
export function formatView(
  v: RegistryView,
  events: number,
  at: StatusAt | number,
  style: TimeStyle = {},
): string {
  const x = explainView(v, typeof at === 'number' ? { time: at, mono: null } : at, style);
  const rows: string[] = [
    `registry after seq ${v.seq} (${events} events): generation ${v.generation}, supervisor ${v.phase}`,
    '',
  ];
  rows.push(
    ...table(
      ['SERVICE', 'STATE', 'PID', 'GEN', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'WHY'],
      x.services.map((s) => [
        s.name,
        s.state,
        s.pid ?? '-',
        s.generation,
        s.uptimeMs === null ? '-' : formatUptime(s.uptimeMs),
        restartWords(s),
        lastExitWords(s.lastExit, style),
        s.why,
      ]),
    ),
    '',
  );
  rows.push(
    ...table(
      ['CHECK', 'HEALTH', 'RUN', 'IN FLIGHT', 'LAST RESULT'],
      v.checks.map((c) => [
        c.name,
        `${c.healthy === null ? 'unknown' : c.healthy ? 'healthy' : 'unhealthy'}${c.paused ? ', paused' : ''}`,
        c.run,
        c.inFlight ?? '-',
        c.lastResult ? `${resultWords(c.lastResult)} at ${clockSeconds(c.lastResult.time, style)}` : '-',
      ]),
    ),
    '',
  );
  rows.push(
    ...table(
      ['PID', 'NAME', 'KIND', 'GEN', ''],
      v.processes.map((p) => [
        p.pid,
        p.name,
        p.kind,
        p.generation,
        [p.orphan ? 'orphan' : '', p.stopping ? 'stopping' : ''].filter(Boolean).join(', '),
      ]),
    ),
  );
  return rows.join('\n');
}

/** `ok in 12ms`, `failed (code 1) in 1.2s`, `timed out after 1.0s`. */
function resultWords(r: NonNullable<RegistryView['checks'][number]['lastResult']>): string {
  const took = formatUptime(r.durationMs);
  if (r.ok) return `ok in ${took}`;
  if (r.timedOut) return `timed out after ${took}`;
  return `failed (${r.signal !== null ? r.signal : `code ${r.code}`}) in ${took}`;
}

/** Left-aligned columns, two spaces apart; `HEAD: none` for an empty table. */
export function table(head: string[], body: (string | number)[][]): string[] {
  if (body.length === 0) return [`${head[0]}: none`];
  const cells = [head, ...body.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
