import { reclaimPid } from './missed-exit.js';
import { SERVICE_DEFAULTS } from '../config/defaults.js';
import { envOf, runAsOf } from '../config/run-as.js';
import type { ServiceDef } from '../config/types.js';
import type {
  DaemonSuspected,
  Pid,
  Spawned,
  SpawnFailed,
  SpawnRequested,
  StopBegun,
} from '../events/types.js';
import { assertNever } from '../events/assert-never.js';
import { decideAfterExit, STOP_REASON_FOR } from './after-exit.js';
import { daemonAdvice } from './daemonized.js';
import { startPeriodBegins } from './checks.js';
import { dependentsOf, holdBack } from './dependencies.js';
import {
  addProc,
  armTimer,
  beginStop,
  type Ctx,
  cancelTimer,
  dropService,
  effect,
  isStopping,
  knownGen,
  putFresh,
  putService,
  record,
  recordIgnored,
  stopTimerOf,
} from './context.js';
import type { Effect } from './effects.js';
import {
  copyService,
  type Entry,
  type ExitInfo,
  isOrphan,
  type LeaderExit,
  type RestartCause,
  type ServiceEntry,
  type ServiceStatus,
  withService,
} from './state.js';

export function newServiceStatus(name: string, def: ServiceDef, defGen: number): ServiceStatus {
  return {
    name,
    def,
    defGen,
    desired: 'up',
    phase: 'stopped',
    pid: null,
    incarnation: 0,
    spawnGen: 0,
    restartAfterExit: null,
    restarts: 0,
    recentRestarts: [],
    quickFailures: 0,
    startedAt: null,
    startedMono: null,
    lastExit: null,
    pidFile: null,
    timer: null,
    reason: null,
    phaseSince: 0,
    daemonized: null,
  };
}

/**
 * Start a new incarnation — unless something holds it back (a predecessor's process still
 * being stopped, a dependency not started or healthy yet): then it waits, its status saying
 * for what, and starts as soon as nothing does (tryStart).
 */
export function requestSpawn(ctx: Ctx, svc: ServiceStatus, reason: SpawnRequested['reason']): void {
  const hold = holdBack(ctx.state, svc.name, svc.def);
  if (hold === null) return spawnNow(ctx, svc, reason);
  putService(ctx, withService(svc, { phase: 'waiting', reason: hold, restartAfterExit: null, timer: null }));
}

/** Ask the shell for a new incarnation under the current generation. */
function spawnNow(ctx: Ctx, svc: ServiceStatus, reason: SpawnRequested['reason']): void {
  const incarnation = svc.incarnation + 1;
  const gen = ctx.state.gen;
  const next = copyService(svc);
  next.phase = 'starting';
  next.incarnation = incarnation;
  next.spawnGen = gen;
  next.restartAfterExit = null;
  next.timer = null;
  next.reason = null;
  next.daemonized = null;
  putFresh(ctx, next);
  record(ctx, { type: 'spawn-requested', name: svc.name, gen, incarnation, reason });
  const def = svc.def;
  effect(ctx, {
    do: 'spawn',
    name: svc.name,
    gen,
    incarnation,
    command: def.command,
    cwd: def.cwd,
    env: envOf(def),
    runAs: runAsOf(def),
    stdout: def.stdout,
    stderr: def.stderr,
    lastWords: def.lastWords,
    stderrLevel: def.stderrLevel,
    log: def.log,
  });
}

