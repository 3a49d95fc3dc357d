import { describe, expect, it } from 'vitest';
import {
  BURST,
  GET,
  INSERT,
  PID_MAX,
  REMOVE,
  WORKLOADS,
  type Workload,
  workload,
} from '../../../src/shell/bench/tree/workloads.js';

/** Replays `w` on a Set: every get and remove names a live PID, every insert a free one. */
function replay(w: Workload): { live: Set<number>; inserted: number[] } {
  const live = new Set(w.initial);
  const inserted: number[] = [];
  for (let i = 0; i < w.ops.length; i++) {
    const k = w.keys[i] as number;
    if ((w.ops[i] === GET || w.ops[i] === REMOVE) && !live.has(k))
      throw new Error(`op ${i}: ${k} is not live`);
    if (w.ops[i] === REMOVE) live.delete(k);
    if (w.ops[i] === INSERT) {
      if (live.has(k)) throw new Error(`op ${i}: ${k} is live already`);
      live.add(k);
      inserted.push(k);
    }
  }
  return { live, inserted };
}

describe('tree workloads', () => {
  it.each(WORKLOADS)('%s keeps the live count and only touches live PIDs', (name) => {
    const w = workload(name, 5000, 4000);
    expect(w.ops.length).toBe(12_000);
    expect(new Set(w.initial).size).toBe(5000);
    expect(replay(w).live.size).toBe(5000);
  });

  it('pid-wrap hands out increasing PIDs that wrap at pid_max and are reused', () => {
    const w = workload('pid-wrap', 10_000, 100_000);
    const { inserted } = replay(w);
    expect(Math.max(...inserted)).toBeLessThan(PID_MAX);
    const wraps = inserted.filter((pid, i) => i > 0 && pid < (inserted[i - 1] as number)).length;
    expect(wraps).toBeGreaterThanOrEqual(2);
    expect(new Set(inserted).size).toBeLessThan(inserted.length); // PIDs come back
  });

  it('burst removes a block of services at once, then spawns them with consecutive PIDs', () => {
    const w = workload('burst', 5000, BURST);
    expect([...w.ops.slice(0, 2 * BURST)].every((op) => op !== INSERT)).toBe(true);
    const spawned = [...w.keys.slice(2 * BURST)];
    expect(spawned.every((pid, i) => i === 0 || pid === (spawned[i - 1] as number) + 1)).toBe(true);
  });

  it('crash-loop leaves nine tenths of the processes alone', () => {
    const w = workload('crash-loop', 5000, 20_000);
    const { live } = replay(w);
    const survivors = [...w.initial].filter((pid) => live.has(pid));
    expect(survivors.length).toBe(4500);
  });

  it('is the same sequence for the same seed', () => {
    expect(workload('uniform', 1000, 100)).toEqual(workload('uniform', 1000, 100));
  });
});
