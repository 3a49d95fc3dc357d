import type { RegistryView } from '../core/view.js';
import { formatUptime } from './durations.js';

/** The registry for a person; uptimes are as of `asOf` (now for `status`, the last event for `replay`). */
export function formatView(v: RegistryView, events: number, asOf: number): string {
  const rows: string[] = [
    `registry after seq ${v.seq} (${events} events): generation ${v.generation}, supervisor ${v.phase}`,
    '',
  ];
  rows.push(
    ...table(
      ['SERVICE', 'STATE', 'PID', 'GEN', 'INC', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'REASON'],
      v.services.map((s) => [
        s.name,
        s.state,
        s.pid ?? '-',
        s.generation,
        s.incarnation,
        s.pid !== null && s.startedAt !== null ? formatUptime(asOf - s.startedAt) : '-',
        s.restarts,
        s.lastExit
          ? (s.lastExit.error ?? (s.lastExit.signal ? s.lastExit.signal : `code ${s.lastExit.code}`))
          : '-',
        s.reason ?? '',
      ]),
    ),
    '',
  );
  rows.push(
    ...table(
      ['CHECK', 'HEALTH', 'RUN', 'IN FLIGHT', 'LAST RESULT'],
      v.checks.map((c) => [
        c.name,
        c.healthy === null ? 'unknown' : c.healthy ? 'healthy' : 'unhealthy',
        c.run,
        c.inFlight ?? '-',
        c.lastResult
          ? `${c.lastResult.ok ? 'ok' : c.lastResult.timedOut ? 'timed out' : 'failed'} in ${c.lastResult.durationMs}ms`
          : '-',
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
