import { compareNumbers, OrderedMap } from './ordered-map.js';

export type Pid = number;

/** The registry's index of live processes, keyed by PID. */
// biome-ignore lint/complexity/noBannedTypes: see OrderedMap
export type PidTree<V extends {} | null> = OrderedMap<Pid, V>;

// biome-ignore lint/complexity/noBannedTypes: see OrderedMap
export function emptyPidTree<V extends {} | null>(): PidTree<V> {
  return OrderedMap.empty<Pid, V>(compareNumbers);
}
