/**
 * `procreg bench tree`: every workload at each size, every implementation side by side in one
 * run (rounds interleaved), through the same adapter loop: ops/s, p99 per operation, bytes
 * per entry, and each against raw functional-red-black-tree measured in the same run.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchRow, fmtRate, table } from '../results.js';
import { AdapterError, type TreeAdapter } from './adapter.js';
import { builtinPeers, RAW } from './peers.js';
import { GET, WORKLOADS, type Workload, workload } from './workloads.js';

export interface TreeBenchOptions {
  readonly quick: boolean;
  /** User adapters (already loaded and checked) and the files they came from. */
  readonly user: readonly { adapter: TreeAdapter; file: string }[];
  /** Print a line of the human report (tables, notes). */
  readonly log: (text: string) => void;
}

/** The value stored at every key: one shared object, so bytes per entry are the structure's. */
const VALUE = Object.freeze({ kind: 'service', name: 'web', gen: 1, incarnation: 1, startTime: 1 });

/** Copies of each end state kept for bytes/entry: the heap's noise shared out over them. */
const COPIES = { full: 10, quick: 3 };

type Loop = (
  a: TreeAdapter,
  map: unknown,
  ops: Uint8Array,
  keys: Int32Array,
  value: unknown,
) => [unknown, number];

// Each implementation gets its own copy of the loop, compiled apart, so V8's feedback at its
// call sites sees one adapter: no implementation pays for another's polymorphism.
const LOOP_SOURCE = `
  let m = map, found = 0;
  for (let i = 0; i < ops.length; i++) {
    const k = keys[i];
    const op = ops[i];
    if (op === ${GET}) { if (a.get(m, k) !== undefined) found++; }
    else if (op === 1) m = a.remove(m, k);
    else m = a.insert(m, k, value);
  }
  return [m, found];`;
const makeLoop = () => new Function('a', 'map', 'ops', 'keys', 'value', LOOP_SOURCE) as Loop;