export function onSpawned(ctx: Ctx, ev: Spawned): void {
  reclaimPid(ctx, ev.pid);
  const svc = ctx.state.services.get(ev.name);
  const current =
    svc !== undefined &&
    svc.phase === 'starting' &&
    svc.incarnation === ev.incarnation &&
    svc.spawnGen === ev.gen;
  const entry: ServiceEntry = {
    kind: 'service',
    name: ev.name,
    gen: knownGen(ctx, ev.gen),
    incarnation: ev.incarnation,
    startTime: ev.startTime,
    exe: ev.exe,
    def: current ? svc.def : null,
    leaderExit: null,
  };
  // A live process is always registered, wanted or not: it must be tracked until it exits.
  addProc(ctx, ev.pid, entry);
  if (isOrphan(ctx.state, entry)) {
    // Spawned by a predecessor that died before it could say so: reap it like the others.
    record(ctx, {
      type: 'orphan-found',
      pid: ev.pid,
      name: ev.name,
      kind: 'service',
      startTime: ev.startTime,
    });
    effect(ctx, reapEffect(ev.pid, entry));
    return;
  }
  if (!current) {
    recordIgnored(
      ctx,
      `spawned ${ev.name}#${ev.incarnation} (gen ${ev.gen}) is not the incarnation the registry waits for; stopping it`,
    );
    stopService(ctx, ev.pid, entry, svc?.def ?? null, 'unwanted');
    return;
  }
  const running = copyService(svc);
  running.phase = 'running';
  running.pid = ev.pid;
  running.startedAt = ctx.time;
  running.startedMono = ctx.mono;
  running.pidFile = { path: svc.def.pidFile, pid: ev.pid };
  putFresh(ctx, running, svc);
  startPeriodBegins(ctx, svc.name);
  // keepalived #2460: the PID file is a projection of the registry, rewritten whole per incarnation.
  effect(ctx, { do: 'write-pidfile', path: svc.def.pidFile, pid: ev.pid });
  // Asked to go down or to restart while it was starting: now that it runs, do it.
  if (svc.desired === 'removed') stopCurrent(ctx, running, 'reload-removed');
  else if (ctx.state.phase === 'stopping') stopCurrent(ctx, running, 'supervisor-stopping');
  else if (svc.desired === 'down') stopCurrent(ctx, running, 'requested');
  else if (svc.restartAfterExit) stopCurrent(ctx, running, STOP_REASON_FOR[svc.restartAfterExit]);
  else dependencyRunning(ctx, running);
}

/**
 * A service's new incarnation runs: what waits for it may start, and — when this is a restart
 * — what depends on it with `restart: true` is restarted too.
 */
function dependencyRunning(ctx: Ctx, svc: ServiceStatus): void {
  for (const name of dependentsOf(ctx.state.config, svc.name)) {
    const d = ctx.state.services.get(name);
    if (!d) continue;
    if (d.phase === 'waiting') tryStart(ctx, name);
    else if (svc.incarnation > 1 && d.phase === 'running' && d.def.dependsOn[svc.name]?.restart)
      restartNow(ctx, d, 'dependency');
  }
}

export function onSpawnFailed(ctx: Ctx, ev: SpawnFailed): void {
  const svc = ctx.state.services.get(ev.name);
  if (svc?.phase !== 'starting' || svc.incarnation !== ev.incarnation || svc.spawnGen !== ev.gen) {
    recordIgnored(
      ctx,
      `spawn-failed for ${ev.name}#${ev.incarnation} (gen ${ev.gen}) that the registry is not waiting for`,
    );
    return;
  }
  incarnationEnded(ctx, svc, {
    pid: null,
    code: null,
    signal: null,
    error: ev.error,
    time: ctx.time,
    mono: ctx.mono,
    lastWords: null,
    uptimeMs: null,
  });
}

/** Exit of a service process (its whole group), after step.ts has taken its entry out of the tree. */
export function onServiceExit(
  ctx: Ctx,
  pid: Pid,
  entry: ServiceEntry,
  wasStopping: boolean,
  how: LeaderExit,
): void {
  if (wasStopping) cancelTimer(ctx, stopTimerOf(pid, entry));
  const svc = ctx.state.services.get(entry.name);
  // Not the current incarnation: an unwanted process that we had stopped; it never had a PID file.
  if (!svc || svc.pid !== pid || svc.incarnation !== entry.incarnation) return;
  const { code, signal, lastWords } = how;
  const uptimeMs = svc.startedMono === null ? null : Math.max(0, ctx.mono - svc.startedMono);
  incarnationEnded(ctx, svc, {
    pid,
    code,
    signal,
    error: null,
    time: ctx.time,
    mono: ctx.mono,
    lastWords,
    uptimeMs,
  });
}

