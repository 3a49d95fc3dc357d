import { assertNever } from '../events/assert-never.js';
import type { DecisionRecord, Event, Exited, GroupExited, Pid, TimerFired } from '../events/types.js';
import { onCheckExit, onCheckStarted, onCheckStartFailed, onCheckTimeout, runOrSkip } from './checks.js';
import {
  beginStop,
  type Ctx,
  effect,
  isStopping,
  record,
  recordIgnored,
  removeProc,
  replaceProc,
  sameTimer,
} from './context.js';
import type { Effect } from './effects.js';
import type { RemoveResult } from '../tree/ordered-map.js';
import { formatProblem } from '../config/schema.js';
import { onRestartRequested, onSignalRequested, onStartRequested, onStopRequested } from './operator.js';
import { onConfigLoaded, onReloadFailed, onReloadRequested } from './reload.js';
import { fromSnapshot } from './snapshot.js';
import {
  onBackoffElapsed,
  onServiceExit,
  onSpawned,
  onSpawnFailed,
  onDaemonSuspected,
  reapEffect,
  stopSignalOf,
  stopTimeoutOf,
} from './services.js';
import { type Entry, isOrphan, type LeaderExit, type State } from './state.js';
import {
  exitIfQuiet,
  stopAfterDependents,
  orphanGone,
  onOrphanReaped,
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
    mono: event.mono,
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
    bootId: s.bootId,
    instance: s.instance,
    instanceGen: s.instanceGen,
    phase: s.phase,
    gen: s.gen,
    config: s.config,
    reload: s.reload,
    reloadSignals: s.reloadSignals,
    procs: s.procs,
    orphans: s.orphans,
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
    case 'group-exited':
      return onGroupExited(ctx, ev);
    case 'timer-fired':
      return onTimer(ctx, ev);
    case 'stop-requested':
      return onStopRequested(ctx, ev);
    case 'start-requested':
      return onStartRequested(ctx, ev);
    case 'restart-requested':
      return onRestartRequested(ctx, ev);
    case 'signal-requested':
      return onSignalRequested(ctx, ev);
    case 'orphan-reaped':
      return onOrphanReaped(ctx, ev);
    case 'daemon-suspected':
      return onDaemonSuspected(ctx, ev);
    // Outcomes of effects: facts for the record, nothing for the registry to change. (After
    // a log-gap, the snapshot that follows it sets the registry.)
    case 'signal-sent':
    case 'pidfile-written':
    case 'pidfile-removed':
    case 'log-gap':
    case 'segments-deleted':
    case 'ship-gap':
    case 'output-dropped':
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
    case 'reload-signalled':
    case 'orphan-found':
    case 'orphan-forgotten':
    case 'request-answered':
    case 'event-ignored':
      return;
    case 'snapshot':
      return onSnapshot(ctx, ev);
    default:
      return assertNever(ev);
  }
}

/** The registry as the snapshot says: the fold continues from it as if it had folded everything before. */
function onSnapshot(ctx: Ctx, ev: Extract<Event, { type: 'snapshot' }>): void {
  const read = fromSnapshot(ev.state);
  if (!read.ok) {
    const first = read.problems[0];
    return recordIgnored(
      ctx,
      `snapshot unreadable: ${first ? formatProblem(first) : 'no state'}; the registry stays as it was`,
    );
  }
  Object.assign(ctx.state, read.state, { seq: ev.seq });
}

function onExited(ctx: Ctx, ev: Exited): void {
  // Looked up by removing it: an exit almost always ends the entry, and the removal's one
  // descent of the tree also finds it. Where it does not end it, that new tree is dropped.
  const removed = ctx.state.procs.remove(ev.pid);
  const entry = removed.removed ? removed.value : undefined;
  if (!entry || entry.leaderExit !== null)
    return recordIgnored(ctx, `pid ${ev.pid} is not registered (unknown, or its exit was already handled)`);
  if (ev.groupAlive && !isOrphan(ctx.state, entry)) return leaderLeftGroup(ctx, ev, entry);
  processEnded(ctx, ev.pid, { code: ev.code, signal: ev.signal, lastWords: ev.lastWords }, removed);
}

/**
 * The leader exited but processes of its group live on (children it did not take with
 * it): the incarnation or run is over only when the whole group is, so the rest of the group
 * gets the stop signal, SIGKILL after the stop timeout, and the exit is handled on group-exited.
 */
function leaderLeftGroup(ctx: Ctx, ev: Exited, entry: Entry): void {
  replaceProc(ctx, ev.pid, {
    ...entry,
    leaderExit: { code: ev.code, signal: ev.signal, lastWords: ev.lastWords },
  });
  effect(ctx, { do: 'watch-group', pid: ev.pid });
  if (isStopping(ctx, ev.pid)) return; // already being stopped: that stop's SIGKILL timer stands
  const signal = stopSignalOf(entry);
  beginStop(ctx, ev.pid, entry, signal, stopTimeoutOf(entry));
  record(ctx, { type: 'stop-begun', pid: ev.pid, name: entry.name, signal, reason: 'leader-exited' });
}

function onGroupExited(ctx: Ctx, ev: GroupExited): void {
  const entry = ctx.state.procs.get(ev.pid);
  if (!entry) return recordIgnored(ctx, `process group ${ev.pid} is not registered`);
  if (entry.leaderExit) return processEnded(ctx, ev.pid, entry.leaderExit);
  if (isOrphan(ctx.state, entry)) return orphanGone(ctx, ev.pid);
  recordIgnored(ctx, `process group ${ev.pid} reported empty while its leader is registered as running`);
}

/**
 * The one place an entry leaves the tree when its process is gone: removal is total, so it
 * happens once. `removed` is `ctx.state.procs.remove(pid)` when the caller has it already.
 */
function processEnded(ctx: Ctx, pid: Pid, how: LeaderExit, removed?: RemoveResult<Pid, Entry>): void {
  const entry = (removed?.removed ? removed.value : ctx.state.procs.get(pid)) as Entry;
  // An orphan of a crashed predecessor that exited on its own.
  if (isOrphan(ctx.state, entry)) return orphanGone(ctx, pid);
  const { wasStopping } = removeProc(ctx, pid, removed) as { wasStopping: boolean };
  if (entry.kind === 'service') onServiceExit(ctx, pid, entry, wasStopping, how);
  else onCheckExit(ctx, pid, entry, wasStopping, how.code, how.signal);
  stopAfterDependents(ctx);
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
      // A predecessor's process is proven ours again before it is killed: it is not our child.
      if (isOrphan(ctx.state, e)) effect(ctx, reapEffect(t.pid, e, 'SIGKILL'));
      else effect(ctx, { do: 'signal-group', pid: t.pid, signal: 'SIGKILL' });
      return;
    }
    default:
      return assertNever(t);
  }
}
