import type { World } from '../../src/sim/world.js';
import { deliverAll, deliverFirst, fireTimer } from './world.js';

/** PID of the live current incarnation of service `name`; throws when there is none. */
export function pidOf(w: World, name: string): number {
  const pid = w.state.services.get(name)?.pid;
  if (pid == null) throw new Error(`${name} is not running`);
  return pid;
}

/** The kernel reports that `pid` exited: it leaves the world and the exit is folded now. */
export function exits(w: World, pid: number, code: number | null = 1, signal: string | null = null): void {
  w.live.delete(pid);
  w.deliver({ type: 'exited', pid, code, signal, groupAlive: false, lastWords: null });
}

/** Let the run in flight of check `name` finish with `code` (it must have been requested). */
export function runFinishes(w: World, name: string, code: number): void {
  deliverAll(w, 'check-started');
  const pid = w.state.checks.get(name)?.inFlight?.pid;
  if (pid == null) throw new Error(`no run of ${name} in flight`);
  w.live.delete(pid);
  w.pending.push({ type: 'exited', pid, code, signal: null, groupAlive: false, lastWords: null });
  deliverFirst(w, 'exited', (e) => e.pid === pid);
}

/** The next check-interval timer fires and is handled. */
export function nextRun(w: World): void {
  fireTimer(w, 'check-interval');
  deliverFirst(w, 'timer-fired');
}
