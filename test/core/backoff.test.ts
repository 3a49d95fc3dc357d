import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitRestart, nextBackoffDelay, wasStable } from '../../src/core/backoff.js';
import type { BackoffDef, IntensityDef } from '../../src/config/types.js';

const b = (patch: Partial<BackoffDef> = {}): BackoffDef => ({
  initialMs: 100,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 60_000,
  ...patch,
});

/** Any backoff a valid config can hold, a zero initial delay included. */
const backoffArb: fc.Arbitrary<BackoffDef> = fc
  .record({
    initialMs: fc.integer({ min: 0, max: 1_000_000 }),
    extra: fc.integer({ min: 0, max: 10_000_000 }),
    factor: fc.double({ min: 1, max: 100, noNaN: true }),
    resetAfterMs: fc.nat(),
  })
  .map(({ initialMs, extra, factor, resetAfterMs }) => ({
    initialMs,
    maxMs: initialMs + extra,
    factor,
    resetAfterMs,
  }));

describe('nextBackoffDelay', () => {
  it('is initial × factor^n, rounded to the millisecond and capped at max', () => {
    expect([0, 1, 2, 3, 8, 9, 50].map((n) => nextBackoffDelay(b(), n))).toEqual([
      100, 200, 400, 800, 25_600, 30_000, 30_000,
    ]);
    expect(nextBackoffDelay(b({ factor: 1 }), 40)).toBe(100);
    expect(nextBackoffDelay(b({ factor: 1.5 }), 3)).toBe(338); // 337.5
    expect(nextBackoffDelay(b(), 5000)).toBe(30_000); // factor^n overflows to Infinity: still the cap
  });

  it('never exceeds max and never decreases as the exponent grows (property)', () => {
    fc.assert(
      fc.property(backoffArb, fc.integer({ min: 0, max: 3000 }), (def, n) => {
        const d = nextBackoffDelay(def, n);
        const next = nextBackoffDelay(def, n + 1);
        expect(Number.isSafeInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(Math.min(def.initialMs, def.maxMs));
        expect(d).toBeLessThanOrEqual(def.maxMs);
        expect(next).toBeGreaterThanOrEqual(d);
      }),
      { numRuns: 2000 },
    );
  });

  // BUG (src/core/backoff.ts:5-6): `0 * factor ** n` is `0 * Infinity` = NaN once factor^n
  // overflows (n >= 1024 for factor 2, n >= 155 for factor 100). A config may say
  // `backoff: { initial: 0ms }`, and a crash loop within a large maxRestarts reaches such n:
  // the fold then schedules a restart with delayMs NaN and arms its timer at NaN; the
  // restart-scheduled line is written with "delayMs":null, which decodeEvent refuses.
  it('a zero initial delay stays zero however many quick failures came before', () => {
    expect(nextBackoffDelay(b({ initialMs: 0, factor: 100 }), 155)).toBe(0);
    expect(nextBackoffDelay(b({ initialMs: 0 }), 1024)).toBe(0);
  });
});

describe('wasStable', () => {
  it('is true for an incarnation that lived at least resetAfter', () => {
    expect(wasStable(b({ resetAfterMs: 1000 }), 1000)).toBe(true);
    expect(wasStable(b({ resetAfterMs: 1000 }), 86_400_000)).toBe(true);
    expect(wasStable(b({ resetAfterMs: 1000 }), 999)).toBe(false);
  });

  it('is false when there was no uptime (the spawn failed)', () => {
    expect(wasStable(b({ resetAfterMs: 0 }), null)).toBe(false);
    expect(wasStable(b({ resetAfterMs: 0 }), 0)).toBe(true);
  });
});

describe('admitRestart (OTP-style intensity)', () => {
  it('forgets restarts older than the window', () => {
    expect(admitRestart({ count: 2, withinMs: 1000 }, [0, 500], 1200)).toEqual([500, 1200]);
    expect(admitRestart({ count: 2, withinMs: 1000 }, [300, 500], 1200)).toBeNull();
    expect(admitRestart({ count: 0, withinMs: 1000 }, [], 0)).toBeNull();
  });

  it('counts a restart exactly withinMs old as outside the window', () => {
    expect(admitRestart({ count: 1, withinMs: 1000 }, [200], 1200)).toEqual([1200]);
    expect(admitRestart({ count: 1, withinMs: 1000 }, [201], 1200)).toBeNull();
  });

  it('does not change the list it is given', () => {
    const recent = Object.freeze([100, 900]);
    expect(admitRestart({ count: 5, withinMs: 1000 }, recent, 1000)).toEqual([100, 900, 1000]);
    expect(recent).toEqual([100, 900]);
  });

  const limitArb: fc.Arbitrary<IntensityDef> = fc.record({
    count: fc.integer({ min: 0, max: 6 }),
    withinMs: fc.integer({ min: 1, max: 5000 }),
  });

  it('never admits more than count within any window, and refuses only then (property)', () => {
    fc.assert(
      fc.property(limitArb, fc.array(fc.integer({ min: 0, max: 1500 }), { maxLength: 60 }), (limit, gaps) => {
        let now = 1_000_000;
        let recent: readonly number[] = [];
        const admitted: number[] = [];
        const inWindow = (t: number) => admitted.filter((u) => u > t - limit.withinMs && u <= t).length;
        for (const gap of gaps) {
          now += gap;
          const res = admitRestart(limit, recent, now);
          if (res === null) {
            // Refused: the window already holds count restarts.
            expect(inWindow(now)).toBeGreaterThanOrEqual(limit.count);
            continue;
          }
          admitted.push(now);
          expect(res).toEqual(admitted.filter((u) => u > now - limit.withinMs));
          expect(inWindow(now)).toBeLessThanOrEqual(limit.count);
          recent = res;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
