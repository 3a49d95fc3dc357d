/**
 * The implementations every tree run measures, as adapters: procreg's PidTree, the raw
 * functional-red-black-tree under it (the ratio's base), sorted-btree (persistent), js-sdsl
 * OrderedMap (mutable) and native Map (mutable, unordered: iterate sorts). sorted-btree and
 * js-sdsl are development peers: absent from an installed procreg, they are skipped, and
 * the run says so.
 */
import { createRequire } from 'node:module';
import createRBTree, { type RBTree } from 'functional-red-black-tree';
import { emptyPidTree, type PidTree } from '../../../tree/pid-tree.js';
import type { TreeAdapter } from './adapter.js';

export const RAW = 'functional-red-black-tree';

const cmp = (a: number, b: number) => a - b;
const require = createRequire(import.meta.url);

const pidTree: TreeAdapter<PidTree<object>> = {
  name: 'procreg PidTree',
  persistent: true,
  create: () => emptyPidTree<object>(),
  insert: (m, k, v) => m.insert(k, v as object).map,
  remove: (m, k) => m.remove(k).map,
  get: (m, k) => m.get(k),
  size: (m) => m.size,
  iterate: (m) => m.entries(),
};

const raw: TreeAdapter<RBTree<number, unknown>> = {
  name: RAW,
  persistent: true,
  create: () => createRBTree<number, unknown>(cmp),
  insert: (m, k, v) => m.insert(k, v),
  remove: (m, k) => m.remove(k),
  get: (m, k) => m.get(k),
  size: (m) => m.length,
  *iterate(m) {
    for (let it = m.begin; it.valid; it.next()) yield [it.key as number, it.value] as const;
  },
};

const nativeMap: TreeAdapter<Map<number, unknown>> = {
  name: 'native Map (mutable, unordered)',
  persistent: false,
  create: () => new Map(),
  insert: (m, k, v) => m.set(k, v),
  remove: (m, k) => (m.delete(k), m),
  get: (m, k) => m.get(k),
  size: (m) => m.size,
  iterate: (m) => [...m].sort((a, b) => a[0] - b[0]),
};

interface SortedBTree {
  with(k: number, v: unknown): SortedBTree;
  without(k: number): SortedBTree;
  get(k: number): unknown;
  readonly size: number;
  entries(): IterableIterator<[number, unknown]>;
}
interface SdslMap {
  setElement(k: number, v: unknown): void;
  eraseElementByKey(k: number): void;
  getElementByKey(k: number): unknown;
  size(): number;
  [Symbol.iterator](): Iterator<[number, unknown]>;
}

function sortedBtree(): TreeAdapter<SortedBTree> {
  // CommonJS whose class is `module.exports.default`.
  const BTree = (require('sorted-btree') as { default: new (e: undefined, c: typeof cmp) => SortedBTree })
    .default;
  return {
    name: 'sorted-btree (persistent)',
    persistent: true,
    create: () => new BTree(undefined, cmp),
    insert: (m, k, v) => m.with(k, v),
    remove: (m, k) => m.without(k),
    get: (m, k) => m.get(k),
    size: (m) => m.size,
    iterate: (m) => m.entries(),
  };
}

function jsSdsl(): TreeAdapter<SdslMap> {
  const { OrderedMap } = require('js-sdsl') as { OrderedMap: new (e: [], c: typeof cmp) => SdslMap };
  return {
    name: 'js-sdsl OrderedMap (mutable)',
    persistent: false,
    create: () => new OrderedMap([], cmp),
    insert: (m, k, v) => (m.setElement(k, v), m),
    remove: (m, k) => (m.eraseElementByKey(k), m),
    get: (m, k) => m.getElementByKey(k),
    size: (m) => m.size(),
    iterate: (m) => ({ [Symbol.iterator]: () => m[Symbol.iterator]() }),
  };
}

/** The built-in peers available here, and a note for each one that is not installed. */
export function builtinPeers(): { peers: TreeAdapter[]; skipped: string[] } {
  const peers: TreeAdapter[] = [pidTree as TreeAdapter, raw as TreeAdapter];
  const skipped: string[] = [];
  for (const [pkg, make] of [
    ['sorted-btree', sortedBtree],
    ['js-sdsl', jsSdsl],
  ] as const) {
    try {
      peers.push(make() as TreeAdapter);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
      skipped.push(
        `${pkg} is not installed, skipped (a development peer: npm install ${pkg} beside procreg to include it)`,
      );
    }
  }
  peers.push(nativeMap as TreeAdapter);
  return { peers, skipped };
}
