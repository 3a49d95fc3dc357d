import { compareNumbers, OrderedMap, type Present } from './ordered-map.js';

export type Pid = number;

/** The registry's index of live processes, keyed by PID. */
export type PidTree<V extends Present> = OrderedMap<Pid, V>;

export function emptyPidTree<V extends Present>(): PidTree<V> {
  return OrderedMap.empty<Pid, V>(compareNumbers);
}