/** The current incarnation ended: clean up its PID file, then carry out decideAfterExit. */
function incarnationEnded(ctx: Ctx, svc: ServiceStatus, exit: ExitInfo): void {
  const written = svc.pidFile;
  const ownsPidFile = written !== null && written.pid === exit.pid;
  // Removed at once, not after the backoff (keepalived leaves a dead PID there for up to 60 s),
  // only if the file still names this PID, and where it was written (a reload may have moved it).
  if (ownsPidFile) effect(ctx, { do: 'remove-pidfile', path: written.path, ifPid: written.pid });
  const pidFile = ownsPidFile ? null : written;
  const next = decideAfterExit(svc, exit, ctx.state.phase, ctx.mono);
  if (next.kind === 'drop') return dropService(ctx, svc.name);
  // The status after the exit, with what the decision adds on top: one copy per event.
  const ended = copyService(svc);
  ended.pid = null;
  ended.lastExit = exit;
  ended.pidFile = pidFile;
  switch (next.kind) {
    case 'stay-down':
      ended.phase = 'stopped';
      ended.reason = next.reason;
      return putFresh(ctx, ended, svc);
    case 'respawn':
      requestSpawn(ctx, ended, next.cause);
      return;
    case 'restart-now':
      ended.restarts = svc.restarts + 1;
      ended.recentRestarts = next.recentRestarts;
      requestSpawn(ctx, ended, 'restart');
      return;
    case 'fail':
      ended.phase = 'failed';
      ended.reason = next.reason;
      putFresh(ctx, ended, svc);
      record(ctx, { type: 'service-failed', name: svc.name, code: next.code, reason: next.reason });
      return;
    case 'give-up': {
      ended.phase = 'given-up';
      ended.reason = next.reason;
      putFresh(ctx, ended, svc);
      const { withinMs } = svc.def.maxRestarts;
      record(ctx, { type: 'service-given-up', name: svc.name, restarts: svc.restarts, withinMs });
      return;
    }
    case 'backoff': {
      const incarnation = svc.incarnation + 1;
      const timer = { kind: 'backoff', name: svc.name, gen: ctx.state.gen, incarnation } as const;
      const restarts = svc.restarts + 1;
      ended.phase = 'backoff';
      ended.restarts = restarts;
      ended.recentRestarts = next.recentRestarts;
      ended.quickFailures = next.quickFailures + 1;
      ended.timer = timer;
      putFresh(ctx, ended, svc);
      record(ctx, {
        type: 'restart-scheduled',
        name: svc.name,
        incarnation,
        delayMs: next.delayMs,
        restarts,
      });
      armTimer(ctx, timer, ctx.mono + next.delayMs);
      return;
    }
    default:
      return assertNever(next);
  }
}

/** What crash recovery asks the shell to do with a predecessor's process: prove it ours, then stop it. */
export function reapEffect(pid: Pid, entry: Entry, signal = stopSignalOf(entry)): Effect {
  return { do: 'reap-orphan', pid, startTime: entry.startTime, exe: entry.exe, signal };
}

export function stopSignalOf(entry: Entry): string {
  return entry.kind === 'service' ? (entry.def?.stopSignal ?? SERVICE_DEFAULTS.stopSignal) : 'SIGTERM';
}

export function stopTimeoutOf(entry: Entry): number {
  return entry.kind === 'service'
    ? (entry.def?.stopTimeoutMs ?? SERVICE_DEFAULTS.stopTimeoutMs)
    : entry.killAfterMs;
}

/**
 * A waiting service starts once nothing holds it back any more — or, if the supervisor is no
 * longer running, stays down.
 */
export function tryStart(ctx: Ctx, name: string): void {
  const svc = ctx.state.services.get(name);
  if (svc?.phase !== 'waiting') return;
  if (ctx.state.phase !== 'running' || svc.desired !== 'up')
    return putService(ctx, withService(svc, { phase: 'stopped', reason: `supervisor ${ctx.state.phase}` }));
  const hold = holdBack(ctx.state, name, svc.def);
  if (hold === null) spawnNow(ctx, svc, 'start');
  else if (hold !== svc.reason) putService(ctx, withService(svc, { reason: hold }));
}

/** A service is now running (or healthy): the services that wait for it may start. */
export function startDependents(ctx: Ctx, name: string): void {
  for (const d of dependentsOf(ctx.state.config, name)) tryStart(ctx, d);
}

export function onBackoffElapsed(ctx: Ctx, svc: ServiceStatus): void {
  requestSpawn(ctx, svc, 'restart'); // requestSpawn clears the timer
}

/** Stop the current incarnation of a running service. */
export function stopCurrent(ctx: Ctx, svc: ServiceStatus, reason: StopBegun['reason']): void {
  putService(ctx, withService(svc, { phase: 'stopping' }));
  const pid = svc.pid;
  if (pid === null || isStopping(ctx, pid)) return;
  const entry = ctx.state.procs.get(pid);
  if (entry?.kind === 'service') stopService(ctx, pid, entry, svc.def, reason);
}

