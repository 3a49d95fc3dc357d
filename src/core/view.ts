import { isOrphan, type ServicePhase, type State } from './state.js';

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
    lastExit: { code: number | null; signal: string | null; error: string | null; time: number } | null;
    reason: string | null;
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
    } | null;
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
    lastExit: s.lastExit && {
      code: s.lastExit.code,
      signal: s.lastExit.signal,
      error: s.lastExit.error,
      time: s.lastExit.time,
    },
    reason: s.reason,
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
    },
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
