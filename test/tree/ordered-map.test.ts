import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyPidTree, type PidTree } from '../../src/tree/pid-tree.js';

type Op =
  | { op: 'insert'; pid: number; v: string }
  | { op: 'remove'; pid: number }
  | { op: 'set'; pid: number; v: string };

const pidArb = fc.integer({ min: 1, max: 64 }); // small range: plenty of collisions
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), pid: pidArb, v: fc.string({ maxLength: 3 }) }),
  fc.record({ op: fc.constant('remove' as const), pid: pidArb }),
  fc.record({ op: fc.constant('set' as const), pid: pidArb, v: fc.string({ maxLength: 3 }) }),
);

function contents(t: PidTree<string>): [number, string][] {
  return [...t.entries()];
}

function modelContents(m: Map<number, string>): [number, string][] {
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

describe('PidTree', () => {
  it('behaves like a Map: refuses duplicates, removes totally, iterates in PID order', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        let t = emptyPidTree<string>();
        const m = new Map<number, string>();
        for (const o of ops) {
          if (o.op === 'insert') {
            const res = t.insert(o.pid, o.v);
            if (m.has(o.pid)) {
              expect(res.ok).toBe(false);
              if (!res.ok) expect(res.existing).toBe(m.get(o.pid));
              expect(res.map).toBe(t);
            } else {
              expect(res.ok).toBe(true);
              m.set(o.pid, o.v);
            }
            t = res.map;
          } else if (o.op === 'remove') {
            const res = t.remove(o.pid);
            expect(res.removed).toBe(m.has(o.pid));
            if (res.removed) expect(res.value).toBe(m.get(o.pid));
            else expect(res.map).toBe(t); // absent PID: the same tree back
            m.delete(o.pid);
            t = res.map;
          } else {
            t = t.set(o.pid, o.v);
            m.set(o.pid, o.v);
          }
          expect(t.size).toBe(m.size);
        }
        expect(contents(t)).toEqual(modelContents(m));
        for (let pid = 0; pid <= 65; pid++) {
          expect(t.has(pid)).toBe(m.has(pid));
          expect(t.get(pid)).toBe(m.get(pid));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('leaves every older version valid and unchanged after any later operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        let t = emptyPidTree<string>();
        const versions: { tree: PidTree<string>; snapshot: [number, string][] }[] = [];
        for (const o of ops) {
          versions.push({ tree: t, snapshot: contents(t) });
          if (o.op === 'insert') t = t.insert(o.pid, o.v).map;
          else if (o.op === 'remove') t = t.remove(o.pid).map;
          else t = t.set(o.pid, o.v);
        }
        for (const v of versions) {
          expect(contents(v.tree)).toEqual(v.snapshot);
          expect(v.tree.size).toBe(v.snapshot.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers range queries [lo, hi) in PID order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pidArb, { maxLength: 60 }), pidArb, pidArb, (pids, a, b) => {
        let t = emptyPidTree<string>();
        for (const p of pids) t = t.insert(p, `v${p}`).map;
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const got = [...t.range(lo, hi)].map(([k]) => k);
        const want = pids.filter((p) => p >= lo && p < hi).sort((x, y) => x - y);
        expect(got).toEqual(want);
      }),
    );
  });

  it('update replaces only a present PID', () => {
    const t = emptyPidTree<string>().insert(7, 'a').map;
    expect(t.update(7, 'b').get(7)).toBe('b');
    expect(t.get(7)).toBe('a');
    expect(t.update(8, 'c')).toBe(t);
    expect(t.first()).toEqual([7, 'a']);
    expect(t.last()).toEqual([7, 'a']);
    expect(emptyPidTree<string>().first()).toBeUndefined();
  });

  it('keeps a null value distinguishable from an absent key', () => {
    const t = emptyPidTree<null>().insert(3, null).map;
    expect(t.has(3)).toBe(true);
    expect(t.insert(3, null).ok).toBe(false);
    expect(t.remove(3).removed).toBe(true);
  });
});
