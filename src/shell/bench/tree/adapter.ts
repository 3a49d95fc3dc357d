/**
 * The adapter a user writes to run their own ordered map in `procreg bench tree --impl`: the
 * same small interface every built-in peer goes through, so all of them run the same loop.
 *
 * Maps are passed in and returned, which fits both kinds: a persistent map returns a new
 * version (older ones stay valid), a mutable one changes itself and returns itself.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TreeAdapter<M = unknown> {
  /** How the tables name it. */
  readonly name: string;
  /** true: insert/remove leave the map passed in unchanged (checked when the adapter loads). */
  readonly persistent: boolean;
  /** An empty map with number keys (PIDs). */
  create(): M;
  /** The map with `key` → `value` added; `key` is never present already. */
  insert(map: M, key: number, value: unknown): M;
  /** The map without `key`; `key` is always present. */
  remove(map: M, key: number): M;
  /** The value at `key`, or undefined. */
  get(map: M, key: number): unknown;
  size(map: M): number;
  /** Every [key, value], keys ascending. */
  iterate(map: M): Iterable<readonly [number, unknown]>;
}

const METHODS = [
  ['create', 'create()'],
  ['insert', 'insert(map, key, value)'],
  ['remove', 'remove(map, key)'],
  ['get', 'get(map, key)'],
  ['size', 'size(map)'],
  ['iterate', 'iterate(map)'],
] as const;

export const ADAPTER_SHAPE =
  'an adapter module exports (as default, or as module.exports) { name: string, persistent: boolean, create(), insert(map, key, value), remove(map, key), get(map, key), size(map), iterate(map) } — see "Benchmarking your own tree" in the README';

/** A bad adapter: the file, and what is wrong with it. Exit 2. */
export class AdapterError extends Error {}

/** Load and check the adapter in `file` (relative to `cwd`). */
export async function loadAdapter(file: string, cwd = process.cwd()): Promise<TreeAdapter> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' ? 'no such file' : (e as Error).message.split('\n')[0];
    throw new AdapterError(`--impl ${file}: cannot load it: ${why}`);
  }
  const candidate = (mod.default ?? mod) as Record<string, unknown>;
  return checkAdapter(candidate, `--impl ${file}`);
}

/** `a` as an adapter, or an AdapterError saying what is missing or wrong (`where` names it). */
export function checkAdapter(a: Record<string, unknown> | null | undefined, where: string): TreeAdapter {
  if (typeof a !== 'object' || a === null)
    throw new AdapterError(`${where}: exports no adapter object; ${ADAPTER_SHAPE}`);
  const problems: string[] = [];
  if (typeof a.name !== 'string' || a.name === '') problems.push('name (a non-empty string)');
  if (typeof a.persistent !== 'boolean') problems.push('persistent (true or false)');
  for (const [m, sig] of METHODS) if (typeof a[m] !== 'function') problems.push(sig);
  if (problems.length > 0)
    throw new AdapterError(
      `${where}: missing or not of the right type: ${problems.join(', ')}; ${ADAPTER_SHAPE}`,
    );
  const adapter = a as unknown as TreeAdapter;
  conformance(adapter, where);
  return adapter;
}

/**
 * A short run on 200 keys, before any timing: a wrong adapter is refused rather than
 * measured (a map that drops keys is fast).
 */
function conformance(a: TreeAdapter, where: string): void {
  const call = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof AdapterError) throw e;
      throw new AdapterError(`${where}: ${what} threw: ${(e as Error)?.message ?? String(e)}`);
    }
  };
  const fail = (what: string) => {
    throw new AdapterError(`${where} (${a.name}): ${what}`);
  };
  const keys = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 200) * 13 + 300);
  const value = (k: number) => ({ pid: k });
  const values = new Map(keys.map((k) => [k, value(k)]));
  let m = call('create()', () => a.create());
  for (const k of keys) m = call(`insert(map, ${k}, value)`, () => a.insert(m, k, values.get(k)));
  const check = (map: unknown, live: number[], when: string) => {
    const size = call('size(map)', () => a.size(map));
    if (size !== live.length) fail(`size(map) is ${String(size)} ${when}, expected ${live.length}`);
    for (const k of live)
      if (call(`get(map, ${k})`, () => a.get(map, k)) !== values.get(k))
        fail(`get(map, ${k}) does not return the value inserted at ${k} ${when}`);
    const seen = call('iterate(map)', () => {
      const out: number[] = [];
      for (const entry of a.iterate(map)) {
        if (!Array.isArray(entry) || entry.length < 2) fail('iterate(map) must yield [key, value] pairs');
        out.push(entry[0] as number);
        if (entry[1] !== values.get(entry[0] as number))
          fail(`iterate(map) yields a value at ${String(entry[0])} that is not the one inserted there`);
      }
      return out;
    });
    const expected = [...live].sort((x, y) => x - y);
    for (let i = 0; i < Math.max(seen.length, expected.length); i++)
      if (seen[i] !== expected[i])
        fail(
          `iterate(map) must yield every key once, ascending; ${when} position ${i} is ${String(seen[i])}, expected ${String(expected[i])}`,
        );
  };
  check(m, keys, 'after 200 inserts');
  if (call('get(map, 1)', () => a.get(m, 1)) !== undefined)
    fail('get(map, 1) of an absent key must return undefined');
  const kept = m;
  const removed = keys.filter((_, i) => i % 2 === 0);
  for (const k of removed) m = call(`remove(map, ${k})`, () => a.remove(m, k));
  const live = keys.filter((_, i) => i % 2 === 1);
  check(m, live, 'after removing 100 of them');
  if (a.persistent)
    check(kept, keys, 'of the version kept before the removals (the adapter says persistent: true)');
}
