/**
 * A persistent hash map from strings (a hash array mapped trie, 32-way). The registry keys
 * its per-service and per-check status by name; at 10k services an ordered tree of strings
 * spends ~14 string comparisons per lookup and copies ~14 nodes per update, a HAMT ~3 hops
 * and 3 small arrays. Like OrderedMap: every update returns a new map, older versions stay
 * valid, remove is total. Iteration follows hash order, which is the same for the same set
 * of keys however they were inserted; callers that show names to people sort them.
 */

const BITS = 5;
const MASK = 31;

class Leaf<V> {
  constructor(
    readonly hash: number,
    readonly key: string,
    readonly value: V,
  ) {}
}

/** Keys whose 32-bit hashes are equal. */
class Collision<V> {
  constructor(
    readonly hash: number,
    readonly leaves: readonly Leaf<V>[],
  ) {}
}

class Branch<V> {
  constructor(
    readonly bitmap: number,
    readonly children: readonly Child<V>[],
  ) {}
}

type Child<V> = Leaf<V> | Collision<V> | Branch<V>;

const EMPTY_BRANCH = new Branch<never>(0, []);

/** FNV-1a over UTF-16 code units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

export type HashRemoveResult<V> =
  | { readonly removed: true; readonly value: V; readonly map: HashMap<V> }
  | { readonly removed: false; readonly map: HashMap<V> };

export class HashMap<V> {
  private constructor(
    private readonly root: Branch<V>,
    readonly size: number,
    private readonly hash: (key: string) => number,
  ) {}

  /** `hash` is for tests that need collisions; it must return a 32-bit unsigned integer. */
  static empty<V>(hash: (key: string) => number = hashString): HashMap<V> {
    return new HashMap<V>(EMPTY_BRANCH as Branch<V>, 0, hash);
  }

  get(key: string): V | undefined {
    const h = this.hash(key);
    let node: Child<V> = this.root;
    let shift = 0;
    for (;;) {
      if (node instanceof Branch) {
        const bit = 1 << ((h >>> shift) & MASK);
        if ((node.bitmap & bit) === 0) return undefined;
        node = node.children[popcount(node.bitmap & (bit - 1))] as Child<V>;
        shift += BITS;
      } else if (node instanceof Leaf) {
        return node.key === key ? node.value : undefined;
      } else {
        for (const l of node.leaves) if (l.key === key) return l.value;
        return undefined;
      }
    }
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Insert or replace. */
  set(key: string, value: V): HashMap<V> {
    added = false;
    const root = setIn(this.root, 0, new Leaf(this.hash(key), key, value)) as Branch<V>;
    return new HashMap(root, added ? this.size + 1 : this.size, this.hash);
  }

  remove(key: string): HashRemoveResult<V> {
    const found = { value: undefined as V | undefined, yes: false };
    // At the root (shift 0) removeIn never collapses a branch, so the result is a branch.
    const root = removeIn(this.root, 0, this.hash(key), key, found) as Branch<V>;
    if (!found.yes) return { removed: false, map: this };
    return { removed: true, value: found.value as V, map: new HashMap(root, this.size - 1, this.hash) };
  }

  *entries(): Generator<[string, V]> {
    yield* walk(this.root);
  }

  *values(): Generator<V> {
    for (const [, v] of walk(this.root)) yield v;
  }

  keys(): string[] {
    return [...walk(this.root)].map(([k]) => k);
  }
}

function* walk<V>(node: Child<V>): Generator<[string, V]> {
  if (node instanceof Leaf) yield [node.key, node.value];
  else if (node instanceof Collision) for (const l of node.leaves) yield [l.key, l.value];
  else for (const c of node.children) yield* walk(c);
}

/** Whether the setIn under way added a key (rather than replaced one): no object per set. */
let added = false;

function setIn<V>(node: Child<V>, shift: number, leaf: Leaf<V>): Child<V> {
  if (node instanceof Branch) {
    const bit = 1 << ((leaf.hash >>> shift) & MASK);
    const idx = popcount(node.bitmap & (bit - 1));
    if ((node.bitmap & bit) === 0) {
      added = true;
      const children = node.children.slice();
      children.splice(idx, 0, leaf);
      return new Branch(node.bitmap | bit, children);
    }
    const children = node.children.slice();
    children[idx] = setIn(node.children[idx] as Child<V>, shift + BITS, leaf);
    return new Branch(node.bitmap, children);
  }
  if (node instanceof Leaf) {
    if (node.key === leaf.key) return leaf;
    added = true;
    if (node.hash === leaf.hash) return new Collision(node.hash, byKey([node, leaf]));
    return merge(node, leaf, shift);
  }
  // Collision
  if (node.hash === leaf.hash) {
    const i = node.leaves.findIndex((l) => l.key === leaf.key);
    if (i >= 0) {
      const leaves = node.leaves.slice();
      leaves[i] = leaf;
      return new Collision(node.hash, leaves);
    }
    added = true;
    return new Collision(node.hash, byKey([...node.leaves, leaf]));
  }
  added = true;
  return merge(node, leaf, shift);
}

/** Collision leaves in key order, so the same keys always make the same shape. */
function byKey<V>(leaves: Leaf<V>[]): Leaf<V>[] {
  return leaves.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A branch holding two children whose hashes differ, splitting as deep as needed. */
function merge<V>(a: Leaf<V> | Collision<V>, b: Leaf<V>, shift: number): Branch<V> {
  const ia = (a.hash >>> shift) & MASK;
  const ib = (b.hash >>> shift) & MASK;
  if (ia === ib) return new Branch(1 << ia, [merge(a, b, shift + BITS)]);
  return new Branch((1 << ia) | (1 << ib), ia < ib ? [a, b] : [b, a]);
}

function removeIn<V>(
  node: Child<V>,
  shift: number,
  hash: number,
  key: string,
  found: { value: V | undefined; yes: boolean },
): Child<V> {
  if (node instanceof Branch) {
    const bit = 1 << ((hash >>> shift) & MASK);
    if ((node.bitmap & bit) === 0) return node;
    const idx = popcount(node.bitmap & (bit - 1));
    const child = node.children[idx] as Child<V>;
    const next = removeIn(child, shift + BITS, hash, key, found);
    if (!found.yes) return node;
    if (next === EMPTY_BRANCH) {
      const bitmap = node.bitmap & ~bit;
      const children = node.children.slice();
      children.splice(idx, 1);
      // A branch left with one leaf collapses into it, so equal key sets give equal shapes.
      if (shift > 0 && children.length === 1 && !(children[0] instanceof Branch))
        return children[0] as Child<V>;
      return bitmap === 0 ? (EMPTY_BRANCH as Branch<V>) : new Branch(bitmap, children);
    }
    if (shift > 0 && node.children.length === 1 && !(next instanceof Branch)) return next;
    const children = node.children.slice();
    children[idx] = next;
    return new Branch(node.bitmap, children);
  }
  if (node instanceof Leaf) {
    if (node.key !== key) return node;
    found.yes = true;
    found.value = node.value;
    return EMPTY_BRANCH as Branch<V>;
  }
  const i = node.leaves.findIndex((l) => l.key === key);
  if (i < 0) return node;
  found.yes = true;
  found.value = (node.leaves[i] as Leaf<V>).value;
  const leaves = node.leaves.filter((_, j) => j !== i);
  return leaves.length === 1 ? (leaves[0] as Leaf<V>) : new Collision(node.hash, leaves);
}
