import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timerId } from '../../src/events/timer-id.js';
import type { TimerKey } from '../../src/events/types.js';

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
