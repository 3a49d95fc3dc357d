import { nextBackoffDelay } from './backoff.js';
import { isOrphan, type ServicePhase, type ServiceStatus, type State } from './state.js';

/** The registry as `status --json` and `replay --json` print it. */
export interface RegistryView {
  readonly seq: number;
  readonly generation: number;
  readonly phase: State['phase'];
  readonly services: readonly {
    name: string;
    state: ServicePhase;
    pid: number | null;
    incarnation: number;
    restarts: number;
    generation: number;
    startedAt: number | null;
    /** Monotonic ms the current incarnation started (uptime = now - this, by the supervisor's monotonic clock). */
    startedMono: number | null;
    /** How its last incarnation ended: wall time, and how long it had run (null: it never started). */
    lastExit: {
      code: number | null;
      signal: string | null;
      error: string | null;
      time: number;
      uptimeMs: number | null;
    } | null;
    reason: string | null;
    /** What the operator or the config wants: up, down (stopped by an operator), removed (by a reload). */
    desired: 'up' | 'down' | 'removed';
    /** Wall time it entered its state. */
    since: number;
    /** maxRestarts: the monotonic times of the restarts that still count, the window and the limit. */
    restartWindow: { recent: readonly number[]; withinMs: number; max: number };
    /** In backoff: the monotonic ms its next start is due at; null otherwise. */
    nextStartMono: number | null;
  }[];
  readonly checks: readonly {
    name: string;
    healthy: boolean | null;
    run: number;
    inFlight: number | null;
    lastResult: {
      ok: boolean;
      code: number | null;
      signal: string | null;
      timedOut: boolean;
      durationMs: number;
      /** Wall time it finished. */
      time: number;
    } | null;
    /** Paused by an operator (procreg stop <check>). */
    paused: boolean;
  }[];
  readonly processes: readonly {
    pid: number;
    name: string;
    kind: 'service' | 'check';
    generation: number;
    orphan: boolean;
    /** A stop signal was sent; SIGKILL follows at its stop timeout. */
    stopping: boolean;
  }[];
}

/** The registry as people and tools see it; `seq` is the log position it stands at (default: the state's). */
export function registryView(state: State, seq: number = state.seq): RegistryView {
  const byName = <T extends { name: string }>(xs: Iterable<T>): T[] =>
    [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const services = byName(state.services.values()).map((s) => ({
    name: s.name,
    state: s.phase,
    pid: s.pid,
    incarnation: s.incarnation,
    restarts: s.restarts,
    generation: s.defGen,
    startedAt: s.pid === null ? null : s.startedAt,
    startedMono: s.pid === null ? null : s.startedMono,
    lastExit: s.lastExit && {
      code: s.lastExit.code,
      signal: s.lastExit.signal,
      error: s.lastExit.error,
      time: s.lastExit.time,
      uptimeMs: s.lastExit.uptimeMs,
    },
    reason: s.reason,
    desired: s.desired,
    since: s.phaseSince,
    restartWindow: {
      recent: s.recentRestarts,
      withinMs: s.def.maxRestarts.withinMs,
      max: s.def.maxRestarts.count,
    },
    nextStartMono: backoffDue(s),
  }));
  const checks = byName(state.checks.values()).map((c) => ({
    name: c.name,
    healthy: c.healthy,
    run: c.run,
    inFlight: c.inFlight?.pid ?? null,
    lastResult: c.lastResult && {
      ok: c.lastResult.ok,
      code: c.lastResult.code,
      signal: c.lastResult.signal,
      timedOut: c.lastResult.timedOut,
      durationMs: c.lastResult.durationMs,
      time: c.lastResult.time,
    },
    paused: c.paused,
  }));
  const processes = [...state.procs.entries()].map(([pid, e]) => ({
    pid,
    name: e.name,
    kind: e.kind,
    generation: e.gen,
    orphan: isOrphan(state, e),
    stopping: state.stopping.has(pid),
  }));
  return { seq, generation: state.gen, phase: state.phase, services, checks, processes };
}

/**
 * When a service in backoff starts again (monotonic ms): its backoff timer was armed at the
 * exit for nextBackoffDelay(backoff, quickFailures - 1), the exponent before the exit counted
 * (services.ts, the `backoff` decision; test/core/view.test.ts holds the two together).
 */
export function backoffDue(s: ServiceStatus): number | null {
  if (s.phase !== 'backoff' || s.lastExit === null) return null;
  return s.lastExit.mono + nextBackoffDelay(s.def.backoff, Math.max(0, s.quickFailures - 1));
}
