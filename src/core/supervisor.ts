import type {
  OrphanReaped,
  StartRequested,
  StopRequested,
  SupervisorStarted,
  SupervisorStopping,
} from '../events/types.js';
import { stopCheckRuns } from './checks.js';
import { type Ctx, effect, ignore, putService, record, removeProc } from './context.js';
import { bringDown, restartNow } from './services.js';
import { initialState, isOrphan, withService } from './state.js';

/**
 * A new supervisor instance begins. Processes still in the tree were left by a predecessor
 * that died without stopping them: each is reported and handed to the shell to reap
 * (which kills its group only if PID and start time prove it is still that process).
 */
export function onSupervisorStarted(ctx: Ctx, _ev: SupervisorStarted): void {
  const fresh = initialState();
  ctx.s.instance += 1;
  // Everything this instance starts gets a newer generation than anything left in the tree.
  ctx.s.instanceGen = ctx.s.gen + 1;
  ctx.s.phase = 'starting';
  ctx.s.config = null;
  ctx.s.reload = 'idle';
  ctx.s.services = fresh.services;
  ctx.s.checks = fresh.checks;
  for (const [pid, entry] of ctx.s.procs.entries()) {
    record(ctx, {
      type: 'orphan-found',
      pid,
      name: entry.name,
      kind: entry.kind,
      startTime: entry.startTime,
    });
    effect(ctx, { do: 'reap-orphan', pid, startTime: entry.startTime });
  }
}

export function onOrphanReaped(ctx: Ctx, ev: OrphanReaped): void {
  const entry = ctx.s.procs.get(ev.pid);
  if (!entry || !isOrphan(ctx.s, entry))
    return ignore(ctx, `pid ${ev.pid} is not an orphan of a previous instance`);
  removeProc(ctx, ev.pid);
  if (entry.kind === 'service' && entry.def)
    effect(ctx, { do: 'remove-pidfile', path: entry.def.pidFile, ifPid: ev.pid });
  exitIfQuiet(ctx);
}

export function onSupervisorStopping(ctx: Ctx, ev: SupervisorStopping): void {
  if (ctx.s.phase === 'stopping' || ctx.s.phase === 'stopped')
    return ignore(ctx, `already ${ctx.s.phase} (${ev.reason})`);
  ctx.s.phase = 'stopping';
  for (const svc of ctx.s.services.values()) bringDown(ctx, svc, 'down', 'supervisor-stopping');
  stopCheckRuns(ctx);
  exitIfQuiet(ctx);
}

export function onSupervisorStopped(ctx: Ctx): void {
  ctx.s.phase = 'stopped';
}

/** During a stop, once no process is left and none is being started, the shell may exit. */
export function exitIfQuiet(ctx: Ctx): void {
  if (ctx.s.phase !== 'stopping' || ctx.s.procs.size > 0) return;
  for (const svc of ctx.s.services.values()) if (svc.phase === 'starting') return;
  for (const chk of ctx.s.checks.values()) if (chk.inFlight) return;
  effect(ctx, { do: 'exit' });
}

export function onStopRequested(ctx: Ctx, ev: StopRequested): void {
  const svc = ctx.s.services.get(ev.name);
  if (!svc || svc.desired === 'removed') return ignore(ctx, `no service named ${JSON.stringify(ev.name)}`);
  if (svc.desired === 'down') return ignore(ctx, `service ${ev.name} is already stopped or stopping`);
  bringDown(ctx, svc, 'down', 'requested');
}

export function onStartRequested(ctx: Ctx, ev: StartRequested): void {
  if (ctx.s.phase !== 'running') return ignore(ctx, `start requested while the supervisor is ${ctx.s.phase}`);
  const svc = ctx.s.services.get(ev.name);
  if (!svc || svc.desired === 'removed') return ignore(ctx, `no service named ${JSON.stringify(ev.name)}`);
  const up = withService(svc, { desired: 'up' as const, recentRestarts: [], quickFailures: 0 });
  switch (svc.phase) {
    case 'stopped':
    case 'given-up':
    case 'failed':
      return restartNow(ctx, up, 'requested');
    case 'stopping':
      return putService(ctx, withService(up, { restartAfterExit: 'requested' }));
    default:
      return svc.desired === 'up'
        ? ignore(ctx, `service ${ev.name} is already ${svc.phase}`)
        : putService(ctx, up);
  }
}
