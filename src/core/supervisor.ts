import type {
  OrphanReaped,
  StartRequested,
  StopRequested,
  SupervisorStarted,
  SupervisorStopping,
} from '../events/types.js';
import { assertNever } from '../events/assert-never.js';
import { stopCheckRuns } from './checks.js';
import { type Ctx, effect, recordIgnored, putService, record, removeProc } from './context.js';
import { bringDown, restartNow } from './services.js';
import { initialState, isOrphan, withService } from './state.js';

/**
 * A new supervisor instance begins. Processes still in the tree were left by a predecessor
 * that died without stopping them: each is reported and handed to the shell to reap
 * (which kills its group only if PID and start time prove it is still that process).
 */
export function onSupervisorStarted(ctx: Ctx, _ev: SupervisorStarted): void {
  const fresh = initialState();
  ctx.state.instance += 1;
  // Everything this instance starts gets a newer generation than anything left in the tree.
  ctx.state.instanceGen = ctx.state.gen + 1;
  ctx.state.phase = 'starting';
  ctx.state.config = null;
  ctx.state.reload = 'idle';
  ctx.state.services = fresh.services;
  ctx.state.checks = fresh.checks;
  for (const [pid, entry] of ctx.state.procs.entries()) {
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
  const entry = ctx.state.procs.get(ev.pid);
  if (!entry || !isOrphan(ctx.state, entry))
    return recordIgnored(ctx, `pid ${ev.pid} is not an orphan of a previous instance`);
  removeProc(ctx, ev.pid);
  if (entry.kind === 'service' && entry.def)
    effect(ctx, { do: 'remove-pidfile', path: entry.def.pidFile, ifPid: ev.pid });
  exitIfQuiet(ctx);
}

export function onSupervisorStopping(ctx: Ctx, ev: SupervisorStopping): void {
  if (ctx.state.phase === 'stopping' || ctx.state.phase === 'stopped')
    return recordIgnored(ctx, `already ${ctx.state.phase} (${ev.reason})`);
  ctx.state.phase = 'stopping';
  for (const svc of ctx.state.services.values()) bringDown(ctx, svc, 'down', 'supervisor-stopping');
  stopCheckRuns(ctx);
  exitIfQuiet(ctx);
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

export function onStopRequested(ctx: Ctx, ev: StopRequested): void {
  const svc = ctx.state.services.get(ev.name);
  if (!svc || svc.desired === 'removed')
    return recordIgnored(ctx, `no service named ${JSON.stringify(ev.name)}`);
  if (svc.desired === 'down') return recordIgnored(ctx, `service ${ev.name} is already stopped or stopping`);
  bringDown(ctx, svc, 'down', 'requested');
}

export function onStartRequested(ctx: Ctx, ev: StartRequested): void {
  if (ctx.state.phase !== 'running')
    return recordIgnored(ctx, `start requested while the supervisor is ${ctx.state.phase}`);
  const svc = ctx.state.services.get(ev.name);
  if (!svc || svc.desired === 'removed')
    return recordIgnored(ctx, `no service named ${JSON.stringify(ev.name)}`);
  const up = withService(svc, { desired: 'up' as const, recentRestarts: [], quickFailures: 0 });
  switch (svc.phase) {
    case 'stopped':
    case 'given-up':
    case 'failed':
      return restartNow(ctx, up, 'requested');
    case 'stopping':
      return putService(ctx, withService(up, { restartAfterExit: 'requested' }));
    case 'starting':
    case 'running':
    case 'backoff':
      return svc.desired === 'up'
        ? recordIgnored(ctx, `service ${ev.name} is already ${svc.phase}`)
        : putService(ctx, up);
    default:
      return assertNever(svc.phase);
  }
}
