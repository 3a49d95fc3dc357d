import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replay.js';
import { initialState, isOrphan, type State } from '../../src/core/state.js';
import { step } from '../../src/core/step.js';
import { World } from '../../src/sim/world.js';
import { RELOAD_POOL } from '../support/configs.js';
import { plain } from '../support/plain.js';

type Action =
  | { a: 'deliver' }
  | { a: 'timer' }
  | { a: 'exit'; pick: number; how: 'clean' | 'fail' | 'signal' }
  | { a: 'reload' }
  | { a: 'reload-storm'; n: number }
  | { a: 'unknown-exit'; pid: number }
  | { a: 'duplicate-exit'; pick: number }
  | { a: 'stale-timer'; pick: number }
  | { a: 'stop'; pick: number }
  | { a: 'start'; pick: number }
  | { a: 'crash' }
  | { a: 'advance'; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ a: 'deliver' as const }) },
  { weight: 4, arbitrary: fc.constant({ a: 'timer' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      a: fc.constant('exit' as const),
      pick: fc.nat(),
      how: fc.constantFrom('clean' as const, 'fail' as const, 'signal' as const),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ a: 'reload' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ a: fc.constant('reload-storm' as const), n: fc.integer({ min: 2, max: 6 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ a: fc.constant('unknown-exit' as const), pid: fc.integer({ min: 1, max: 99 }) }),
  },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('duplicate-exit' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('stale-timer' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('stop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('start' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ a: 'crash' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ a: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  },
);

const NAMES = ['web', 'db', 'worker', 'ghost'];

function act(w: World, x: Action): void {
  switch (x.a) {
    case 'deliver':
      w.deliverNext();
      return;
    case 'timer':
      w.fireNextTimer();
      return;
    case 'exit':
      w.exitProcess(x.pick, x.how);
      return;
    case 'reload':
      w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
      return;
    case 'reload-storm':
      for (let i = 0; i < x.n; i++) w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
      return;
    case 'unknown-exit':
      w.pending.push({
        type: 'exited',
        pid: x.pid,
        code: 0,
        signal: null,
        groupAlive: false,
        lastWords: null,
      });
      return;
    case 'duplicate-exit': {
      const pid = w.exitedPids[x.pick % Math.max(1, w.exitedPids.length)];
      if (pid !== undefined)
        w.pending.push({ type: 'exited', pid, code: 1, signal: null, groupAlive: false, lastWords: null });
      return;
    }
    case 'stale-timer': {
      const key = w.firedTimers[x.pick % Math.max(1, w.firedTimers.length)];
      if (key) w.pending.push({ type: 'timer-fired', timer: key });
      return;
    }
    case 'stop':
      w.pending.push({
        type: 'stop-requested',
        target: 'service',
        name: NAMES[x.pick % NAMES.length] as string,
        source: 'test',
      });
      return;
    case 'start':
      w.pending.push({
        type: 'start-requested',
        target: 'service',
        name: NAMES[x.pick % NAMES.length] as string,
        source: 'test',
      });
      return;
    case 'crash': {
      // The supervisor dies: queued inputs are lost with it, its children live on. The shell
      // logs a spawn's outcome in the same tick as the fork, so those are never lost.
      const outcomes = w.pending.filter((e) => e.type === 'spawned' || e.type === 'check-started');
      w.pending.length = 0;
      for (const e of outcomes) w.deliver(e);
      w.timers.clear();
      w.start();
      return;
    }
    case 'advance':
      w.advance(x.ms);
      return;
  }
}

/** PID files on the model disk name only live current incarnations (or orphans not yet reaped). */
function pidFilesAreTrue(w: World): string[] {
  const bad: string[] = [];
  for (const [path, pid] of w.files) {
    const e = w.state.procs.get(pid);
    if (e?.kind !== 'service') {
      bad.push(`${path} names ${pid}, which is not a registered service process`);
      continue;
    }
    if (isOrphan(w.state, e)) continue;
    const svc = w.state.services.get(e.name);
    if (!svc || svc.pid !== pid) bad.push(`${path} names ${pid}, not the current incarnation of ${e.name}`);
  }
  return bad;
}

describe('the fold under random event sequences', () => {
  it('keeps every invariant after every step, and replay rebuilds the identical state', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { minLength: 1, maxLength: 250 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.05, lingering: 0.15 });
          w.start();
          for (const x of actions) {
            act(w, x);
            expect(verifyInvariants(w.state)).toEqual([]);
            expect(pidFilesAreTrue(w)).toEqual([]);
          }
          w.drain();
          expect(verifyInvariants(w.state)).toEqual([]);
          // The tree holds exactly the processes that are alive in the world.
          expect(w.state.procs.keys()).toEqual([...w.live.keys()].sort((a, b) => a - b));

          // Each check run yields at most one outcome (invariant 2).
          const outcomes = new Map<string, number>();
          for (const e of w.log) {
            if (e.type !== 'check-finished') continue;
            const k = `${e.name}/gen ${e.gen}/run ${e.run}`; // runs are numbered afresh per instance; gens never repeat
            outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
          }
          for (const [k, n] of outcomes) expect(n, k).toBe(1);

          // Invariant 6: the log replays to the same state, and every logged decision is re-derived.
          const r = replay(w.log, { check: true });
          expect(r.problems).toEqual([]);
          expect(plain(r.state)).toEqual(plain(w.state));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('stops cleanly from any point: every process gone, PID files gone, exit effect once quiet', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed });
          w.start();
          for (const x of actions) act(w, x);
          w.pending.push({ type: 'supervisor-stopping', reason: 'SIGTERM' });
          // Stopped processes die of their signal; stop timeouts escalate to SIGKILL.
          for (let guard = 0; guard < 5000 && !(w.exitRequested && w.pending.length === 0); guard++) {
            if (w.deliverNext()) continue;
            const signalled = [...w.live.values()].findIndex((p) => p.signalled !== null);
            if (signalled >= 0) w.exitProcess(signalled, 'signal');
            else if (!w.fireNextTimer()) break;
          }
          expect(w.exitRequested).toBe(true);
          w.drain();
          w.deliver({ type: 'supervisor-stopped' });
          expect(w.live.size).toBe(0);
          expect(w.state.procs.size).toBe(0);
          expect(w.files.size).toBe(0);
          expect(verifyInvariants(w.state)).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
  });
  it('never changes the state it is given, and stamps phaseSince exactly when a phase changes', () => {
    // The step copies a status once and stamps a fresh copy in place (putFresh): a copy the
    // state it was given still held would show here as a changed earlier state.
    const json = (s: State) => JSON.stringify(plain(s));
    fc.assert(
      fc.property(
        fc.array(actionArb, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.05, lingering: 0.15 });
          w.start();
          for (const x of actions) act(w, x);
          w.drain();
          let s = initialState();
          for (const e of w.log) {
            const before = json(s);
            const next = step(s, e).state;
            expect(json(s)).toBe(before);
            for (const [name, now] of next.services.entries()) {
              const was = s.services.get(name);
              if (was === undefined || e.type === 'snapshot') continue;
              if (now.phase !== was.phase) expect(now.phaseSince, `${name} ${e.type}`).toBe(e.time);
              else expect([was.phaseSince, e.time]).toContain(now.phaseSince);
            }
            s = next;
          }
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});
