// Memory per live entry at 100k entries: the PID tree holding fold-shaped service entries,
// against raw functional-red-black-tree, sorted-btree, js-sdsl OrderedMap and native Map
// holding the same entries; and the whole registry state per supervised service. Needs
// --expose-gc (the runner starts this file in a child process with it).
import createRBTree from 'functional-red-black-tree';
import { OrderedMap as SdslMap } from 'js-sdsl';
import type { ServiceEntry } from '../src/core/state.js';
import { emptyPidTree } from '../src/tree/pid-tree.js';
import { recordChurn } from './fold.bench.js';
import { BTree } from './sorted-btree.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const N = 100_000;

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

// Names and definitions belong to the config, not to an entry: they exist before and after.
const names = Array.from({ length: N }, (_, i) => `svc${i}`);
const def = { pidFile: '/run/x.pid' } as unknown as ServiceEntry['def'];
const pids = Array.from({ length: N }, (_, i) => 300 + i * 37);

function measure(build: () => unknown): number {
  const before = heap();
  const keep = build();
  const after = heap();
  if (!keep) throw new Error('nothing built');
  return (after - before) / N;
}

const entry = (i: number): ServiceEntry => ({
  kind: 'service',
  name: names[i] as string,
  gen: 1,
  incarnation: 1,
  startTime: 9_000_000 + i,
  exe: '/usr/bin/node', // one string shared by every entry, as an interned executable path would be
  def,
  leaderExit: null,
});
const cmp = (a: number, b: number) => a - b;

const rows: [string, number][] = [];
rows.push([
  'procreg PidTree',
  measure(() => pids.reduce((t, p, i) => t.insert(p, entry(i)).map, emptyPidTree<ServiceEntry>())),
]);
rows.push([
  'functional-red-black-tree',
  measure(() => pids.reduce((t, p, i) => t.insert(p, entry(i)), createRBTree<number, ServiceEntry>(cmp))),
]);
rows.push([
  'sorted-btree',
  measure(() => {
    const t = new BTree<number, ServiceEntry>(undefined, cmp);
    pids.forEach((p, i) => t.set(p, entry(i)));
    return t;
  }),
]);
rows.push([
  'js-sdsl OrderedMap',
  measure(() => {
    const t = new SdslMap<number, ServiceEntry>([], cmp);
    pids.forEach((p, i) => t.setElement(p, entry(i)));
    return t;
  }),
]);
rows.push([
  'native Map',
  measure(() => pids.reduce((t, p, i) => t.set(p, entry(i)), new Map<number, ServiceEntry>())),
]);

// The whole registry per running service: tree, status maps, statuses, and the normalized
// config they share (kept by the state), after a real start-up through the fold.
const before = heap();
const { startState } = recordChurn(N, 0, 3);
const stateBytesPerService = (heap() - before) / N;
process.stdout.write(JSON.stringify({ rows, stateBytesPerService, live: startState.procs.size }));
