import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toSnapshot } from '../../src/core/snapshot.js';
import { initialState, type State } from '../../src/core/state.js';
import { step } from '../../src/core/step.js';
import { stamp } from '../../src/events/codec.js';
import { EVENT_KINDS, type EventBody, type EventType, type TimerKey } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';
import { act, actionArb } from '../support/actions.js';
import { chk, makeConfig, RELOAD_POOL, svc } from '../support/configs.js';
import { SAMPLE_EVENTS } from '../support/events.js';
import { plain } from '../support/plain.js';
import { exits, pidOf, runFinishes } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, scenario } from '../support/world.js';

const config = makeConfig({
  services: { web: svc({ stopTimeout: '2s' }), db: svc({ restart: 'on-failure' }) },
  checks: { alive: chk({ interval: '5s', timeout: '1s', restarts: 'web' }) },
});

/** A supervisor with everything running: two services and a check run in flight. */
function running(): World {
  const w = scenario([config]);
  deliverAll(w, 'spawned', 'check-started');
  return w;
}

/** Fold `body` as the next input of `w`, without handing it to the world. */
function stepNext(w: World, body: EventBody) {
  const event = stamp(body, w.seq + 1, w.time, w.time);
  return { before: w.state, event, ...step(w.state, event) };
}

/** Every field of `after` is the very same value as in `before`, except seq. */
function expectUnchangedButSeq(before: State, after: State, seq: number): void {
  expect(after.seq).toBe(seq);
  for (const key of Object.keys(before) as (keyof State)[]) {
    if (key !== 'seq') expect(after[key], key).toBe(before[key]);
  }
}

/** Folding `body` now records it as ignored for `reason` and does nothing else. */
function expectIgnored(w: World, body: EventBody, reason: string): void {
  const { before, event, state, effects, records } = stepNext(w, body);
  expect(records).toEqual([{ type: 'event-ignored', ref: event.seq, reason }]);
  expect(effects).toEqual([]);
  expectUnchangedButSeq(before, state, event.seq);
}

