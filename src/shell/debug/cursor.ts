/**
 * `--cursor-file F`: the seq of the last event printed, so the next call resumes exactly
 * after it (journalctl's --cursor-file). Written atomically — a temporary file in the same
 * directory, fsync, rename — so a reader never sees half of one, and only after the lines it
 * covers were written out: stopping the command at any point loses nothing and (but for a
 * SIGKILL between the two) repeats nothing.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface Cursor {
  /** The last seq printed. */
  readonly seq: number;
  /** Its wall time (for people). */
  readonly time: number;
  /** The log it belongs to, as resolved. */
  readonly log: string;
}

export type CursorRead =
  { readonly ok: true; readonly cursor: Cursor | null } | { readonly ok: false; readonly message: string };

export function readCursor(path: string): CursorRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, cursor: null };
    return { ok: false, message: `cursor file ${path}: cannot read it: ${(e as Error).message}` };
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (
      o.v === 1 &&
      Number.isSafeInteger(o.seq) &&
      (o.seq as number) >= 0 &&
      typeof o.time === 'number' &&
      typeof o.log === 'string'
    )
      return { ok: true, cursor: { seq: o.seq as number, time: o.time, log: o.log } };
  } catch {
    // reported below
  }
  return {
    ok: false,
    message: `cursor file ${path} is not a procreg cursor (expected {"v":1,"seq":N,"time":T,"log":"..."}, got ${JSON.stringify(text.slice(0, 60))}); remove it to start from the beginning`,
  };
}

export function writeCursor(path: string, c: Cursor): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify({ v: 1, seq: c.seq, time: c.time, log: c.log })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
