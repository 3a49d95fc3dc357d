// Our own declaration for functional-red-black-tree@1.0.1, written from its source
// (rbtree.js) because @types/functional-red-black-tree is wrong where it matters:
// an empty tree's root is null, a node's children are nodes or null.
declare module 'functional-red-black-tree' {
  export interface RBNode<K, V> {
    readonly key: K;
    readonly value: V;
    readonly left: RBNode<K, V> | null;
    readonly right: RBNode<K, V> | null;
  }

  export interface RBIterator<K, V> {
    readonly tree: RBTree<K, V>;
    readonly valid: boolean;
    readonly key: K | undefined;
    readonly value: V | undefined;
    readonly index: number;
    readonly hasNext: boolean;
    readonly hasPrev: boolean;
    next(): void;
    prev(): void;
    /** New tree without this node; the same tree when the iterator is not valid. */
    remove(): RBTree<K, V>;
    /** New tree with this node's value replaced; throws when the iterator is not valid. */
    update(value: V): RBTree<K, V>;
  }

  export interface RBTree<K, V> {
    readonly root: RBNode<K, V> | null;
    readonly length: number;
    readonly keys: K[];
    readonly values: V[];
    readonly begin: RBIterator<K, V>;
    readonly end: RBIterator<K, V>;
    /** Stores a second node when `key` is present: there is no overwrite. */
    insert(key: K, value: V): RBTree<K, V>;
    /** Returns this same tree when `key` is absent. */
    remove(key: K): RBTree<K, V>;
    get(key: K): V | undefined;
    find(key: K): RBIterator<K, V>;
    ge(key: K): RBIterator<K, V>;
    gt(key: K): RBIterator<K, V>;
    lt(key: K): RBIterator<K, V>;
    le(key: K): RBIterator<K, V>;
    at(index: number): RBIterator<K, V>;
    /** Stops at the first truthy return of `visit`; `hi` is exclusive. */
    forEach<T>(visit: (key: K, value: V) => T, lo?: K, hi?: K): T | undefined;
  }

  function createRBTree<K, V>(compare?: (a: K, b: K) => number): RBTree<K, V>;
  export default createRBTree;
}
