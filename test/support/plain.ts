import type { State } from '../../src/core/state.js';

/** Everything in a state, as plain data, so two states compare with toEqual. */
export function plain(s: State): unknown {
  return {
    ...s,
    procs: [...s.procs.entries()],
    stopping: [...s.stopping.entries()],
    services: [...s.services.entries()],
    checks: [...s.checks.entries()],
  };
}
