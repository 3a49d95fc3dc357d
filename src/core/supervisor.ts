import type { OrphanReaped, Pid, SupervisorStarted, SupervisorStopping } from '../events/types.js';
import { stopCheckRuns } from './checks.js';
import {
  armTimer,
  type Ctx,
  cancelTimer,
  effect,
  isStopping,
  putService,
  record,
  recordIgnored,
  removeProc,
  stopTimerOf,
} from './context.js';
import { bringDown, stopCurrent, reapEffect, tryStart, stopSignalOf, stopTimeoutOf } from './services.js';
import { dependentsOf } from './dependencies.js';
import { initialState, isOrphan, withService } from './state.js';

/**
 * A new supervisor instance begins. Processes still in the tree were left by a predecessor
 * that died without stopping them. Each is reported and handed to the shell, which stops
 * its group gracefully only if PID, start time, process group, session and executable prove
 * it is still that process. Those of an earlier boot cannot be running: they are forgotten.
 */
export function onSupervisorStarted(ctx: Ctx, ev: SupervisorStarted): void {
  const fresh = initialState();
  const previousBoot = ctx.state.bootId;
  ctx.state.instance += 1;
  ctx.state.bootId = ev.bootId;
  // Everything this instance starts gets a newer generation than anything left in the tree.
  ctx.state.instanceGen = ctx.state.gen + 1;
  ctx.state.orphans = ctx.state.procs.size; // every entry is older than instanceGen now
  ctx.state.phase = 'starting';
  ctx.state.config = null;
  ctx.state.reload = 'idle';
  ctx.state.services = fresh.services;
  ctx.state.checks = fresh.checks;
  // Stops the predecessor had begun died with its timers: crash recovery starts them afresh.
  ctx.state.stopping = fresh.stopping;
  const rebooted = previousBoot !== null && ev.bootId !== null && previousBoot !== ev.bootId;
  for (const [pid, entry] of ctx.state.procs.entries()) {
    if (rebooted) {
      removeProc(ctx, pid);
      record(ctx, {
        type: 'orphan-forgotten',
        pid,
        name: entry.name,
        reason: `left in an earlier boot (${previousBoot}); this is boot ${ev.bootId}`,
      });
      if (entry.kind === 'service' && entry.def)
        effect(ctx, { do: 'remove-pidfile', path: entry.def.pidFile, ifPid: pid });
      continue;
    }
    record(ctx, {
      type: 'orphan-found',
      pid,
      name: entry.name,
      kind: entry.kind,
      startTime: entry.startTime,
    });
    effect(ctx, reapEffect(pid, entry));
  }
}

export function onOrphanReaped(ctx: Ctx, ev: OrphanReaped): void {
  const entry = ctx.state.procs.get(ev.pid);
  if (!entry || !isOrphan(ctx.state, entry))
    return recordIgnored(ctx, `pid ${ev.pid} is not an orphan of a previous instance`);
  if (ev.outcome !== 'signalled') return orphanGone(ctx, ev.pid);
  // Ours, and sent its stop signal: SIGKILL (proven ours again) after its stop timeout,
  // unless its whole group is gone first.
  if (isStopping(ctx, ev.pid)) return;
  const signal = stopSignalOf(entry);
  const killAt = ctx.mono + stopTimeoutOf(entry);
  ctx.state.stopping = ctx.state.stopping.set(ev.pid, { signal, since: ctx.mono, killAt });
  armTimer(ctx, stopTimerOf(ev.pid, entry), killAt);
  effect(ctx, { do: 'watch-group', pid: ev.pid });
}

/** A predecessor's process is gone (or not ours to touch): forget it, and start what waited for it. */
export function orphanGone(ctx: Ctx, pid: Pid): void {
  const removed = removeProc(ctx, pid);
  if (!removed) return;
  const { entry, wasStopping } = removed;
  if (wasStopping) cancelTimer(ctx, stopTimerOf(pid, entry));
  if (entry.kind === 'service' && entry.def)
    effect(ctx, { do: 'remove-pidfile', path: entry.def.pidFile, ifPid: pid });
  if (entry.kind === 'service') tryStart(ctx, entry.name);
  exitIfQuiet(ctx);
}

export function onSupervisorStopping(ctx: Ctx, ev: SupervisorStopping): void {
  if (ctx.state.phase === 'stopping' || ctx.state.phase === 'stopped')
    return recordIgnored(ctx, `already ${ctx.state.phase} (${ev.reason})`);
  ctx.state.phase = 'stopping';
  // In reverse dependency order: a service stops once nothing that depends on it still runs.
  for (const svc of ctx.state.services.values()) {
    if (dependentsRunning(ctx, svc.name))
      putService(
        ctx,
        withService(svc, { desired: 'down', restartAfterExit: null, reason: 'stops after its dependents' }),
      );
    else bringDown(ctx, svc, 'down', 'supervisor-stopping');
  }
  stopCheckRuns(ctx);
  exitIfQuiet(ctx);
}

/**
 * While procreg stops: stop the services held back for their dependents, once those are gone.
 * Called after every exit, so it must not walk every service each time (a stop of 10k
 * services was 10k walks of 10k: 15 s of fold at 8k). Only a live process that is not being
 * stopped can be held back (a running service's PID is in the tree, and every PID being
 * stopped is too): there are `procs.size - stopping.size` of them, none once all are being
 * stopped, and the walk ends when it has seen them all. Same services, same order.
 */
export function stopAfterDependents(ctx: Ctx): void {
  if (ctx.state.phase !== 'stopping') return;
  let unseen = ctx.state.procs.size - ctx.state.stopping.size;
  if (unseen <= 0) return;
  for (const svc of ctx.state.services.values()) {
    if (svc.pid === null || ctx.state.stopping.has(svc.pid)) continue;
    if (svc.phase === 'running' && !dependentsRunning(ctx, svc.name))
      stopCurrent(ctx, svc, 'supervisor-stopping');
    if (--unseen === 0) return;
  }
}

/** Some service depending on `name` has a process, or is about to. */
function dependentsRunning(ctx: Ctx, name: string): boolean {
  for (const d of dependentsOf(ctx.state.config, name)) {
    const phase = ctx.state.services.get(d)?.phase;
    if (phase === 'running' || phase === 'starting' || phase === 'stopping') return true;
  }
  return false;
}

export function onSupervisorStopped(ctx: Ctx): void {
  ctx.state.phase = 'stopped';
}

/** During a stop, once no process is left and none is being started, the shell may exit. */
export function exitIfQuiet(ctx: Ctx): void {
  if (ctx.state.phase !== 'stopping' || ctx.state.procs.size > 0) return;
  for (const svc of ctx.state.services.values()) if (svc.phase === 'starting') return;
  for (const chk of ctx.state.checks.values()) if (chk.inFlight) return;
  effect(ctx, { do: 'exit' });
}
