export { HashMap, type HashRemoveResult, hashString } from './hash-map.js';
export { compareNumbers, type InsertResult, OrderedMap, type RemoveResult } from './ordered-map.js';
export { emptyPidTree, type PidTree } from './pid-tree.js';