function stopService(
  ctx: Ctx,
  pid: Pid,
  entry: ServiceEntry,
  def: ServiceDef | null,
  reason: StopBegun['reason'],
): void {
  const signal = def?.stopSignal ?? SERVICE_DEFAULTS.stopSignal;
  beginStop(ctx, pid, entry, signal, def?.stopTimeoutMs ?? SERVICE_DEFAULTS.stopTimeoutMs);
  record(ctx, { type: 'stop-begun', pid, name: entry.name, signal, reason });
}

/** Why a service is down, as its status says it, for a stop that cancelled its backoff. */
const DOWN_REASON: Record<'requested' | 'reload-removed' | 'supervisor-stopping', string> = {
  requested: 'stop requested',
  'reload-removed': 'stop requested',
  'supervisor-stopping': 'supervisor stopping',
};

/**
 * Take a service down for `reason`: a live process is stopped, a pending backoff is
 * cancelled, a spawn under way is stopped once it reports (see onSpawned).
 */
export function bringDown(
  ctx: Ctx,
  svc: ServiceStatus,
  desired: 'down' | 'removed',
  reason: keyof typeof DOWN_REASON,
): void {
  const s: ServiceStatus = withService(svc, { desired, restartAfterExit: null });
  switch (svc.phase) {
    case 'running':
      return stopCurrent(ctx, s, reason);
    case 'stopping':
    case 'starting':
      return putService(ctx, s);
    case 'waiting':
      if (desired === 'removed') return dropService(ctx, svc.name);
      return putService(ctx, withService(s, { phase: 'stopped', reason: DOWN_REASON[reason] }));
    case 'backoff':
      cancelTimer(ctx, svc.timer);
      if (desired === 'removed') return dropService(ctx, svc.name);
      return putService(ctx, withService(s, { phase: 'stopped', timer: null, reason: DOWN_REASON[reason] }));
    case 'stopped':
    case 'given-up':
    case 'failed':
      if (desired === 'removed') return dropService(ctx, svc.name);
      return putService(ctx, s);
    default:
      return assertNever(svc.phase);
  }
}

/** Restart the current incarnation at once (a failed check, a changed definition, a request). */
export function restartNow(ctx: Ctx, svc: ServiceStatus, cause: RestartCause): void {
  switch (svc.phase) {
    case 'running':
      return stopCurrent(ctx, withService(svc, { restartAfterExit: cause }), STOP_REASON_FOR[cause]);
    case 'starting':
    case 'stopping':
      return putService(ctx, withService(svc, { restartAfterExit: cause }));
    case 'waiting':
      return putService(ctx, svc); // it starts, with its new definition, once the predecessor is gone
    case 'backoff':
      // It is down and its backoff restarts it: a check turning unhealthy meanwhile (it has
      // nothing to check) does not cut the backoff short.
      if (cause === 'check-failed') return;
      cancelTimer(ctx, svc.timer);
      requestSpawn(ctx, withService(svc, { timer: null }), cause === 'reload' ? 'reload' : 'restart');
      return;
    case 'stopped':
    case 'given-up':
    case 'failed':
      if (cause === 'check-failed') return; // a check does not revive a service that is down
      requestSpawn(ctx, svc, cause);
      return;
    default:
      return assertNever(svc.phase);
  }
}

/**
 * The shell saw a service's main process exit 0 right after starting while processes it forked
 * live on: it looks like it daemonized itself. procreg follows no daemon (no systemd
 * Type=forking): the service fails when that main process is gone, with the advice to run it
 * in the foreground, instead of being restarted in a loop where each copy forks away again.
 */
export function onDaemonSuspected(ctx: Ctx, ev: DaemonSuspected): void {
  const entry = ctx.state.procs.get(ev.pid);
  const svc = entry?.kind === 'service' ? ctx.state.services.get(entry.name) : undefined;
  if (!svc || svc.pid !== ev.pid)
    return recordIgnored(ctx, `pid ${ev.pid} is not the main process of a running service`);
  // A process procreg itself runs (another service) is not what this one left behind.
  const left = ev.left.filter((p) => !ctx.state.procs.has(p) || p === ev.pid);
  if (left.length === 0) return recordIgnored(ctx, `what pid ${ev.pid} left behind is procreg's own`);
  putService(ctx, withService(svc, { daemonized: daemonAdvice(ev, left) }));
}
