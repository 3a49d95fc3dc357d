import { assertNever } from '../events/assert-never.js';
import type {
  RequestAnswered,
  RestartRequested,
  SignalRequested,
  StartRequested,
  StopRequested,
} from '../events/types.js';
import { runOrSkip } from './checks.js';
import { type Ctx, cancelTimer, effect, putCheck, putService, record } from './context.js';
import { bringDown, restartNow } from './services.js';
import { type CheckStatus, type ServiceStatus, withCheck, withService } from './state.js';

// What an operator asks of one service or check (procreg start/stop/restart/signal): every
// request is an input with its source, folded like any other, and answered by exactly one
// request-answered record, so the CLI can say what happened and the log can say who did it.

function answer(ctx: Ctx, outcome: RequestAnswered['outcome'], message: string): void {
  record(ctx, { type: 'request-answered', ref: ctx.event.seq, outcome, message });
}

/**
 * The service named, or an `unknown` answer listing the names that exist (the checks too
 * when the request could have named one: start and stop take either).
 */
function serviceOf(ctx: Ctx, name: string, orCheck = false): ServiceStatus | undefined {
  const svc = ctx.state.services.get(name);
  if (svc && svc.desired !== 'removed') return svc;
  const services = `services: ${serviceNames(ctx).join(', ') || 'none'}`;
  const chk = ctx.state.checks.get(name);
  if (chk && !chk.removed)
    answer(ctx, 'unknown', `${JSON.stringify(name)} is a check, not a service; ${services}`);
  else if (!orCheck) answer(ctx, 'unknown', `no service named ${JSON.stringify(name)}; ${services}`);
  else
    answer(
      ctx,
      'unknown',
      `no service or check named ${JSON.stringify(name)}; ${services}; checks: ${checkNames(ctx).join(', ') || 'none'}`,
    );
  return undefined;
}

const serviceNames = (ctx: Ctx) =>
  [...ctx.state.services.values()]
    .filter((s) => s.desired !== 'removed')
    .map((s) => s.name)
    .sort();
const checkNames = (ctx: Ctx) =>
  [...ctx.state.checks.values()]
    .filter((c) => !c.removed)
    .map((c) => c.name)
    .sort();

function checkOf(ctx: Ctx, name: string): CheckStatus | undefined {
  const chk = ctx.state.checks.get(name);
  if (chk && !chk.removed) return chk;
  answer(
    ctx,
    'unknown',
    `no check named ${JSON.stringify(name)}; checks: ${checkNames(ctx).join(', ') || 'none'}`,
  );
  return undefined;
}

/** Only a running supervisor takes requests: while it starts or stops, they are refused. */
function accepting(ctx: Ctx): boolean {
  if (ctx.state.phase === 'running') return true;
  answer(ctx, 'refused', `procreg is ${ctx.state.phase}; try again once it runs`);
  return false;
}

export function onStopRequested(ctx: Ctx, ev: StopRequested): void {
  if (!accepting(ctx)) return;
  if (ev.target === 'check') return pauseCheck(ctx, ev);
  const svc = serviceOf(ctx, ev.name, true);
  if (!svc) return;
  if (svc.desired === 'down') return answer(ctx, 'already', `${ev.name} is already stopped or stopping`);
  const reason = `stopped by operator (${ev.source})`;
  bringDown(ctx, withService(svc, { reason }), 'down', 'requested');
  const after = ctx.state.services.get(ev.name);
  if (after && after.phase !== 'stopping') putService(ctx, withService(after, { reason }));
  answer(ctx, 'done', `${ev.name}: stopping (${ev.source}); it stays down until started again`);
}

export function onStartRequested(ctx: Ctx, ev: StartRequested): void {
  if (!accepting(ctx)) return;
  if (ev.target === 'check') return resumeCheck(ctx, ev);
  const svc = serviceOf(ctx, ev.name, true);
  if (!svc) return;
  // A fresh start: the restart window and the backoff start over.
  const up = withService(svc, { desired: 'up' as const, recentRestarts: [], quickFailures: 0 });
  switch (svc.phase) {
    case 'stopped':
    case 'given-up':
    case 'failed':
      restartNow(ctx, up, 'requested');
      return answer(ctx, 'done', `${ev.name}: starting (${ev.source})${resetWords(svc)}`);
    case 'stopping':
      putService(ctx, withService(up, { restartAfterExit: 'requested' }));
      return answer(ctx, 'done', `${ev.name}: starts once its stop completes (${ev.source})`);
    case 'waiting':
    case 'starting':
    case 'running':
    case 'backoff':
      if (svc.desired === 'up') return answer(ctx, 'already', `${ev.name} is already ${svc.phase}`);
      putService(ctx, up);
      return answer(ctx, 'done', `${ev.name}: kept up (${ev.source})`);
    default:
      return assertNever(svc.phase);
  }
}

export function onRestartRequested(ctx: Ctx, ev: RestartRequested): void {
  if (!accepting(ctx)) return;
  const svc = serviceOf(ctx, ev.name);
  if (!svc) return;
  // An operator's restart is not a failure: it does not count towards maxRestarts.
  const up = withService(svc, { desired: 'up' as const, recentRestarts: [], quickFailures: 0 });
  if (svc.phase === 'waiting') {
    putService(ctx, up);
    return answer(ctx, 'already', `${ev.name} is waiting to start; it starts as soon as it can`);
  }
  restartNow(ctx, up, 'requested');
  answer(ctx, 'done', `${ev.name}: restarting (${ev.source})`);
}

export function onSignalRequested(ctx: Ctx, ev: SignalRequested): void {
  if (!accepting(ctx)) return;
  const svc = serviceOf(ctx, ev.name);
  if (!svc) return;
  if (svc.pid === null)
    return answer(ctx, 'refused', `${ev.name} has no process to signal (it is ${svc.phase})`);
  effect(ctx, { do: 'signal-group', pid: svc.pid, signal: ev.signal });
  answer(ctx, 'done', `${ev.name}: ${ev.signal} sent to process group ${svc.pid} (${ev.source})`);
}

/** What a start wipes, said when there was something to wipe (the log then shows the reset). */
function resetWords(svc: ServiceStatus): string {
  if (svc.recentRestarts.length === 0 && svc.quickFailures === 0) return '';
  const was = svc.phase === 'given-up' ? `was given up; ` : '';
  return `; ${was}restart window (${svc.recentRestarts.length} restart${svc.recentRestarts.length === 1 ? '' : 's'}) and backoff reset`;
}

function pauseCheck(ctx: Ctx, ev: StopRequested): void {
  const chk = checkOf(ctx, ev.name);
  if (!chk) return;
  if (chk.paused) return answer(ctx, 'already', `check ${ev.name} is already paused`);
  cancelTimer(ctx, chk.timer);
  putCheck(ctx, withCheck(chk, { paused: true, timer: null }));
  const inFlight = chk.inFlight ? `; run ${chk.inFlight.run} in flight finishes` : '';
  answer(ctx, 'done', `check ${ev.name}: paused (${ev.source})${inFlight}`);
}

function resumeCheck(ctx: Ctx, ev: StartRequested): void {
  const chk = checkOf(ctx, ev.name);
  if (!chk) return;
  if (!chk.paused) return answer(ctx, 'already', `check ${ev.name} is already running`);
  runOrSkip(ctx, withCheck(chk, { paused: false }));
  answer(ctx, 'done', `check ${ev.name}: resumed (${ev.source})`);
}
