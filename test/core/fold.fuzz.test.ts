import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NormalizedConfig } from '../../src/config/types.js';
import { verifyInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replay.js';
import { initialState } from '../../src/core/state.js';
import { step } from '../../src/core/step.js';
import { stamp } from '../../src/events/codec.js';
import type { Event, InputEvent, TimerKey } from '../../src/events/types.js';
import { RELOAD_POOL } from '../support/configs.js';
import { plain } from '../support/plain.js';

// Arbitrary inputs, not only the plausible ones the simulated world makes: PIDs, names,
// generations, incarnations and runs from small domains so they collide, in any order.
const pid = fc.integer({ min: 1, max: 12 });
const name = fc.constantFrom('web', 'db', 'worker', 'web_alive', 'slow', 'ghost');
const small = fc.integer({ min: 0, max: 6 });
const code = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null });
const signal = fc.option(fc.constantFrom('SIGTERM', 'SIGKILL', 'SIGSEGV'), { nil: null });
const timer: fc.Arbitrary<TimerKey> = fc.oneof(
  fc.record({ kind: fc.constant('backoff' as const), name, gen: small, incarnation: small }),
  fc.record({ kind: fc.constant('check-interval' as const), name, gen: small, run: small }),
  fc.record({ kind: fc.constant('check-timeout' as const), name, gen: small, run: small, pid }),
  fc.record({ kind: fc.constant('stop-timeout' as const), pid, name, gen: small, serial: small }),
);
const config: fc.Arbitrary<NormalizedConfig> = fc.constantFrom(...RELOAD_POOL);

const input: fc.Arbitrary<InputEvent> = fc.oneof(
  fc.record({
    type: fc.constant('supervisor-started' as const),
    pid,
    version: fc.constant('x'),
    bootId: fc.constantFrom(null, 'boot-a', 'boot-b'),
  }),
  fc.record({ type: fc.constant('supervisor-stopping' as const), reason: fc.constant('SIGTERM') }),
  fc.constant({ type: 'supervisor-stopped' as const }),
  fc.record({ type: fc.constant('config-loaded' as const), source: fc.constant('x'), config }),
  fc.record({ type: fc.constant('reload-requested' as const), source: fc.constant('SIGHUP') }),
  fc.record({ type: fc.constant('reload-failed' as const), reason: fc.constant('bad') }),
  fc.record({
    type: fc.constant('spawned' as const),
    name,
    gen: small,
    incarnation: small,
    pid,
    startTime: fc.constant(1),
    exe: fc.constantFrom(null, '/bin/x'),
  }),
  fc.record({
    type: fc.constant('spawn-failed' as const),
    name,
    gen: small,
    incarnation: small,
    error: fc.constant('E'),
  }),
  fc.record({
    type: fc.constant('check-started' as const),
    name,
    gen: small,
    run: small,
    pid,
    startTime: fc.constant(1),
    exe: fc.constantFrom(null, '/bin/x'),
  }),
  fc.record({
    type: fc.constant('check-start-failed' as const),
    name,
    gen: small,
    run: small,
    error: fc.constant('E'),
  }),
  fc.record({
    type: fc.constant('exited' as const),
    pid,
    code,
    signal,
    groupAlive: fc.boolean(),
    lastWords: fc.constant(null),
  }),
  fc.record({ type: fc.constant('group-exited' as const), pid }),
  fc.record({ type: fc.constant('timer-fired' as const), timer }),
  fc.record({
    type: fc.constant('stop-requested' as const),
    target: fc.constantFrom('service' as const, 'check' as const),
    name,
    source: fc.constant('socket'),
  }),
  fc.record({
    type: fc.constant('start-requested' as const),
    target: fc.constantFrom('service' as const, 'check' as const),
    name,
    source: fc.constant('socket'),
  }),
  fc.record({ type: fc.constant('restart-requested' as const), name, source: fc.constant('socket') }),
  fc.record({
    type: fc.constant('signal-requested' as const),
    name,
    signal: fc.constantFrom('SIGHUP', 'SIGUSR1'),
    source: fc.constant('socket'),
  }),
  fc.record({
    type: fc.constant('orphan-reaped' as const),
    pid,
    outcome: fc.constantFrom(
      'signalled' as const,
      'gone' as const,
      'not-ours' as const,
      'killed' as const,
      'pid-reused' as const,
    ),
    detail: fc.constant(null),
  }),
);

// Invariants 1, 3 and 4 are the fold's own bookkeeping and hold whatever the input. Invariant
// 5 (nothing runs after a stop) is a fact about the world: an input sequence that reports a
// live process after `supervisor-stopped` describes a violation, and the fold reports it.
const bookkeeping = (vs: { invariant: number }[]) => vs.filter((v) => v.invariant !== 5);

describe('the fold on arbitrary input', () => {
  it('never throws, keeps its bookkeeping invariants, and replays to the same state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(input, fc.integer({ min: 0, max: 5000 })), { maxLength: 120 }),
        (steps) => {
          let state = initialState();
          let time = 1_000_000;
          const log: Event[] = [];
          for (const [body, dt] of steps) {
            time += dt;
            const event = stamp(body, log.length + 1, time, time);
            log.push(event);
            const res = step(state, event); // must not throw
            state = res.state;
            for (const r of res.records) log.push(stamp(r, log.length + 1, time, time));
            expect(bookkeeping(verifyInvariants(state))).toEqual([]);
          }
          const r = replay(log, { check: true });
          expect(r.problems.filter((p) => !p.message.startsWith('invariant 5:'))).toEqual([]);
          expect(plain(r.state)).toEqual(plain(state));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 3000) },
    );
  });
});
