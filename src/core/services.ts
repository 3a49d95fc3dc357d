import { SERVICE_DEFAULTS } from '../config/defaults.js';
import type { ServiceDef } from '../config/types.js';
import type { Pid, Spawned, SpawnFailed, SpawnRequested, StopBegun } from '../events/types.js';
import { admitRestart, nextBackoffDelay, wasStable } from './backoff.js';
import {
  addProc,
  armTimer,
  beginStop,
  type Ctx,
  cancelTimer,
  dropService,
  effect,
  ignore,
  isStopping,
  knownGen,
  putService,
  record,
  stopTimerOf,
} from './context.js';
import {
  copyService,
  type ExitInfo,
  isOrphan,
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
    lastExit: null,
    pidFilePid: null,
    timer: null,
    reason: null,
  };
}

/** Ask the shell for a new incarnation under the current generation. */
export function requestSpawn(ctx: Ctx, svc: ServiceStatus, reason: SpawnRequested['reason']): ServiceStatus {
  const incarnation = svc.incarnation + 1;
  const gen = ctx.s.gen;
  const next = withService(svc, {
    phase: 'starting',
    incarnation,
    spawnGen: gen,
    restartAfterExit: null,
    timer: null,
    reason: null,
  });
  putService(ctx, next);
  record(ctx, { type: 'spawn-requested', name: svc.name, gen, incarnation, reason });
  const { command, cwd, env, stdout, stderr } = svc.def;
  effect(ctx, { do: 'spawn', name: svc.name, gen, incarnation, command, cwd, env, stdout, stderr });
  return next;
}

export function onSpawned(ctx: Ctx, ev: Spawned): void {
  const svc = ctx.s.services.get(ev.name);
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
    def: current ? svc.def : null,
  };
  // A live process is always registered, wanted or not: it must be tracked until it exits.
  addProc(ctx, ev.pid, entry);
  if (isOrphan(ctx.s, entry)) {
    // Spawned by a predecessor that died before it could say so: reap it like the others.
    record(ctx, {
      type: 'orphan-found',
      pid: ev.pid,
      name: ev.name,
      kind: 'service',
      startTime: ev.startTime,
    });
    effect(ctx, { do: 'reap-orphan', pid: ev.pid, startTime: ev.startTime });
    return;
  }
  if (!current) {
    ignore(
      ctx,
      `spawned ${ev.name}#${ev.incarnation} (gen ${ev.gen}) is not the incarnation the registry waits for; stopping it`,
    );
    stopService(ctx, ev.pid, entry, svc?.def ?? null, 'unwanted');
    return;
  }
  const running = withService(svc, {
    phase: 'running',
    pid: ev.pid,
    startedAt: ctx.time,
    pidFilePid: ev.pid,
  });
  putService(ctx, running);
  // keepalived #2460: the PID file is a projection of the registry, rewritten whole per incarnation.
  effect(ctx, { do: 'write-pidfile', path: svc.def.pidFile, pid: ev.pid });
  if (svc.desired !== 'up' || ctx.s.phase === 'stopping') {
    stopCurrent(
      ctx,
      running,
      svc.desired === 'removed'
        ? 'reload-removed'
        : ctx.s.phase === 'stopping'
          ? 'supervisor-stopping'
          : 'requested',
    );
  } else if (svc.restartAfterExit) {
    stopCurrent(ctx, running, svc.restartAfterExit === 'check-failed' ? 'check-failed' : 'reload-changed');
  }
}

export function onSpawnFailed(ctx: Ctx, ev: SpawnFailed): void {
  const svc = ctx.s.services.get(ev.name);
  if (svc?.phase !== 'starting' || svc.incarnation !== ev.incarnation || svc.spawnGen !== ev.gen) {
    ignore(
      ctx,
      `spawn-failed for ${ev.name}#${ev.incarnation} (gen ${ev.gen}) that the registry is not waiting for`,
    );
    return;
  }
  incarnationEnded(ctx, svc, { pid: null, code: null, signal: null, error: ev.error, time: ctx.time });
}

/** Exit of a service process: it leaves the tree here, exactly once. */
export function onServiceExit(
  ctx: Ctx,
  pid: Pid,
  entry: ServiceEntry,
  wasStopping: boolean,
  code: number | null,
  signal: string | null,
): void {
  if (wasStopping) cancelTimer(ctx, stopTimerOf(pid, entry));
  const svc = ctx.s.services.get(entry.name);
  // Not the current incarnation: an unwanted process that we had stopped; it never had a PID file.
  if (!svc || svc.pid !== pid || svc.incarnation !== entry.incarnation) return;
  incarnationEnded(ctx, svc, { pid, code, signal, error: null, time: ctx.time });
}

