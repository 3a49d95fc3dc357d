import { assertNever } from '../events/assert-never.js';
import { type DecisionRecord, type Event, type Exited, type TimerFired } from '../events/types.js';
import { onCheckExit, onCheckStarted, onCheckStartFailed, onCheckTimeout, runOrSkip } from './checks.js';
import { type Ctx, effect, recordIgnored, removeProc, sameTimer } from './context.js';
import type { Effect } from './effects.js';
import { onConfigLoaded, onReloadFailed, onReloadRequested } from './reload.js';
import { onBackoffElapsed, onServiceExit, onSpawned, onSpawnFailed } from './services.js';
import { isOrphan, type State } from './state.js';
import {
  exitIfQuiet,
  onOrphanReaped,
  onStartRequested,
  onStopRequested,
  onSupervisorStarted,
  onSupervisorStopped,
  onSupervisorStopping,
} from './supervisor.js';

export interface StepResult {
  readonly state: State;
  /** What the shell must do, in order. */
  readonly effects: readonly Effect[];
  /** What was decided and why; the shell logs these after the input. */
  readonly records: readonly DecisionRecord[];
}

/**
 * The fold. Pure: time comes from the event, nothing is read from the clock, the disk or
 * a random source, and odd input (an unknown or repeated exit, a stale timer, a timer of
 * an older generation) is recorded as ignored, never thrown. The given state is not changed.
 */
export function step(state: State, event: Event): StepResult {
  const ctx: Ctx = {
    state: workingCopy(state, event.seq),
    event,
    time: event.time,
    effects: [],
    records: [],
  };
  apply(ctx, event);
  return { state: ctx.state, effects: ctx.effects, records: ctx.records };
}

/**
 * A field-by-field copy from one literal: every State then shares one hidden class, which
 * keeps V8 on its fast paths (the same reason as copyService in state.ts).
 */
function workingCopy(s: State, seq: number): Ctx['state'] {
  return {
    seq,
    instance: s.instance,
    instanceGen: s.instanceGen,
    phase: s.phase,
    gen: s.gen,
    config: s.config,
    reload: s.reload,
    procs: s.procs,
    stopping: s.stopping,
    services: s.services,
    checks: s.checks,
  };
}

function apply(ctx: Ctx, ev: Event): void {
  switch (ev.type) {
    case 'supervisor-started':
      return onSupervisorStarted(ctx, ev);
    case 'supervisor-stopping':
      return onSupervisorStopping(ctx, ev);
    case 'supervisor-stopped':
      return onSupervisorStopped(ctx);
    case 'config-loaded':
      return onConfigLoaded(ctx, ev);
    case 'reload-requested':
      return onReloadRequested(ctx, ev);
    case 'reload-failed':
      return onReloadFailed(ctx, ev);
    case 'spawned':
      return onSpawned(ctx, ev);
    case 'spawn-failed':
      onSpawnFailed(ctx, ev);
      return exitIfQuiet(ctx); // a stop may have been waiting for this very spawn
    case 'check-started':
      return onCheckStarted(ctx, ev);
    case 'check-start-failed':
      onCheckStartFailed(ctx, ev);
      return exitIfQuiet(ctx); // likewise for a check run
    case 'exited':
      return onExited(ctx, ev);
    case 'timer-fired':
      return onTimer(ctx, ev);
    case 'stop-requested':
      return onStopRequested(ctx, ev);
    case 'start-requested':
      return onStartRequested(ctx, ev);
    case 'orphan-reaped':
      return onOrphanReaped(ctx, ev);
    // Outcomes of effects: facts for the record, nothing for the registry to change.
    case 'signal-sent':
    case 'pidfile-written':
    case 'pidfile-removed':
      return;
    // Decision records are derived from the inputs; replaying them changes nothing.
    case 'spawn-requested':
    case 'restart-scheduled':
    case 'service-given-up':
    case 'service-failed':
    case 'stop-begun':
    case 'check-run-requested':
    case 'check-skipped':
    case 'check-timed-out':
    case 'check-finished':
    case 'check-health-changed':
    case 'reload-applied':
    case 'reload-coalesced':
    case 'orphan-found':
    case 'event-ignored':
      return;
    default:
      return assertNever(ev);
  }
}

function onExited(ctx: Ctx, ev: Exited): void {
  // The one place an entry leaves the tree on exit: removal is total, so it happens once.
  const removed = removeProc(ctx, ev.pid);
  if (!removed)
    return recordIgnored(ctx, `pid ${ev.pid} is not registered (unknown, or its exit was already handled)`);
  const { entry, wasStopping } = removed;
  if (isOrphan(ctx.state, entry)) {
    // An orphan of a crashed predecessor that exited on its own.
    if (entry.kind === 'service' && entry.def)
      effect(ctx, { do: 'remove-pidfile', path: entry.def.pidFile, ifPid: ev.pid });
  } else if (entry.kind === 'service') onServiceExit(ctx, ev.pid, entry, wasStopping, ev.code, ev.signal);
  else onCheckExit(ctx, ev.pid, entry, wasStopping, ev.code, ev.signal);
  exitIfQuiet(ctx);
}

/**
 * A timer fired. Cancelling can race firing, so a timer counts only if the state still
 * holds exactly what it was armed for; anything else is stale and changes nothing.
 */
function onTimer(ctx: Ctx, ev: TimerFired): void {
  const t = ev.timer;
  switch (t.kind) {
    case 'backoff': {
      const svc = ctx.state.services.get(t.name);
      if (svc?.phase !== 'backoff' || !sameTimer(svc.timer, t))
        return recordIgnored(ctx, 'stale backoff timer');
      return onBackoffElapsed(ctx, svc);
    }
    case 'check-interval': {
      const chk = ctx.state.checks.get(t.name);
      if (!chk || chk.removed || !sameTimer(chk.timer, t))
        return recordIgnored(ctx, 'stale check-interval timer');
      if (ctx.state.phase !== 'running')
        return recordIgnored(ctx, `check interval while the supervisor is ${ctx.state.phase}`);
      return runOrSkip(ctx, chk);
    }
    case 'check-timeout': {
      const e = ctx.state.procs.get(t.pid);
      if (
        e?.kind !== 'check' ||
        e.name !== t.name ||
        e.run !== t.run ||
        e.gen !== t.gen ||
        e.timedOut ||
        isOrphan(ctx.state, e)
      ) {
        return recordIgnored(ctx, 'stale check-timeout timer (the run already finished)');
      }
      return onCheckTimeout(ctx, t.pid, e);
    }
    case 'stop-timeout': {
      const e = ctx.state.procs.get(t.pid);
      const serial = e?.kind === 'service' ? e.incarnation : e?.run;
      if (
        !e ||
        !ctx.state.stopping.has(t.pid) ||
        e.name !== t.name ||
        e.gen !== t.gen ||
        serial !== t.serial
      ) {
        return recordIgnored(ctx, 'stale stop-timeout timer (the process already exited)');
      }
      effect(ctx, { do: 'signal-group', pid: t.pid, signal: 'SIGKILL' });
      return;
    }
    default:
      return assertNever(t);
  }
}
