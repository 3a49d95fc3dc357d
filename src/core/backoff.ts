import type { BackoffDef, IntensityDef } from '../config/types.js';

/** Delay before the next restart after `quickFailures` consecutive short-lived incarnations. */
export function nextBackoffDelay(b: BackoffDef, quickFailures: number): number {
  if (b.initialMs === 0) return 0; // 0 × factor^n, also once factor^n has overflowed to Infinity
  const raw = b.initialMs * b.factor ** quickFailures;
  return Number.isFinite(raw) ? Math.min(b.maxMs, Math.round(raw)) : b.maxMs;
}

/** An incarnation that lived at least resetAfter was stable: the backoff starts over. */
export function wasStable(b: BackoffDef, uptimeMs: number | null): boolean {
  return uptimeMs !== null && uptimeMs >= b.resetAfterMs;
}

/**
 * OTP-style restart intensity, counting every restart (PM2 #2584 and supervisor #405 are
 * about limits that count only "unstable" ones): returns the restart times that still
 * count including this one, or null when this restart would exceed the limit.
 */
export function admitRestart(limit: IntensityDef, recent: readonly number[], now: number): number[] | null {
  const windowStart = now - limit.withinMs;
  let n = 0;
  for (const t of recent) if (t > windowStart) n++;
  if (n >= limit.count) return null;
  // Sized exactly: the array stays in the status until the next exit.
  const kept = new Array<number>(n + 1);
  let i = 0;
  for (const t of recent) if (t > windowStart) kept[i++] = t;
  kept[n] = now;
  return kept;
}