function build(a: TreeAdapter, w: Workload): unknown {
  let m = a.create();
  for (const k of w.initial) m = a.insert(m, k, VALUE);
  return m;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function percentile(xs: Float64Array, p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Seconds for the whole sequence; refuses an adapter that loses keys on the way. */
function timed(a: TreeAdapter, loop: Loop, w: Workload, where: string): number {
  const m = build(a, w);
  const t0 = performance.now();
  const [end, found] = loop(a, m, w.ops, w.keys, VALUE);
  const seconds = (performance.now() - t0) / 1000;
  const gets = w.ops.reduce((n, op) => n + (op === GET ? 1 : 0), 0);
  if (found !== gets || a.size(end) !== w.initial.length)
    throw new AdapterError(
      `${where} (${a.name}): in the ${w.name} workload get() missed ${gets - found} of ${gets} live PIDs, or size() ended at ${a.size(end)} instead of ${w.initial.length}`,
    );
  return seconds;
}

/** Nanoseconds of each operation on its own (the timer's own cost included, alike for all). */
function latencies(a: TreeAdapter, w: Workload): Float64Array {
  let m = build(a, w);
  const ns = new Float64Array(w.ops.length);
  for (let i = 0; i < w.ops.length; i++) {
    const k = w.keys[i] as number;
    const op = w.ops[i];
    const t0 = performance.now();
    if (op === GET) a.get(m, k);
    else if (op === 1) m = a.remove(m, k);
    else m = a.insert(m, k, VALUE);
    ns[i] = (performance.now() - t0) * 1e6;
  }
  return ns;
}

export function treeSizes(quick: boolean): { sizes: number[]; steps: number; rounds: number } {
  return quick
    ? { sizes: [10_000], steps: 3000, rounds: 3 }
    : { sizes: [1000, 10_000], steps: 50_000, rounds: 7 };
}

export async function treeBench(opts: TreeBenchOptions): Promise<BenchRow[]> {
  const { peers, skipped } = builtinPeers();
  const impls = [
    ...peers.map((adapter) => ({ adapter, where: 'built-in' })),
    ...opts.user.map((u) => ({ adapter: u.adapter, where: `--impl ${u.file}` })),
  ];
  for (const note of skipped) opts.log(`note: ${note}`);
  const { sizes, steps, rounds } = treeSizes(opts.quick);
  const copies = opts.quick ? COPIES.quick : COPIES.full;
  opts.log(
    [
      `\nEach step is what the registry does on an exit and a respawn: get the PID, remove it, insert the`,
      `new one; ops/s counts those calls (${steps * 3} per run, median of ${rounds} interleaved rounds), every`,
      `implementation through the same adapter loop. p99/op times each call alone (the timer's own`,
      `~100 ns included, alike for all). bytes/entry: heap after GC per live entry at ${Math.max(...sizes) / 1000}k live, the`,
      `end state of the workload built ${copies} times over in a child with --expose-gc. vs raw: against`,
      `functional-red-black-tree in the same run.`,
    ].join('\n'),
  );
  const loops = new Map(impls.map((i) => [i, makeLoop()]));
  const bytes = await bytesPerEntry(
    Math.max(...sizes),
    steps,
    copies,
    opts.user.map((u) => u.file),
  );
  const rows: BenchRow[] = [];
  for (const name of WORKLOADS) {
    for (const size of sizes) {
      const w = workload(name, size, steps);
      const samples = new Map(impls.map((i) => [i, [] as number[]]));
      for (const i of impls) timed(i.adapter, loops.get(i) as Loop, w, i.where); // warm-up
      for (let r = 0; r < rounds; r++)
        for (const i of impls) {
          await nextTurn(); // a Ctrl-C or a closed stdout is heard between runs
          samples.get(i)?.push(w.ops.length / timed(i.adapter, loops.get(i) as Loop, w, i.where));
        }
      const rate = (i: (typeof impls)[number]) => median(samples.get(i) as number[]);
      const rawImpl = impls.find((i) => i.adapter.name === RAW && i.where === 'built-in');
      const rawRate = rawImpl ? rate(rawImpl) : NaN;
      const caseName = `${name}, ${size / 1000}k live`;
      const measured = bytes.get(name);
      const rawBytes = measured?.get(RAW) ?? NaN;
      const lines: string[][] = [];
      for (const i of impls) {
        await nextTurn();
        const p99 = percentile(latencies(i.adapter, w), 99);
        const ops = rate(i);
        const b = size === Math.max(...sizes) ? measured?.get(i.adapter.name) : undefined;
        const vsRaw = `${(ops / rawRate).toFixed(2)}x`;
        rows.push({
          bench: 'tree',
          case: caseName,
          impl: i.adapter.name,
          value: ops,
          unit: 'ops/s',
          ratio: `${vsRaw} raw`,
        });
        rows.push({ bench: 'tree', case: caseName, impl: i.adapter.name, value: p99, unit: 'ns p99/op' });
        if (b !== undefined)
          rows.push({
            bench: 'tree',
            case: caseName,
            impl: i.adapter.name,
            value: b,
            unit: 'bytes/entry',
            ratio: `${(b / rawBytes).toFixed(2)}x raw`,
          });
        lines.push([
          i.adapter.name + (i.where === 'built-in' ? '' : ` (${i.where})`),
          fmtRate(ops),
          vsRaw,
          `${p99.toFixed(0)} ns`,
          b === undefined ? '' : b.toFixed(0),
          b === undefined ? '' : `${(b / rawBytes).toFixed(2)}x`,
        ]);
      }
      opts.log(
        table(
          `Tree: ${caseName} — ${w.description}`,
          ['implementation', 'ops/s', 'vs raw', 'p99/op', 'bytes/entry', 'vs raw'],
          lines,
        ),
      );
    }
  }
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Heap bytes per live entry after each workload, per implementation: measured in a child
 * with --expose-gc (a collection before each reading), so this process need not be started
 * with it.
 */
async function bytesPerEntry(
  size: number,
  steps: number,
  copies: number,
  files: readonly string[],
): Promise<Map<string, Map<string, number>>> {
  const child = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', child, JSON.stringify({ size, steps, copies, files })],
    { maxBuffer: 1 << 20, cwd: process.cwd() },
  );
  const out = JSON.parse(stdout) as Record<string, Record<string, number>>;
  return new Map(Object.entries(out).map(([w, byImpl]) => [w, new Map(Object.entries(byImpl))]));
}

export { VALUE as TREE_VALUE, build as buildWorkloadMap, makeLoop };
