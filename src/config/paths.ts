/**
 * POSIX path arithmetic on strings, so config normalization stays pure (node:path is a
 * built-in module, which the pure folders do not import). Same results as node:path/posix
 * for the operations the config needs; no file is ever looked at.
 */

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}

/** `.` and `..` folded, repeated and trailing slashes dropped; '' becomes '.'. */
export function normalizePath(p: string): string {
  const absolute = isAbsolutePath(p);
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  const body = out.join('/');
  return absolute ? `/${body}` : body || '.';
}

/** Like path.resolve with an absolute `base`: the last absolute segment wins. */
export function resolvePath(base: string, ...segments: string[]): string {
  let acc = base;
  for (const s of segments) acc = isAbsolutePath(s) ? s : `${acc}/${s}`;
  return normalizePath(acc);
}

export function dirnameOf(p: string): string {
  const n = normalizePath(p);
  const i = n.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : n.slice(0, i);
}

export function basenameOf(p: string): string {
  const n = normalizePath(p);
  return n.slice(n.lastIndexOf('/') + 1);
}
