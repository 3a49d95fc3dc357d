import type { Pid } from '../events/types.js';
import { holdBack } from './dependencies.js';
import { type CheckStatus, type Entry, isOrphan, type ServiceStatus, type State } from './state.js';

/** One broken invariant of docs/invariants.md, said so a person can find it. */
export interface Violation {
  readonly invariant: 1 | 3 | 4 | 5;
  readonly message: string;
}

type Report = (invariant: Violation['invariant'], message: string) => void;

/**
 * Verifies the registry invariants that a single state can show (docs/invariants.md 1, 3, 4, 5).
 * Invariants 2 and 6 are about sequences (one outcome per run; replay = live state) and are
 * checked by replay --check and the property tests. O(n) in the number of processes.
 */
export function verifyInvariants(state: State): Violation[] {
  const out: Violation[] = [];
  const v: Report = (invariant, message) => out.push({ invariant, message });
  let orphans = 0;
  for (const [pid, e] of state.procs.entries()) {
    verifyProc(state, pid, e, v);
    if (isOrphan(state, e)) orphans++;
  }
  if (orphans !== state.orphans)
    v(1, `the state counts ${state.orphans} processes left by a predecessor, the tree holds ${orphans}`);
  for (const pid of state.stopping.keys()) verifyStopping(state, pid, v);
  for (const svc of state.services.values()) verifyService(state, svc, v);
  for (const chk of state.checks.values()) verifyCheck(state, chk, v);
  verifySupervisor(state, v);
  return out;
}

/**
 * The same invariants for the processes and names an event touched only: what replay --check
 * runs after each event, with a full verifyInvariants sweep now and then. Everything else in
 * a persistent state is the very same objects as before the event.
 */
export function verifyInvariantsOf(state: State, pids: Iterable<Pid>, names: Iterable<string>): Violation[] {
  const out: Violation[] = [];
  const v: Report = (invariant, message) => out.push({ invariant, message });
  for (const pid of pids) {
    const e = state.procs.get(pid);
    if (e) verifyProc(state, pid, e, v);
    if (state.stopping.has(pid)) verifyStopping(state, pid, v);
  }
  for (const name of names) {
    const svc = state.services.get(name);
    if (svc) verifyService(state, svc, v);
    const chk = state.checks.get(name);
    if (chk) verifyCheck(state, chk, v);
  }
  verifySupervisor(state, v);
  return out;
}

/** 1. Every PID in the tree belongs to exactly one live incarnation or check run. */
function verifyProc(state: State, pid: Pid, e: Entry, v: Report): void {
  if (e.gen > state.gen) v(3, `pid ${pid} carries gen ${e.gen}, newer than the current gen ${state.gen}`);
  if (isOrphan(state, e)) return; // left by a crashed predecessor, awaiting its reaping
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

function verifyStopping(state: State, pid: Pid, v: Report): void {
  if (!state.procs.has(pid)) v(1, `pid ${pid} is being stopped but is not in the tree`);
}

function verifyService(state: State, svc: ServiceStatus, v: Report): void {
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
  if ((svc.phase === 'backoff') !== (svc.timer !== null)) {
    v(3, `service ${svc.name} is ${svc.phase} with timer ${JSON.stringify(svc.timer)}`);
  }
  // 4. The PID file names nothing or the live current incarnation.
  if (svc.pidFile !== null && svc.pidFile.pid !== svc.pid) {
    v(4, `service ${svc.name}'s PID file names ${svc.pidFile.pid}, but its live pid is ${svc.pid}`);
  }
  // A service waits only while something holds it back (a predecessor's process, a dependency).
  if (svc.phase === 'waiting' && state.phase === 'running' && holdBack(state, svc.name, svc.def) === null)
    v(3, `service ${svc.name} is waiting, but nothing holds it back`);
  if (svc.desired === 'removed' && svc.phase !== 'starting' && svc.pid === null) {
    v(3, `removed service ${svc.name} is still kept with nothing running`);
  }
}

function verifyCheck(state: State, chk: CheckStatus, v: Report): void {
  const pid = chk.inFlight?.pid;
  if (pid != null) {
    const e = state.procs.get(pid);
    if (e?.kind !== 'check' || e.name !== chk.name || e.run !== chk.inFlight?.run) {
      v(1, `check ${chk.name} has run in flight as pid ${pid}, which the tree does not hold for it`);
    }
  }
  if (chk.removed && !chk.inFlight) v(3, `removed check ${chk.name} is kept with no run in flight`);
  if (chk.defGen > state.gen)
    v(3, `check ${chk.name} has a definition from gen ${chk.defGen} > ${state.gen}`);
}

/** 5. A stopped supervisor has nothing left running. */
function verifySupervisor(state: State, v: Report): void {
  if (state.phase === 'stopped' && state.procs.size > 0)
    v(5, `supervisor stopped with ${state.procs.size} process(es) in the tree`);
}
