/** Shared helpers for the benchmarks: timing, medians, and a side-by-side table. */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentSession } from '../src/shell/bench/session.js';

/**
 * Run before the run's processes are killed on SIGINT/SIGTERM/EPIPE: e.g. stop a procreg
 * writing into a temp dir. The runner's session (src/shell/bench/session.ts) calls it.
 */
export function onInterrupt(hook: () => Promise<void>): () => void {
  return currentSession()?.onInterrupt(hook) ?? (() => false);
}

/**
 * A temp dir inside the run's temp root (its TMPDIR), removed when the benchmarks exit, also
 * on SIGINT/SIGTERM/EPIPE (generated logs run to GBs).
 */
export function benchTempDir(prefix: string): string {
  return currentSession()?.tempDir(prefix) ?? mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Where a generated input kept between runs lives (the replay section's 1M-event log): the
 * system's temp dir, not the run's temp root, which goes at the end of every run.
 */
export function benchCacheDir(): string {
  return currentSession()?.cacheDir ?? tmpdir();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Seconds taken by fn, high resolution. */
export function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The same figures and tables as `procreg bench` prints (src/shell/bench/results.ts). */
export { fmtRate, table } from '../src/shell/bench/results.js';
export { mulberry32 as rng } from '../src/sim/world.js';

/** One figure of a bench: the row `procreg bench` reports too (its JSON and --compare read it). */
export type { BenchRow as Result } from '../src/shell/bench/results.js';

/** `a / b` as printed in the ratio column. */
export function ratioOf(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** A loopback port nothing listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
