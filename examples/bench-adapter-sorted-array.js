// An adapter for `procreg bench tree --impl examples/bench-adapter-sorted-array.js`: a mutable
// ordered map kept as two parallel sorted arrays (keys, values), binary search for every
// operation. Insert and remove shift the tail of the arrays: O(n) moves, but of contiguous
// memory, which is why it is worth measuring against the trees at a few thousand entries.
//
// The adapter interface (see "Benchmarking your own tree" in the README):
//   name: string               how the tables name it
//   persistent: boolean        true if insert/remove leave the map passed in unchanged
//   create()                   an empty map
//   insert(map, key, value)    the map with key -> value added (key is never present); returns the map
//   remove(map, key)           the map without key (key is always present); returns the map
//   get(map, key)              the value at key, or undefined
//   size(map)                  the number of entries
//   iterate(map)               every [key, value], keys ascending

/** The index of the first key >= `key`. */
function lowerBound(keys, key) {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export default {
  name: 'sorted array (mutable)',
  persistent: false,
  create: () => ({ keys: [], values: [] }),
  insert(map, key, value) {
    const i = lowerBound(map.keys, key);
    map.keys.splice(i, 0, key);
    map.values.splice(i, 0, value);
    return map;
  },
  remove(map, key) {
    const i = lowerBound(map.keys, key);
    if (map.keys[i] === key) {
      map.keys.splice(i, 1);
      map.values.splice(i, 1);
    }
    return map;
  },
  get(map, key) {
    const i = lowerBound(map.keys, key);
    return map.keys[i] === key ? map.values[i] : undefined;
  },
  size: (map) => map.keys.length,
  *iterate(map) {
    for (let i = 0; i < map.keys.length; i++) yield [map.keys[i], map.values[i]];
  },
};
