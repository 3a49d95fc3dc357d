import { resolve } from 'node:path';
import type { ShipLag } from '../supervisor/supervisor.js';
import { formatProblem } from '../../config/schema.js';
import type { RegistryView } from '../../core/view.js';
import { formatView } from '../../report/registry-table.js';
import { explainView, type StatusAt } from '../../report/status-explain.js';
import { loadConfigFile } from '../config/load-config.js';
import { type Answer, type ControlSession, locateSupervisor } from '../control/client.js';
import type { LockHello } from '../instance-lock.js';
import { type ProcessIdentity, presence, signalIdentified, waitGone } from '../proc/identity.js';
import type { CommandIO } from './io.js';
import { runDirOf } from './run-dir-of.js';

/**
 * status, reload and stop. Exit codes: 0 done; 1 the supervisor refused, failed or did not
 * answer in time; 2 usage or config error; 3 no procreg runs for this runDir.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, none: 3 } as const;

/** Which supervisor: the one of a config file (only its runDir is read), or of a runDir. */
export interface Target {
  readonly config?: string;
  readonly runDir?: string;
}

export interface ControlCommandOptions {
  /** How long to wait for each answer of the supervisor (default 10 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** `procreg status`: the live registry, from the running supervisor. */
export async function statusCommand(
  target: Target,
  json: boolean,
  io: CommandIO,
  options: ControlCommandOptions = {},
): Promise<number> {
  const say = (t: string) => io.err(`procreg status: ${t}`);
  const runDir = runDirFor('status', target, io);
  if (typeof runDir === 'number') return runDir;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const found = await locateSupervisor(runDir, timeoutMs);
  if (found.kind !== 'control') return notReachable(found, say);
  const pid = found.lock.pid;
  const ans = await ask(found.session, 'status', timeoutMs);
  found.session.close();
  if (typeof ans === 'string') {
    say(`procreg pid ${pid} ${ans}`);
    return EXIT.failed;
  }
  if (!ans.ok || typeof ans.status !== 'object') {
    say(`procreg pid ${pid}: ${ans.error ?? 'no status in its answer'}`);
    return EXIT.failed;
  }
  const view = ans.status as RegistryView & { at?: StatusAt; ship?: ShipLag | null };
  // Uptimes and backoffs as of the supervisor's own clocks when it answered.
  const at: StatusAt = view.at ?? { time: Date.now(), mono: null };
  const ship = view.ship ?? null;
  if (json) io.out(JSON.stringify({ ...explainView(view, at), ...(ship ? { ship } : {}) }, null, 2));
  else io.out(formatView(view, view.seq, at) + (ship ? `\n${shipLine(ship)}` : ''));
  return EXIT.ok;
}

/** The shipping lag (issue 16): how far the fleet's stream is behind this log. */
function shipLine(s: ShipLag): string {
  const behind =
    s.lagEvents === 0
      ? 'up to date'
      : `${s.lagEvents} event(s) behind${s.lagSeconds === null ? ' (nothing shipped yet)' : `, ${s.lagSeconds.toFixed(1)} s`}`;
  return `shipping to ${s.to} (stream ${s.stream}): shipped to seq ${s.shippedSeq}, ${behind}`;
}

/** `procreg reload`: the supervisor re-reads its config; its verdict, from the supervisor itself. */
export async function reloadCommand(
  target: Target,
  io: CommandIO,
  options: ControlCommandOptions & { services?: readonly string[] } = {},
): Promise<number> {
  const say = (t: string) => io.err(`procreg reload: ${t}`);
  const services = options.services ?? [];
  let runDir: string | number;
  if (target.config !== undefined && target.runDir === undefined) {
    // The config the supervisor will read: a config invalid here is not sent for.
    const res = loadConfigFile(target.config);
    if (!res.ok) {
      for (const p of res.problems) io.err(formatProblem(p));
      say(
        `${target.config} is invalid; the running supervisor was not asked to reload and keeps its generation`,
      );
      return EXIT.usage;
    }
    runDir = res.config.runDir;
    // --services names services of this config that have a reloadSignal to send.
    const wrong = services.filter((n) => res.config.services[n]?.reloadSignal == null);
    if (wrong.length > 0) {
      const able = Object.keys(res.config.services).filter(
        (n) => res.config.services[n]?.reloadSignal != null,
      );
      for (const n of wrong)
        say(
          `--services ${n}: ${res.config.services[n] ? 'has no reloadSignal in' : 'is not a service of'} ${target.config} (services with a reloadSignal: ${able.length ? able.join(', ') : 'none'})`,
        );
      return EXIT.usage;
    }
  } else runDir = runDirFor('reload', target, io);
  if (typeof runDir === 'number') return runDir;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const found = await locateSupervisor(runDir, timeoutMs);
  if (found.kind === 'no-control' && found.lock.phase !== 'starting') {
    // Without its control socket there is no verdict to wait for; a SIGHUP still reloads it.
    const sent = signalIdentified(found.lock, 'SIGHUP');
    say(
      sent.sent
        ? `procreg pid ${found.lock.pid} still runs runDir ${found.runDir} but ${found.why}; sent it SIGHUP instead, but without the control socket there is no verdict to report (see procreg's log)`
        : `procreg pid ${found.lock.pid} still runs runDir ${found.runDir} but ${found.why}; SIGHUP not sent: ${sent.why}`,
    );
    return EXIT.failed;
  }
  if (found.kind !== 'control') return notReachable(found, say);
  const pid = found.lock.pid;
  const ans = await ask(found.session, 'reload', timeoutMs, services.length > 0 ? { services } : {});
  found.session.close();
  if (typeof ans === 'string') {
    say(
      ans === 'did not answer'
        ? `no verdict from procreg pid ${pid} within ${timeoutMs} ms`
        : `procreg pid ${pid} ${ans}`,
    );
    return EXIT.failed;
  }
  const reload = ans.reload as { gen?: unknown } | undefined;
  if (ans.ok && typeof reload?.gen === 'number') {
    const signalled = services.length > 0 ? `; reloadSignal asked for: ${services.join(', ')}` : '';
    io.out(`procreg reload: generation ${reload.gen} applied${signalled}`);
    return EXIT.ok;
  }
  if (typeof ans.refused === 'string') say(`failed, the running generation is unchanged: ${ans.refused}`);
  else if (ans.stopping === true) say(`procreg pid ${pid} is stopping; the reload was not applied`);
  else say(`procreg pid ${pid}: ${ans.error ?? 'no verdict in its answer'}`);
  return EXIT.failed;
}

/** `procreg stop`: stop the supervisor and everything it runs; waits until it has exited. */
export async function stopCommand(
  target: Target,
  io: CommandIO,
  options: ControlCommandOptions = {},
): Promise<number> {
  const say = (t: string) => io.err(`procreg stop: ${t}`);
  const runDir = runDirFor('stop', target, io);
  if (typeof runDir === 'number') return runDir;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const found = await locateSupervisor(runDir, timeoutMs);
  if (found.kind === 'no-control')
    return stopBySignal(found.lock, `${found.why}`, found.lock.stopWithinMs + timeoutMs, io);
  if (found.kind !== 'control') return notReachable(found, say);
  const { session } = found;
  const who = session.hello;
  const ack = await ask(session, 'stop', timeoutMs);
  if (typeof ack === 'string' || !ack.ok) {
    session.close();
    const why = typeof ack === 'string' ? `it ${ack}` : `it refused: ${ack.error ?? '?'}`;
    return stopBySignal(found.lock, `${why} to the stop request`, found.lock.stopWithinMs + timeoutMs, io);
  }
  const withinMs = Number((ack.stop as { withinMs?: unknown } | undefined)?.withinMs) || who.stopWithinMs;
  const deadline = Date.now() + withinMs + timeoutMs;
  // It says so once every service and check is gone, then closes the connection and exits.
  const last = await session.next(Math.max(0, deadline - Date.now()));
  session.close();
  const confirmed = typeof last === 'object' && last !== null && last.stopped === true;
  const gone = await waitGone(who, Math.max(timeoutMs, deadline - Date.now()));
  if (!gone) {
    say(`procreg pid ${who.pid} is still running ${withinMs + timeoutMs} ms after it acknowledged the stop`);
    return EXIT.failed;
  }
  if (!confirmed) {
    say(`procreg pid ${who.pid} exited without confirming that every service and check stopped`);
    return EXIT.failed;
  }
  io.out(`procreg stop: procreg pid ${who.pid} stopped every service and exited`);
  return EXIT.ok;
}

/** Stop a proven procreg whose control socket cannot be used: SIGTERM, only to that very process. */
async function stopBySignal(lock: LockHello, why: string, waitMs: number, io: CommandIO): Promise<number> {
  const id: ProcessIdentity = lock;
  const sent = signalIdentified(id, 'SIGTERM');
  if (!sent.sent) {
    if (!presence(id).running) {
      io.out(`procreg stop: procreg pid ${lock.pid} exited meanwhile`);
      return EXIT.ok;
    }
    io.err(`procreg stop: procreg pid ${lock.pid}: ${why}; SIGTERM could not be sent: ${sent.why}`);
    return EXIT.failed;
  }
  if (await waitGone(id, waitMs)) {
    io.out(
      `procreg stop: procreg pid ${lock.pid} exited (${why}: it was sent SIGTERM, its identity checked)`,
    );
    return EXIT.ok;
  }
  io.err(`procreg stop: procreg pid ${lock.pid} is still running ${waitMs} ms after SIGTERM (${why})`);
  return EXIT.failed;
}

/** Why the command cannot talk to the supervisor, said, as an exit code. */
export function notReachable(
  found: Exclude<Awaited<ReturnType<typeof locateSupervisor>>, { kind: 'control' }>,
  say: (t: string) => void,
): number {
  switch (found.kind) {
    case 'none':
      say(`no procreg is running for runDir ${found.runDir} (${found.why})`);
      return EXIT.none;
    case 'unproven':
      say(`runDir ${found.runDir}: ${found.why}; it is not asked anything, nor signalled`);
      return EXIT.failed;
    case 'no-control':
      say(`procreg pid ${found.lock.pid} still runs runDir ${found.runDir} but ${found.why}`);
      return EXIT.failed;
  }
}

/** The answer to `cmd`, or what went wrong, in words that follow "procreg pid N ...". */
export async function ask(
  session: ControlSession,
  cmd: string,
  timeoutMs: number,
  args: Readonly<Record<string, unknown>> = {},
): Promise<Answer | string> {
  const ans = await session.request(cmd, timeoutMs, args);
  if (ans === null) return 'did not answer';
  if (ans === 'closed') return 'closed the connection without answering';
  return ans;
}

export function runDirFor(cmd: string, target: Target, io: CommandIO): string | number {
  if (target.config !== undefined && target.runDir !== undefined) {
    io.err(`procreg ${cmd}: give a config file or --run-dir <dir>, not both`);
    return EXIT.usage;
  }
  if (target.runDir !== undefined) return resolve(target.runDir);
  if (target.config === undefined) {
    io.err(`procreg ${cmd}: give a config file or --run-dir <dir>`);
    return EXIT.usage;
  }
  const res = runDirOf(target.config);
  if (res.ok) return res.runDir;
  io.err(
    `procreg ${cmd}: ${res.problem} (--run-dir <dir> reaches the supervisor without reading the config)`,
  );
  return EXIT.usage;
}
