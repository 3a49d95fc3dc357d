import { isOrphan, type State } from './state.js';

/** One broken invariant of shared/DESIGN.md, said so a person can find it. */
export interface Violation {
  readonly invariant: 1 | 3 | 4 | 5;
  readonly message: string;
}

/**
 * Checks the registry invariants that a single state can show (DESIGN.md 1, 3, 4, 5).
 * Invariants 2 and 6 are about sequences (one outcome per run; replay = live state) and are
 * checked by replay --check and the property tests. O(n) in the number of processes.
 */
export function checkInvariants(state: State): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: Violation['invariant'], message: string) => out.push({ invariant, message });

  // 1. Every PID in the tree belongs to exactly one live incarnation or check run.
  for (const [pid, e] of state.procs.entries()) {
    if (e.gen > state.gen) v(3, `pid ${pid} carries gen ${e.gen}, newer than the current gen ${state.gen}`);
    if (isOrphan(state, e)) continue; // left by a crashed predecessor, awaiting its reaping
    const stopping = state.stopping.has(pid);
    if (e.kind === 'service') {
      const svc = state.services.get(e.name);
      const current = svc !== undefined && svc.pid === pid && svc.incarnation === e.incarnation;
      if (!current && !stopping)
        v(1, `pid ${pid} (${e.name}#${e.incarnation}) is neither the current incarnation nor being stopped`);
    } else {
      const chk = state.checks.get(e.name);
      const current = chk?.inFlight?.pid === pid && chk.inFlight.run === e.run;
      if (!current && !stopping)
        v(1, `pid ${pid} (check ${e.name} run ${e.run}) is neither the run in flight nor being stopped`);
    }
  }
  for (const pid of state.stopping.keys()) {
    if (!state.procs.has(pid)) v(1, `pid ${pid} is being stopped but is not in the tree`);
  }
  for (const svc of state.services.values()) {
    const running = svc.phase === 'running' || svc.phase === 'stopping';
    if (running !== (svc.pid !== null)) v(1, `service ${svc.name} is ${svc.phase} with pid ${svc.pid}`);
    if (svc.pid !== null) {
      const e = state.procs.get(svc.pid);
      if (e?.kind !== 'service' || e.name !== svc.name || e.incarnation !== svc.incarnation) {
        v(1, `service ${svc.name} names pid ${svc.pid}, which the tree does not hold for it`);
      }
    }
    if (svc.defGen > state.gen)
      v(3, `service ${svc.name} has a definition from gen ${svc.defGen} > ${state.gen}`);
    if ((svc.phase === 'backoff') !== (svc.timer !== null))
      v(3, `service ${svc.name} is ${svc.phase} with timer ${JSON.stringify(svc.timer)}`);
    // 4. The PID file names nothing or the live current incarnation.
    if (svc.pidFilePid !== null && svc.pidFilePid !== svc.pid)
      v(4, `service ${svc.name}'s PID file names ${svc.pidFilePid}, but its live pid is ${svc.pid}`);
    if (svc.desired === 'removed' && svc.phase !== 'starting' && svc.pid === null)
      v(3, `removed service ${svc.name} is still kept with nothing running`);
  }
  for (const chk of state.checks.values()) {
    const pid = chk.inFlight?.pid;
    if (pid != null) {
      const e = state.procs.get(pid);
      if (e?.kind !== 'check' || e.name !== chk.name || e.run !== chk.inFlight?.run)
        v(1, `check ${chk.name} has run in flight as pid ${pid}, which the tree does not hold for it`);
    }
    if (chk.removed && !chk.inFlight) v(3, `removed check ${chk.name} is kept with no run in flight`);
    if (chk.defGen > state.gen)
      v(3, `check ${chk.name} has a definition from gen ${chk.defGen} > ${state.gen}`);
  }
  // 5. A stopped supervisor has nothing left running.
  if (state.phase === 'stopped' && state.procs.size > 0)
    v(5, `supervisor stopped with ${state.procs.size} process(es) in the tree`);
  return out;
}