describe('step: the dispatcher', () => {
  it("folding a snapshot makes the state the one it holds, at the snapshot's seq", () => {
    const w = running();
    const snap = JSON.parse(JSON.stringify(toSnapshot(w.state))) as Record<string, unknown>;
    const res = step(
      initialState(),
      stamp({ type: 'snapshot', logId: null, cause: null, state: snap }, 77, 1, 1),
    );
    expect(plain(res.state)).toEqual(plain({ ...w.state, seq: 77 }));
    expect(res.effects).toEqual([]);
    expect(res.records).toEqual([]);
  });

  it('stamps the new state with the seq of the event folded into it', () => {
    const res = step(
      initialState(),
      stamp({ type: 'supervisor-started', pid: 1, version: 'x', bootId: null }, 41, 5, 5),
    );
    expect(res.state.seq).toBe(41);
    expect(res.state.phase).toBe('starting');
  });

  const notInputs = (Object.keys(EVENT_KINDS) as EventType[]).filter(
    (t) => EVENT_KINDS[t] === 'outcome' || EVENT_KINDS[t] === 'decision',
  );

  it.each(notInputs)('folding a %s (an outcome or decision) changes nothing but seq', (type) => {
    const w = running();
    const { before, event, state, effects, records } = stepNext(w, SAMPLE_EVENTS[type]);
    expect(effects).toEqual([]);
    expect(records).toEqual([]);
    expectUnchangedButSeq(before, state, event.seq);
  });

  it('ignores the exit of a PID it does not know, and a second exit of the same PID', () => {
    const w = running();
    expectIgnored(
      w,
      { type: 'exited', pid: 4242, code: 0, signal: null, groupAlive: false, lastWords: null },
      'pid 4242 is not registered (unknown, or its exit was already handled)',
    );
    const db = pidOf(w, 'db');
    exits(w, db, 0);
    expect(w.state.procs.has(db)).toBe(false);
    expectIgnored(
      w,
      { type: 'exited', pid: db, code: 0, signal: null, groupAlive: false, lastWords: null },
      `pid ${db} is not registered (unknown, or its exit was already handled)`,
    );
  });

  describe('a timer counts only if the state still holds what it was armed for', () => {
    it('backoff: acted on while the service waits for it, ignored once a stop cancelled it', () => {
      const w = running();
      exits(w, pidOf(w, 'web'), 1);
      const timer = w.state.services.get('web')?.timer as TimerKey;
      expect(timer).toMatchObject({ kind: 'backoff', name: 'web', incarnation: 2 });
      // Current: the restart is requested.
      const current = stepNext(w, { type: 'timer-fired', timer });
      expect(current.records).toEqual([
        { type: 'spawn-requested', name: 'web', gen: 1, incarnation: 2, reason: 'restart' },
      ]);
      // The stop cancels it, but the firing was already on its way.
      w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
      expectIgnored(w, { type: 'timer-fired', timer }, 'stale backoff timer');
    });

    it('check-interval: acted on once, ignored when the same firing comes again', () => {
      const w = running();
      runFinishes(w, 'alive', 0);
      fireTimer(w, 'check-interval');
      const fired = w.pending.at(-1);
      if (fired?.type !== 'timer-fired') throw new Error('no timer queued');
      deliverFirst(w, 'timer-fired');
      expect(w.lastRecords).toEqual([{ type: 'check-run-requested', name: 'alive', gen: 1, run: 2 }]);
      expectIgnored(w, fired, 'stale check-interval timer');
    });

    it('check-timeout: acted on while the run lives, ignored once the run finished', () => {
      const w = running();
      const pid = w.state.checks.get('alive')?.inFlight?.pid as number;
      const timer: TimerKey = { kind: 'check-timeout', name: 'alive', gen: 1, run: 1, pid };
      expect(w.timers.has(`check-timeout/alive/1/1/${pid}`)).toBe(true);
      expect(stepNext(w, { type: 'timer-fired', timer }).records).toEqual([
        { type: 'check-timed-out', name: 'alive', gen: 1, run: 1, pid },
      ]);
      runFinishes(w, 'alive', 0);
      expectIgnored(
        w,
        { type: 'timer-fired', timer },
        'stale check-timeout timer (the run already finished)',
      );
    });

    it('stop-timeout: SIGKILL while the process is being stopped, ignored once it exited', () => {
      const w = running();
      const pid = pidOf(w, 'web');
      w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
      const timer: TimerKey = { kind: 'stop-timeout', pid, name: 'web', gen: 1, serial: 1 };
      expect(w.timers.get(`stop-timeout/${pid}/web/1/1`)).toEqual({ key: timer, at: w.time + 2000 });
      expect(stepNext(w, { type: 'timer-fired', timer }).effects).toEqual([
        { do: 'signal-group', pid, signal: 'SIGKILL' },
      ]);
      exits(w, pid, null, 'SIGTERM');
      expectIgnored(
        w,
        { type: 'timer-fired', timer },
        'stale stop-timeout timer (the process already exited)',
      );
    });

    it('a timer of another generation or incarnation is stale even when its name matches', () => {
      const w = running();
      exits(w, pidOf(w, 'web'), 1);
      const timer = w.state.services.get('web')?.timer as Extract<TimerKey, { kind: 'backoff' }>;
      expectIgnored(w, { type: 'timer-fired', timer: { ...timer, incarnation: 3 } }, 'stale backoff timer');
      expectIgnored(w, { type: 'timer-fired', timer: { ...timer, gen: 2 } }, 'stale backoff timer');
    });
  });

  it('never changes the state it is given, nor any earlier state (property over random sessions)', () => {
    const snapshot = (s: State) => JSON.stringify(plain(s));
    fc.assert(
      fc.property(
        fc.array(actionArb, { minLength: 1, maxLength: 150 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.1 });
          w.start();
          for (const x of actions) act(w, x);
          w.drain();
          let state = initialState();
          const seen: [State, string][] = [];
          for (const event of w.log) {
            const before = snapshot(state);
            const next = step(state, event).state;
            expect(snapshot(state)).toBe(before);
            seen.push([state, before]);
            state = next;
          }
          for (const [s, before] of seen) expect(snapshot(s)).toBe(before);
          // The same run as the world's (whose state carries the seq of its last input or outcome).
          expect(plain({ ...state, seq: w.state.seq })).toEqual(plain(w.state));
        },
      ),
      { numRuns: 60 },
    );
  });
});
