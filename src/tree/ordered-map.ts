import createRBTree, { type RBTree } from 'functional-red-black-tree';

/** Any value but `undefined`: a stored value is never confused with an absent key. */
export type Present = NonNullable<unknown> | null;

/** Result of inserting a key: a present key is refused, never stored twice. */
export type InsertResult<K, V extends Present> =
  | { readonly ok: true; readonly map: OrderedMap<K, V> }
  | {
      readonly ok: false;
      readonly reason: 'duplicate';
      readonly key: K;
      readonly existing: V;
      readonly map: OrderedMap<K, V>;
    };

/** Result of removing a key: total, and says whether anything was there. */
export type RemoveResult<K, V extends Present> =
  | { readonly removed: true; readonly value: V; readonly map: OrderedMap<K, V> }
  | { readonly removed: false; readonly map: OrderedMap<K, V> };

/**
 * A persistent sorted map over functional-red-black-tree. Every operation returns a new
 * map and leaves every older version valid and unchanged, so a reader holding an old
 * version (a status query, a snapshot being written) never sees a half-applied change.
 *
 * It closes the three traps of the raw tree: `insert` of a present key would store a
 * duplicate (here it is a typed refusal), `remove` of an absent key silently returns the
 * same tree (here the result says so), and `forEach` stops at a truthy return (here
 * iteration is a plain generator).
 */
// Values may not be `undefined`: that lets the allocation-free `get` alone decide whether a
// key is present, so an insert costs one extra descent and no garbage.
export class OrderedMap<K, V extends Present> {
  private constructor(
    private readonly t: RBTree<K, V>,
    private readonly compare: (a: K, b: K) => number,
    private readonly probe: EqualProbe,
  ) {}

  static empty<K, V extends Present>(compare: (a: K, b: K) => number): OrderedMap<K, V> {
    // The raw tree compares through a probe that notes an equal key: an insertion path in a
    // search tree always passes the node holding an equal key, so `insert` learns of a
    // duplicate during its own descent instead of paying a second one to check first.
    const probe: EqualProbe = { equal: false };
    const probing = (a: K, b: K): number => {
      const d = compare(a, b);
      if (d === 0) probe.equal = true;
      return d;
    };
    return new OrderedMap<K, V>(createRBTree<K, V>(probing), compare, probe);
  }

  get size(): number {
    return this.t.length;
  }

  get(key: K): V | undefined {
    return this.t.get(key);
  }

  has(key: K): boolean {
    return this.t.get(key) !== undefined;
  }

  insert(key: K, value: V): InsertResult<K, V> {
    this.probe.equal = false;
    const t = this.t.insert(key, value);
    if (!this.probe.equal) return { ok: true, map: new OrderedMap(t, this.compare, this.probe) };
    // The tree just built holds the key twice; it is dropped, this map is unchanged.
    return { ok: false, reason: 'duplicate', key, existing: this.t.get(key) as V, map: this };
  }

  /** Insert or replace. */
  set(key: K, value: V): OrderedMap<K, V> {
    const it = this.t.find(key);
    return new OrderedMap(it.valid ? it.update(value) : this.t.insert(key, value), this.compare, this.probe);
  }

  /** Replace the value of a present key; an absent key leaves the map as it is. */
  update(key: K, value: V): OrderedMap<K, V> {
    const it = this.t.find(key);
    return it.valid ? new OrderedMap(it.update(value), this.compare, this.probe) : this;
  }

  remove(key: K): RemoveResult<K, V> {
    const it = this.t.find(key);
    if (!it.valid) return { removed: false, map: this };
    return {
      removed: true,
      value: it.value as V,
      map: new OrderedMap(it.remove(), this.compare, this.probe),
    };
  }

  /** Entries in key order. */
  *entries(): Generator<[K, V]> {
    for (const it = this.t.begin; it.valid; it.next()) yield [it.key as K, it.value as V];
  }

  *values(): Generator<V> {
    for (const it = this.t.begin; it.valid; it.next()) yield it.value as V;
  }

  keys(): K[] {
    return this.t.keys;
  }

  /** Entries with lo <= key < hi, in key order. */
  *range(lo: K, hi: K): Generator<[K, V]> {
    for (const it = this.t.ge(lo); it.valid && this.compare(it.key as K, hi) < 0; it.next()) {
      yield [it.key as K, it.value as V];
    }
  }

  first(): [K, V] | undefined {
    const it = this.t.begin;
    return it.valid ? [it.key as K, it.value as V] : undefined;
  }

  last(): [K, V] | undefined {
    const it = this.t.end;
    return it.valid ? [it.key as K, it.value as V] : undefined;
  }
}

interface EqualProbe {
  equal: boolean;
}

export const compareNumbers = (a: number, b: number): number => a - b;