function incarnationEnded(ctx: Ctx, svc: ServiceStatus, exit: ExitInfo): void {
  const ownsPidFile = svc.pidFilePid !== null && svc.pidFilePid === exit.pid;
  // Removed at once, not after the backoff (keepalived leaves a dead PID there for up to 60 s),
  // and only if the file still names this PID.
  if (ownsPidFile) effect(ctx, { do: 'remove-pidfile', path: svc.def.pidFile, ifPid: exit.pid as Pid });
  const pidFilePid = ownsPidFile ? null : svc.pidFilePid;
  // The status after the exit, with what each path below decides on top: one copy per event.
  const ended = (patch: Partial<ServiceStatus> = {}): ServiceStatus =>
    Object.assign(copyService(svc), { pid: null, lastExit: exit, pidFilePid }, patch);
  if (svc.desired === 'removed') return dropService(ctx, svc.name);
  if (svc.desired === 'down' || ctx.s.phase === 'stopping') {
    const reason = ctx.s.phase === 'stopping' ? 'supervisor stopping' : 'stop requested';
    return putService(ctx, ended({ phase: 'stopped', reason }));
  }
  if (svc.restartAfterExit === 'reload' || svc.restartAfterExit === 'requested') {
    requestSpawn(ctx, ended(), svc.restartAfterExit);
    return;
  }
  if (svc.restartAfterExit === 'check-failed') {
    const admitted = admitRestart(svc.def.maxRestarts, svc.recentRestarts, ctx.time);
    if (!admitted) return giveUp(ctx, ended());
    requestSpawn(ctx, ended({ restarts: svc.restarts + 1, recentRestarts: admitted }), 'restart');
    return;
  }
  if (exit.code !== null && svc.def.fatalExitCodes.includes(exit.code)) {
    const reason = `exit code ${exit.code} is listed in fatalExitCodes`;
    putService(ctx, ended({ phase: 'failed', reason }));
    record(ctx, { type: 'service-failed', name: svc.name, code: exit.code, reason });
    return;
  }
  const clean = exit.code === 0 && exit.error === null;
  if (svc.def.restart === 'never' || (svc.def.restart === 'on-failure' && clean)) {
    const reason = `exited (${describeExit(exit)}); restart: ${svc.def.restart}`;
    return putService(ctx, ended({ phase: 'stopped', reason }));
  }
  const admitted = admitRestart(svc.def.maxRestarts, svc.recentRestarts, ctx.time);
  if (!admitted) return giveUp(ctx, ended());
  const uptime = svc.startedAt !== null && exit.pid !== null ? exit.time - svc.startedAt : null;
  const quick = wasStable(svc.def.backoff, uptime) ? 0 : svc.quickFailures;
  const delayMs = nextBackoffDelay(svc.def.backoff, quick);
  const incarnation = svc.incarnation + 1;
  const timer = { kind: 'backoff', name: svc.name, gen: ctx.s.gen, incarnation } as const;
  const restarts = svc.restarts + 1;
  putService(
    ctx,
    ended({ phase: 'backoff', restarts, recentRestarts: admitted, quickFailures: quick + 1, timer }),
  );
  record(ctx, { type: 'restart-scheduled', name: svc.name, incarnation, delayMs, restarts });
  armTimer(ctx, timer, ctx.time + delayMs);
}

function giveUp(ctx: Ctx, s: ServiceStatus): void {
  const { count, withinMs } = s.def.maxRestarts;
  const reason = `more than ${count} restarts within ${withinMs}ms`;
  putService(ctx, withService(s, { phase: 'given-up', reason }));
  record(ctx, { type: 'service-given-up', name: s.name, restarts: s.restarts, withinMs });
}

export function describeExit(e: ExitInfo): string {
  if (e.error !== null) return `spawn failed: ${e.error}`;
  if (e.signal !== null) return `signal ${e.signal}`;
  return `code ${e.code}`;
}

export function onBackoffElapsed(ctx: Ctx, svc: ServiceStatus): void {
  requestSpawn(ctx, svc, 'restart'); // requestSpawn clears the timer
}

/** Stop the current incarnation of a running service. */
export function stopCurrent(ctx: Ctx, svc: ServiceStatus, reason: StopBegun['reason']): void {
  putService(ctx, withService(svc, { phase: 'stopping' }));
  const pid = svc.pid;
  if (pid === null || isStopping(ctx, pid)) return;
  const entry = ctx.s.procs.get(pid);
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

/**
 * Take a service down for `reason`: a live process is stopped, a pending backoff is
 * cancelled, a spawn under way is stopped once it reports (see onSpawned).
 */
export function bringDown(
  ctx: Ctx,
  svc: ServiceStatus,
  desired: 'down' | 'removed',
  reason: StopBegun['reason'],
): void {
  const s: ServiceStatus = withService(svc, { desired, restartAfterExit: null });
  switch (svc.phase) {
    case 'running':
      return stopCurrent(ctx, s, reason);
    case 'stopping':
    case 'starting':
      return putService(ctx, s);
    case 'backoff':
      cancelTimer(ctx, svc.timer);
      if (desired === 'removed') return dropService(ctx, svc.name);
      return putService(ctx, withService(s, { phase: 'stopped', timer: null, reason: describeDown(reason) }));
    case 'stopped':
    case 'given-up':
    case 'failed':
      if (desired === 'removed') return dropService(ctx, svc.name);
      return putService(ctx, s);
  }
}

function describeDown(reason: StopBegun['reason']): string {
  return reason === 'supervisor-stopping' ? 'supervisor stopping' : 'stop requested';
}

/** Restart the current incarnation at once (a failed check, a changed definition). */
export function restartNow(ctx: Ctx, svc: ServiceStatus, why: 'reload' | 'check-failed' | 'requested'): void {
  switch (svc.phase) {
    case 'running':
      return stopCurrent(
        ctx,
        withService(svc, { restartAfterExit: why }),
        why === 'check-failed' ? 'check-failed' : why === 'reload' ? 'reload-changed' : 'requested',
      );
    case 'starting':
    case 'stopping':
      return putService(ctx, withService(svc, { restartAfterExit: why }));
    case 'backoff':
      cancelTimer(ctx, svc.timer);
      requestSpawn(ctx, withService(svc, { timer: null }), why === 'reload' ? 'reload' : 'restart');
      return;
    case 'stopped':
    case 'given-up':
    case 'failed':
      if (why === 'check-failed') return; // a check does not revive a service that is down
      requestSpawn(ctx, svc, why === 'reload' ? 'reload' : 'requested');
      return;
  }
}
