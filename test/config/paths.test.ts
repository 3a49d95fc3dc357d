import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basenameOf, dirnameOf, isAbsolutePath, normalizePath, resolvePath } from '../../src/config/paths.js';

/** Strings made of '/', '.', '..', 'a' and 'b': every corner of POSIX path folding. */
const pathArb = fc
  .array(fc.constantFrom('/', '.', '..', 'a', 'b'), { maxLength: 14 })
  .map((parts) => parts.join(''));
const absoluteArb = pathArb.map((p) => `/${p}`);

/** node:path keeps one trailing slash ('a/' stays 'a/'); normalizePath drops it. */
const withoutTrailingSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

const runs = { numRuns: 5000 };

describe('POSIX path arithmetic on strings (no node:path in the pure config code)', () => {
  it('normalizePath folds . and .. and repeated slashes as node:path/posix does, without a trailing slash', () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(normalizePath(p)).toBe(withoutTrailingSlash(posix.normalize(p)));
      }),
      runs,
    );
  });

  it('resolvePath from an absolute base agrees with posix.resolve', () => {
    fc.assert(
      fc.property(absoluteArb, fc.array(pathArb, { maxLength: 4 }), (base, segments) => {
        expect(resolvePath(base, ...segments)).toBe(posix.resolve(base, ...segments));
      }),
      runs,
    );
  });

  it('dirnameOf and basenameOf agree with posix.dirname and posix.basename of the normalized path', () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(dirnameOf(p)).toBe(posix.dirname(posix.normalize(p)));
        expect(basenameOf(p)).toBe(posix.basename(posix.normalize(p)));
      }),
      runs,
    );
  });

  it('isAbsolutePath agrees with posix.isAbsolute', () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(isAbsolutePath(p)).toBe(posix.isAbsolute(p));
      }),
      runs,
    );
  });

  it('examples: what the config normalizer relies on', () => {
    expect(normalizePath('')).toBe('.');
    expect(normalizePath('/../a//b/./c/')).toBe('/a/b/c');
    expect(normalizePath('../a/../../b')).toBe('../../b');
    expect(resolvePath('/etc/app', './run', 'web.pid')).toBe('/etc/app/run/web.pid');
    expect(resolvePath('/etc/app', 'run', '/var/log', 'a.out')).toBe('/var/log/a.out');
    // dirnameOf folds '..' first: the parent of 'a/..' is '.', where posix.dirname says 'a'.
    expect(dirnameOf('a/..')).toBe('.');
    expect(basenameOf('/')).toBe('');
  });
});
