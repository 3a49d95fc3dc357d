import { existsSync, statSync } from 'node:fs';
import { Replayer } from '../core/replay.js';
import { type RegistryView, registryView } from '../core/view.js';
import { type LogProblem, readLogBatches } from '../events/reader.js';

export interface ReplayCommandOptions {
  readonly json?: boolean;
  readonly check?: boolean;
}

export interface CommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Exit codes: 0 fine, 1 --check found violations, 2 the log cannot be read. */
export async function replayCommand(
  path: string,
  options: ReplayCommandOptions,
  io: CommandIO,
): Promise<number> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    io.err(`procreg replay: ${path}: no such event log file`);
    return 2;
  }
  const check = options.check ?? false;
  const replayer = new Replayer({ check });
  const logProblems: LogProblem[] = [];
  for await (const batch of readLogBatches(path)) {
    for (const e of batch.events) replayer.push(e);
    for (const p of batch.problems) logProblems.push(p);
  }
  const result = replayer.result();
  for (const p of logProblems) io.err(`${path}:${p.line}: ${p.kind}: ${p.message}`);
  const view = registryView(result.state, result.lastSeq);
  io.out(options.json ? JSON.stringify(view, null, 2) : formatView(view, result.events, result.lastTime));
  if (!check) return 0;
  // A torn tail is what a crash leaves and is expected; anything else in the file is damage.
  const damage = logProblems.filter((p) => p.kind !== 'torn');
  for (const p of result.problems) io.err(`seq ${p.seq}: ${p.kind}: ${p.message}`);
  if (result.problems.length === 0 && damage.length === 0) {
    io.err(
      `check: ${result.events} events, every invariant holds after every event, every logged decision re-derived`,
    );
    return 0;
  }
  io.err(`check: FAILED — ${result.problems.length} violation(s) and ${damage.length} damaged line(s)`);
  return 1;
}

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
      v.processes.map((p) => [p.pid, p.name, p.kind, p.generation, p.orphan ? 'orphan' : '']),
    ),
  );
  return rows.join('\n');
}

/** 850ms, 12.3s, 3m04s, 2h03m, 4d02h. */
export function formatUptime(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const two = (n: number) => String(n).padStart(2, '0');
  if (t < 1000) return `${t}ms`;
  if (t < 60_000) return `${(t / 1000).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

function table(head: string[], body: (string | number)[][]): string[] {
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
