import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashMap, hashString } from '../../src/tree/hash-map.js';

type Op = { op: 'set'; k: string; v: number } | { op: 'remove'; k: string };
const keyArb = fc.string({ maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), k: keyArb, v: fc.integer() }),
  fc.record({ op: fc.constant('remove' as const), k: keyArb }),
);

const HASHES: [string, (s: string) => number][] = [
  ['FNV-1a', hashString],
  ['colliding (length only)', (s) => s.length], // every key of a length collides
  ['low-bits-equal', (s) => (hashString(s) & 0xffff0000) >>> 0], // splits only deep in the trie
];

const sorted = (xs: [string, number][]) => [...xs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

describe.each(HASHES)('HashMap with %s hashing', (_, hash) => {
  it('behaves like a Map; remove is total; older versions never change', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 150 }), (ops) => {
        let m = HashMap.empty<number>(hash);
        const model = new Map<string, number>();
        const versions: { map: HashMap<number>; snap: [string, number][] }[] = [];
        for (const o of ops) {
          versions.push({ map: m, snap: sorted([...model]) });
          if (o.op === 'set') {
            m = m.set(o.k, o.v);
            model.set(o.k, o.v);
          } else {
            const r = m.remove(o.k);
            expect(r.removed).toBe(model.has(o.k));
            if (r.removed) expect(r.value).toBe(model.get(o.k));
            else expect(r.map).toBe(m);
            model.delete(o.k);
            m = r.map;
          }
          expect(m.size).toBe(model.size);
        }
        expect(sorted([...m.entries()])).toEqual(sorted([...model]));
        for (const k of new Set(ops.map((o) => o.k))) expect(m.get(k)).toBe(model.get(k));
        for (const v of versions) expect(sorted([...v.map.entries()])).toEqual(v.snap);
      }),
      { numRuns: 400 },
    );
  });

  it('iterates the same key set in the same order however it was built', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { maxLength: 40 }),
        fc.array(keyArb, { maxLength: 20 }),
        (keys, extra) => {
          let a = HashMap.empty<number>(hash);
          for (const k of keys) a = a.set(k, 1);
          let b = HashMap.empty<number>(hash);
          for (const k of [...extra, ...[...keys].reverse()]) b = b.set(k, 1);
          for (const k of extra) if (!keys.includes(k)) b = b.remove(k).map;
          expect(b.keys()).toEqual(a.keys());
        },
      ),
      { numRuns: 300 },
    );
  });
});
