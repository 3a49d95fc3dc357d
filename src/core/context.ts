import type { DecisionRecord, Event, Pid, TimerKey } from '../events/types.js';
import type { Effect } from './effects.js';
import type { RemoveResult } from '../tree/ordered-map.js';
import {
  type CheckStatus,
  type Entry,
  isOrphan,
  type Mutable,
  type ServiceStatus,
  type State,
  withService,
} from './state.js';

/**
 * The working copy of one fold step: the state's fields as local variables plus what the
 * step decided. Each update replaces a persistent map with a new version; the state the
 * step started from is never touched.
 */
export interface Ctx {
  state: { -readonly [K in keyof State]: State[K] };
  readonly event: Event;
  /** Wall time of the event (epoch ms): what people are shown. */
  readonly time: number;
  /** Monotonic time of the event (ms since boot): what durations, deadlines and windows use. */
  readonly mono: number;
  readonly effects: Effect[];
  readonly records: DecisionRecord[];
}

export function effect(ctx: Ctx, e: Effect): void {
  ctx.effects.push(e);
}

export function record(ctx: Ctx, r: DecisionRecord): void {
  ctx.records.push(r);
}

/** The input was harmless but changed nothing: record that, with the reason. */
export function recordIgnored(ctx: Ctx, reason: string): void {
  ctx.records.push({ type: 'event-ignored', ref: ctx.event.seq, reason });
}

/** Stores a status; one entering a new phase is stamped with the time it did. */
export function putService(ctx: Ctx, svc: ServiceStatus): void {
  const before = ctx.state.services.get(svc.name);
  const next = before?.phase === svc.phase ? svc : withService(svc, { phaseSince: ctx.time });
  ctx.state.services = ctx.state.services.set(svc.name, next);
}

/**
 * putService for a status this step has just made (`copyService`) and that nothing else
 * holds yet: one entering a new phase is stamped in place, not copied a second time.
 * `stored` is the status the map holds for it now, when the caller has it at hand.
 */
export function putFresh(
  ctx: Ctx,
  svc: Mutable<ServiceStatus>,
  stored: ServiceStatus | undefined = ctx.state.services.get(svc.name),
): void {
  if (stored?.phase !== svc.phase) svc.phaseSince = ctx.time;
  ctx.state.services = ctx.state.services.set(svc.name, svc);
}

export function dropService(ctx: Ctx, name: string): void {
  ctx.state.services = ctx.state.services.remove(name).map;
}

export function putCheck(ctx: Ctx, chk: CheckStatus): void {
  ctx.state.checks = ctx.state.checks.set(chk.name, chk);
}

export function dropCheck(ctx: Ctx, name: string): void {
  ctx.state.checks = ctx.state.checks.remove(name).map;
}

/**
 * The generation a reported process is registered under. A report naming a generation that
 * does not exist yet cannot be the registry's own doing: the process is still tracked (it is
 * real), under the current generation, and stopped as unwanted.
 */
export function knownGen(ctx: Ctx, gen: number): number {
  if (gen <= ctx.state.gen) return gen;
  recordIgnored(ctx, `process reported for gen ${gen}, which does not exist (current gen ${ctx.state.gen})`);
  return ctx.state.gen;
}

/**
 * Adds a process; a PID already present must belong to a process whose exit we missed.
 * Returns the entry it replaced, if any, so the caller can finish with it.
 */
export function addProc(ctx: Ctx, pid: Pid, entry: Entry): Entry | null {
  const res = ctx.state.procs.insert(pid, entry);
  if (isOrphan(ctx.state, entry)) ctx.state.orphans += 1;
  if (res.ok) {
    ctx.state.procs = res.map;
    return null;
  }
  if (isOrphan(ctx.state, res.existing)) ctx.state.orphans -= 1;
  // The kernel reuses a PID only after its process is gone, so the old entry is dead.
  recordIgnored(
    ctx,
    `pid ${pid} was still registered to ${res.existing.kind} ${res.existing.name}; that process is gone (PID reused)`,
  );
  ctx.state.procs = ctx.state.procs.set(pid, entry);
  ctx.state.stopping = ctx.state.stopping.remove(pid).map;
  return res.existing;
}

export function replaceProc(ctx: Ctx, pid: Pid, entry: Entry): void {
  const before = ctx.state.procs.get(pid);
  if (before && isOrphan(ctx.state, before)) ctx.state.orphans -= 1;
  if (before && isOrphan(ctx.state, entry)) ctx.state.orphans += 1;
  ctx.state.procs = ctx.state.procs.update(pid, entry);
}

/**
 * Takes a process out of the registry: its entry, and whether a stop of it was in progress.
 * `removed` is `ctx.state.procs.remove(pid)` when the caller has it already (one descent of
 * the tree instead of two).
 */
export function removeProc(
  ctx: Ctx,
  pid: Pid,
  removed?: RemoveResult<Pid, Entry>,
): { entry: Entry; wasStopping: boolean } | undefined {
  const res = removed ?? ctx.state.procs.remove(pid);
  if (!res.removed) return undefined;
  ctx.state.procs = res.map;
  if (isOrphan(ctx.state, res.value)) ctx.state.orphans -= 1;
  if (ctx.state.stopping.size === 0) return { entry: res.value, wasStopping: false };
  const stop = ctx.state.stopping.remove(pid);
  ctx.state.stopping = stop.map;
  return { entry: res.value, wasStopping: stop.removed };
}

export function armTimer(ctx: Ctx, timer: TimerKey, at: number): void {
  ctx.effects.push({ do: 'arm-timer', timer, at });
}

export function cancelTimer(ctx: Ctx, timer: TimerKey | null): void {
  if (timer) ctx.effects.push({ do: 'cancel-timer', timer });
}

/**
 * Send the stop signal to a process group and arm the SIGKILL that follows its timeout. A
 * SIGCONT follows the stop signal (as systemd does): a stopped (SIGSTOP) process would
 * otherwise not act on it and wait out the whole timeout.
 */
export function beginStop(ctx: Ctx, pid: Pid, entry: Entry, signal: string, timeoutMs: number): void {
  const killAt = ctx.mono + timeoutMs;
  ctx.state.stopping = ctx.state.stopping.set(pid, { signal, since: ctx.mono, killAt });
  effect(ctx, { do: 'signal-group', pid, signal });
  if (signal !== 'SIGKILL' && signal !== 'SIGCONT')
    effect(ctx, { do: 'signal-group', pid, signal: 'SIGCONT' });
  armTimer(ctx, stopTimerOf(pid, entry), killAt);
}

export function isStopping(ctx: Ctx, pid: Pid): boolean {
  return ctx.state.stopping.has(pid);
}

export function stopTimerOf(pid: Pid, entry: Entry): TimerKey {
  return {
    kind: 'stop-timeout',
    pid,
    name: entry.name,
    gen: entry.gen,
    serial: entry.kind === 'service' ? entry.incarnation : entry.run,
  };
}
export function sameTimer(a: TimerKey | null, b: TimerKey): boolean {
  if (a === null || a.kind !== b.kind || a.name !== b.name || a.gen !== b.gen) return false;
  switch (b.kind) {
    case 'backoff':
      return (a as typeof b).incarnation === b.incarnation;
    case 'check-interval':
      return (a as typeof b).run === b.run;
    case 'check-timeout':
      return (a as typeof b).run === b.run && (a as typeof b).pid === b.pid;
    case 'stop-timeout':
      return (a as typeof b).serial === b.serial && (a as typeof b).pid === b.pid;
  }
}
