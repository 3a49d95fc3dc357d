// Tree under churn: remove a random live PID and insert a new one, at 1k, 10k and 100k live
// entries. Ours against raw functional-red-black-tree, sorted-btree (persistent with/without),
// js-sdsl OrderedMap (mutable) and native Map (mutable, unordered), in one run, interleaved.
import createRBTree from 'functional-red-black-tree';
import { OrderedMap as SdslMap } from 'js-sdsl';

import { emptyPidTree } from '../src/tree/pid-tree.js';
import { BTree } from './sorted-btree.js';
import { median, type Result, rng } from './util.js';

const PID_MAX = 4_194_304;
const ENTRY = { kind: 'service', name: 'web', gen: 1, incarnation: 1, startTime: 1, def: null };
type Entry = typeof ENTRY;

interface Plan {
  initial: number[];
  removes: Int32Array;
  inserts: Int32Array;
}

function plan(size: number, ops: number, seed: number): Plan {
  const r = rng(seed);
  const live = new Set<number>();
  while (live.size < size) live.add(1 + Math.floor(r() * PID_MAX));
  const arr = [...live];
  const initial = [...arr];
  const removes = new Int32Array(ops);
  const inserts = new Int32Array(ops);
  for (let i = 0; i < ops; i++) {
    const idx = Math.floor(r() * arr.length);
    let pid: number;
    do pid = 1 + Math.floor(r() * PID_MAX);
    while (live.has(pid));
    removes[i] = arr[idx] as number;
    inserts[i] = pid;
    live.delete(arr[idx] as number);
    live.add(pid);
    arr[idx] = pid;
  }
  return { initial, removes, inserts };
}

type Impl = { name: string; run: (p: Plan) => number };

const cmp = (a: number, b: number) => a - b;

const IMPLS: Impl[] = [
  {
    name: 'procreg PidTree',
    run: (p) => {
      let t = emptyPidTree<Entry>();
      for (const k of p.initial) t = t.insert(k, ENTRY).map;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < p.removes.length; i++) {
        t = t.remove(p.removes[i] as number).map;
        const r = t.insert(p.inserts[i] as number, ENTRY);
        if (!r.ok) throw new Error('duplicate');
        t = r.map;
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  },
  {
    name: 'functional-red-black-tree',
    run: (p) => {
      let t = createRBTree<number, Entry>(cmp);
      for (const k of p.initial) t = t.insert(k, ENTRY);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < p.removes.length; i++) {
        t = t.remove(p.removes[i] as number);
        t = t.insert(p.inserts[i] as number, ENTRY);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  },
  {
    name: 'sorted-btree (persistent)',
    run: (p) => {
      let t = new BTree<number, Entry>(undefined, cmp);
      for (const k of p.initial) t.set(k, ENTRY);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < p.removes.length; i++) {
        t = t.without(p.removes[i] as number);
        t = t.with(p.inserts[i] as number, ENTRY);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  },
  {
    name: 'js-sdsl OrderedMap (mutable)',
    run: (p) => {
      const m = new SdslMap<number, Entry>([], cmp);
      for (const k of p.initial) m.setElement(k, ENTRY);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < p.removes.length; i++) {
        m.eraseElementByKey(p.removes[i] as number);
        m.setElement(p.inserts[i] as number, ENTRY);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  },
  {
    name: 'native Map (mutable, unordered)',
    run: (p) => {
      const m = new Map<number, Entry>();
      for (const k of p.initial) m.set(k, ENTRY);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < p.removes.length; i++) {
        m.delete(p.removes[i] as number);
        m.set(p.inserts[i] as number, ENTRY);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  },
];

export function treeChurn(opts: { rounds: number; quick: boolean }): Result[] {
  const results: Result[] = [];
  for (const size of [1_000, 10_000, 100_000]) {
    const ops = opts.quick ? 20_000 : 200_000;
    const p = plan(size, ops, size);
    for (const impl of IMPLS) impl.run(p); // warm-up
    const samples = new Map<string, number[]>(IMPLS.map((i) => [i.name, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const impl of IMPLS) samples.get(impl.name)?.push(ops / impl.run(p));
    }
    for (const impl of IMPLS) {
      results.push({
        bench: 'tree-churn',
        case: `${size / 1000}k live`,
        impl: impl.name,
        value: median(samples.get(impl.name) as number[]),
        unit: 'churn ops/s',
        ...(impl.name === 'procreg PidTree' && size === 10_000
          ? { target: '>= 500k/s; within 10% of raw' }
          : {}),
      });
    }
  }
  return results;
}
