/**
 * Heap bytes per live entry after each tree workload, for every implementation: started by
 * tree-bench.ts with --expose-gc, prints {workload: {implementation: bytes}} as JSON.
 */
import { loadAdapter, type TreeAdapter } from './adapter.js';
import { builtinPeers } from './peers.js';
import { buildWorkloadMap, makeLoop, TREE_VALUE } from './tree-bench.js';
import { type Workload, WORKLOADS, workload } from './workloads.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory-child needs --expose-gc');
const { size, steps, copies, files } = JSON.parse(process.argv[2] ?? '{}') as {
  size: number;
  steps: number;
  copies: number;
  files: string[];
};

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// A discarded result left in a frame's registers would be counted as live: each run is a
// call of its own, and the warm-up's map is gone by the time it returns.
function run(a: TreeAdapter, w: Workload, loop: ReturnType<typeof makeLoop>): unknown {
  return loop(a, buildWorkloadMap(a, w), w.ops, w.keys, TREE_VALUE)[0];
}
function warmUp(a: TreeAdapter, w: Workload, loop: ReturnType<typeof makeLoop>): void {
  run(a, w, loop); // code and feedback are allocated before the measured run
}
// The heap's own noise is a few hundred kB: the workload's end state is built `copies` times
// over and all of them are kept, so the noise is shared out over copies × size entries.
function bytesPerEntry(a: TreeAdapter, w: Workload): number {
  const loop = makeLoop();
  warmUp(a, w, loop);
  const before = heap();
  const ends = Array.from({ length: copies }, () => run(a, w, loop));
  const after = heap();
  return (after - before) / ends.reduce((n: number, m) => n + a.size(m), 0);
}

const impls: TreeAdapter[] = [...builtinPeers().peers];
for (const f of files) impls.push(await loadAdapter(f));
const out: Record<string, Record<string, number>> = {};
for (const name of WORKLOADS) {
  const w = workload(name, size, steps);
  out[name] = Object.fromEntries(impls.map((a) => [a.name, bytesPerEntry(a, w)]));
}
process.stdout.write(JSON.stringify(out));
