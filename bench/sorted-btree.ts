import { createRequire } from 'node:module';

/** The part of sorted-btree's persistent API the benchmarks use. */
export interface PersistentBTree<K, V> {
  set(key: K, value: V): boolean;
  with(key: K, value: V): PersistentBTree<K, V>;
  without(key: K): PersistentBTree<K, V>;
}

// sorted-btree is CommonJS whose class is `module.exports.default`; its typings do not
// describe that shape under NodeNext resolution, hence the require and this small type.
export const BTree = createRequire(import.meta.url)('sorted-btree').default as new <K, V>(
  entries: undefined,
  compare: (a: K, b: K) => number,
) => PersistentBTree<K, V>;
