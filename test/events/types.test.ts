import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA, EVENT_TYPES } from '../../src/events/schema.js';
import { EVENT_KINDS, isDecision, type TimerKey, timerId } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';
import { act, actionArb } from '../support/actions.js';
import { RELOAD_POOL } from '../support/configs.js';
import { SAMPLE_EVENTS, SAMPLES } from '../support/events.js';

const num = fc.nat();
const name = fc.string({ maxLength: 6, unit: fc.constantFrom('a', 'b', '/', '1', '-') });
const timerArb: fc.Arbitrary<TimerKey> = fc.oneof(
  fc.record({ kind: fc.constant('backoff' as const), name, gen: num, incarnation: num }),
  fc.record({ kind: fc.constant('check-interval' as const), name, gen: num, run: num }),
  fc.record({ kind: fc.constant('check-timeout' as const), name, gen: num, run: num, pid: num }),
  fc.record({ kind: fc.constant('stop-timeout' as const), pid: num, name, gen: num, serial: num }),
);

/** A key's identity, field by field, whatever order its properties were written in. */
const identity = (t: TimerKey) =>
  JSON.stringify(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

describe('timerId', () => {
  it('gives distinct keys of any kinds distinct ids, even with names containing "/" (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(timerArb, { selector: identity, minLength: 2, maxLength: 30 }), (keys) => {
        expect(new Set(keys.map(timerId)).size).toBe(keys.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives equal keys the same id, whatever the order of their fields', () => {
    fc.assert(
      fc.property(timerArb, (t) => {
        const reordered = Object.fromEntries(Object.entries(t).reverse()) as TimerKey;
        expect(timerId(reordered)).toBe(timerId(t));
      }),
    );
    expect(timerId({ kind: 'stop-timeout', pid: 12, name: 'web', gen: 3, serial: 4 })).toBe(
      'stop-timeout/12/web/3/4',
    );
  });

  it('tells apart keys that differ in one field only', () => {
    const base: TimerKey = { kind: 'check-timeout', name: 'alive', gen: 1, run: 2, pid: 3 };
    const ids = [
      base,
      { ...base, name: 'alive2' },
      { ...base, gen: 2 },
      { ...base, run: 3 },
      { ...base, pid: 4 },
      { kind: 'check-interval', name: 'alive', gen: 1, run: 2 },
    ].map((t) => timerId(t as TimerKey));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('EVENT_KINDS', () => {
  it('classifies exactly the event types the log schema knows', () => {
    expect(Object.keys(EVENT_KINDS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('agrees with the fields of each type: the schema checks what the TypeScript type declares', () => {
    for (const type of EVENT_TYPES) {
      const declared = Object.keys(SAMPLE_EVENTS[type]).filter((k) => k !== 'type');
      expect(Object.keys(EVENT_SCHEMA[type]).sort(), type).toEqual(declared.sort());
    }
  });

  it('isDecision is true exactly for the types classified as decisions', () => {
    for (const e of SAMPLES) expect(isDecision(e), e.type).toBe(EVENT_KINDS[e.type] === 'decision');
    expect(SAMPLES.filter(isDecision).map((e) => e.type)).toContain('event-ignored');
    expect(SAMPLES.filter(isDecision).map((e) => e.type)).not.toContain('spawned');
  });

  it('matches what the fold does: it is stepped on inputs and records only decisions (property)', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.1 });
          w.start();
          for (const x of actions) {
            act(w, x);
            const next = w.pending[0];
            if (!next || !w.deliverNext()) continue;
            expect(EVENT_KINDS[next.type], next.type).toBe('input');
            for (const r of w.lastRecords) expect(EVENT_KINDS[r.type], r.type).toBe('decision');
          }
          const outcomes = new Set(w.log.filter((e) => EVENT_KINDS[e.type] === 'outcome').map((e) => e.type));
          for (const t of outcomes)
            expect(['signal-sent', 'pidfile-written', 'pidfile-removed']).toContain(t);
        },
      ),
      { numRuns: 200 },
    );
  });
});
