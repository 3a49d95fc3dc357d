import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdapterError, checkAdapter, loadAdapter } from '../../../src/shell/bench/tree/adapter.js';
import { builtinPeers } from '../../../src/shell/bench/tree/peers.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
// A plain object with the example's methods (spread below to break one at a time).
const example = { ...(await loadAdapter('examples/bench-adapter-sorted-array.js')) } as Record<
  string,
  unknown
>;
const refused = (a: Record<string, unknown>) => {
  try {
    checkAdapter(a, '--impl my-tree.js');
  } catch (e) {
    expect(e).toBeInstanceOf(AdapterError);
    return (e as Error).message;
  }
  throw new Error('the adapter was accepted');
};

describe('tree adapters', () => {
  it('accepts every built-in peer and the example', () => {
    for (const peer of builtinPeers().peers)
      expect(checkAdapter(peer as unknown as Record<string, unknown>, peer.name)).toBe(peer);
    expect(checkAdapter(example, 'example').name).toBe('sorted array (mutable)');
  });

  it('names every missing method and what an adapter is', () => {
    const { remove: _r, iterate: _i, ...rest } = example;
    const message = refused({ ...rest, persistent: 'no' });
    expect(message).toMatch(
      /^--impl my-tree\.js: missing or not of the right type: persistent \(true or false\)/,
    );
    expect(message).toContain('remove(map, key), iterate(map)');
    expect(message).toContain('Benchmarking your own tree');
  });

  it('says which call threw', () => {
    const message = refused({
      ...example,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(message).toMatch(/^--impl my-tree\.js: get\(map, \d+\) threw: boom$/);
  });

  it('refuses an iterate out of order, a lost key and a false claim of persistence', () => {
    const unordered = {
      ...example,
      iterate: (m: { keys: number[]; values: unknown[] }) => m.keys.map((k, i) => [k, m.values[i]]).reverse(),
    };
    expect(refused(unordered)).toContain('iterate(map) must yield every key once, ascending');
    const forgetful = { ...example, get: () => undefined };
    expect(refused(forgetful)).toContain('does not return the value inserted');
    expect(refused({ ...example, persistent: true })).toContain('(the adapter says persistent: true)');
  });

  it('loads an adapter file, and names the file it cannot load', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'map.cjs'), `module.exports = ${adapterSource}`);
    expect((await loadAdapter(join(dir, 'map.cjs'))).name).toBe('cjs map');
    await expect(loadAdapter('nope.js', dir)).rejects.toThrow('--impl nope.js: cannot load it: no such file');
    writeFileSync(join(dir, 'broken.js'), 'export default {');
    await expect(loadAdapter('broken.js', dir)).rejects.toThrow(/^--impl broken\.js: cannot load it: /);
    writeFileSync(join(dir, 'empty.mjs'), 'export const x = 1;');
    await expect(loadAdapter('empty.mjs', dir)).rejects.toThrow(
      /--impl empty\.mjs: missing or not of the right type: name/,
    );
  });
});

const adapterSource = `{
  name: 'cjs map',
  persistent: false,
  create: () => new Map(),
  insert: (m, k, v) => m.set(k, v),
  remove: (m, k) => (m.delete(k), m),
  get: (m, k) => m.get(k),
  size: (m) => m.size,
  iterate: (m) => [...m].sort((a, b) => a[0] - b[0]),
};`;
