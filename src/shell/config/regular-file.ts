// Reading a file that must be a regular file of bounded size, without ever blocking on a
// FIFO, taking a terminal, or reading a device: what config files and event logs need.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/** What a path is when it is not a regular file: `a directory`, `a FIFO (named pipe)`, ... */
export function describeKind(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

export type Opened =
  | { readonly ok: true; readonly fd: number; readonly size: number }
  | {
      readonly ok: false;
      /** Why, as a phrase: `ENOENT: no such file or directory, stat '/x'`, `it is a FIFO (named pipe)`. */
      readonly reason: string;
      /** The errno code when the system refused (ENOENT, EACCES, ...); absent when the file is the wrong kind. */
      readonly code?: string;
    };

/**
 * Open `path` for reading only if it is a regular file (a symlink to one is followed). Its type
 * is looked at before it is opened — opening a FIFO would block, a tape device may rewind, a
 * terminal may become procreg's — and again on the open descriptor, so a file swapped in
 * between is caught too. The caller closes `fd`.
 */
export function openRegularFile(path: string): Opened {
  try {
    const kind = describeKind(statSync(path));
    if (kind) return { ok: false, reason: `it is ${kind}, not a regular file` };
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const st = fstatSync(fd);
    const now = describeKind(st);
    if (now) {
      closeSync(fd);
      return { ok: false, reason: `it is ${now}, not a regular file` };
    }
    return { ok: true, fd, size: st.size };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, reason: err.message, ...(err.code ? { code: err.code } : {}) };
  }
}

/** The first `n` bytes of `fd` (fewer if the file is shorter). */
export function readHead(fd: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, got);
    if (r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/** All of `fd` when it is at most `max` bytes; null when there are more (a file still growing counts). */
export function readAtMost(fd: number, max: number): Buffer | null {
  const buf = readHead(fd, max + 1);
  return buf.length > max ? null : buf;
}

/** `1 MiB`, `512 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}
