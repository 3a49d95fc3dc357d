import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  writeSync,
} from 'node:fs';
import type { Durability } from '../../config/types.js';
import { decodeEvent, encodeEvent, stamp } from '../../events/codec.js';
import { ProcregError } from '../errors.js';
import { notRegular, resolveParent, RUN_DIR_MODE, RunDir } from '../files/run-dir.js';
import { type DirHandle, untrustedFile } from '../files/safe-dir.js';
import type { Event, EventBody } from '../../events/types.js';
import { describeLimit, MAX_LINE_BYTES } from './limits.js';
import { CHUNK, linesBackward, readFully } from './lines-backward.js';

export type { Durability };

export interface LogWriterOptions {
  readonly durability?: Durability;
  readonly fsyncIntervalMs?: number;
  /** Told about a torn tail moved aside on open. */
  readonly onRecovered?: (info: { tornBytes: number; movedTo: string }) => void;
  /** Told when a timed fsync fails (it is retried at the next one); default: ignored. */
  readonly onSyncError?: (err: Error) => void;
  /**
   * Start a new log at the path: an empty file there is used (as logrotate's `create` leaves
   * it), anything else in its place is first renamed to `<path>.displaced-<time>` and reported.
   */
  readonly fresh?: boolean;
  readonly onDisplaced?: (info: { movedTo: string; bytes: number }) => void;
  /**
   * The seq the log stood at before this file, when the file is empty: a new live segment of a
   * segmented log continues the chain of the closed segments (default 0: a new log).
   */
  readonly continuesAfter?: number;
}

export type LogWriterErrorCode = 'ELOGSYMLINK' | 'ELOGOPEN' | 'ELOGCLOSED' | 'ELOGNOTFILE' | 'ELOGLINE';

export class LogWriterError extends ProcregError {
  declare readonly code: LogWriterErrorCode;
  constructor(code: LogWriterErrorCode, message: string) {
    super(code, message);
  }
}

const OPEN_FLAGS =
  constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The one writer of an event log. Appends one JSON line per event with seq continuing the
 * file's last seq. Opening a log that ends in a torn line (a crash mid-write) moves that
 * fragment to `<path>.torn-<offset>` and truncates it away, so the next line is not glued
 * to it and nothing is lost. The file is reached through its runDir's descriptor when it is
 * inside an open runDir (see files/run-dir.ts), opened O_NOFOLLOW | O_NONBLOCK and refused
 * unless it is a regular file (and, as root, root's and writable by no one else). A write
 * that fails half-way (ENOSPC) is cut back off the file, so the file only ever holds whole
 * lines.
 */
export class LogWriter {
  private fd: number | null;
  private seq: number;
  /** Where the file ends: what a failed write is cut back to. */
  private end: number;
  private dirty = false;
  /** Writes so far: a timed fsync clears `dirty` only if none came while it ran. */
  private writes = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly durability: Durability;
  private readonly fsyncIntervalMs: number;
  private readonly onSyncError: (err: Error) => void;

  private constructor(
    /** The file this writer appends to. */
    readonly path: string,
    fd: number,
    lastSeq: number,
    end: number,
    options: LogWriterOptions,
  ) {
    this.fd = fd;
    this.seq = lastSeq;
    this.end = end;
    this.durability = options.durability ?? 'batch';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 100;
    this.onSyncError = options.onSyncError ?? (() => {});
  }

  static open(path: string, options: LogWriterOptions = {}): LogWriter {
    let parent: ReturnType<typeof resolveParent>;
    try {
      parent = resolveParent(path, {
        what: `event log ${path}`,
        code: 'ELOGOPEN',
        create: RunDir.containing(path) ? RUN_DIR_MODE : undefined,
      });
    } catch (e) {
      if (e instanceof ProcregError) throw new LogWriterError('ELOGOPEN', e.message);
      throw e;
    }
    const { dir, name, release } = parent;
    try {
      let fd = openLog(dir, name, path);
      if (options.fresh) fd = startFresh(fd, dir, name, path, options.onDisplaced);
      try {
        const { lastSeq, end } = recoverTail(fd, dir, name, path, options.onRecovered);
        return new LogWriter(path, fd, end === 0 ? (options.continuesAfter ?? 0) : lastSeq, end, options);
      } catch (e) {
        closeSync(fd);
        if (e instanceof ProcregError) throw e;
        throw new LogWriterError(
          'ELOGOPEN',
          `cannot recover the tail of event log ${path}: ${(e as Error).message}`,
        );
      }
    } finally {
      release();
    }
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Bytes in the file: where the next line goes. */
  get size(): number {
    return this.end;
  }

  /**
   * Close the file as a closed segment of its log: synced, renamed in its directory to `name`
   * (never over an existing file), the directory synced. The writer is closed after; on an
   * error nothing was renamed and it stays open.
   */
  closeAs(name: string, onStep?: (step: 'synced' | 'renamed') => void): void {
    if (this.fd === null) throw new LogWriterError('ELOGCLOSED', 'event log writer is closed');
    this.sync();
    onStep?.('synced');
    const {
      dir,
      name: own,
      release,
    } = resolveParent(this.path, {
      what: `event log ${this.path}`,
      code: 'ELOGOPEN',
    });
    try {
      if (lstatSync(dir.at(name), { throwIfNoEntry: false }))
        throw new LogWriterError(
          'ELOGOPEN',
          `cannot close event log ${this.path} as segment ${name}: a file of that name is already there`,
        );
      renameSync(dir.at(own), dir.at(name));
      fsyncSync(dir.fd);
    } finally {
      release();
    }
    onStep?.('renamed');
    this.close();
  }
  /** Stamp the next seq and the given times (wall and monotonic ms) on `body`, and append it. */
  append(body: EventBody, time: number, mono: number): Event {
    const event = stamp(body, this.seq + 1, time, mono);
    this.writeEvent(event);
    return event;
  }

  /**
   * Append an event stamped elsewhere; its seq must follow the last one written (it may jump
   * ahead only by what a log-gap record before it explains: the caller's to say). Throws
   * ELOGLINE for a line over the limit (nothing written), or the write's own error (nothing
   * written either: a partial line is cut off again).
   */
  writeEvent(event: Event): void {
    this.writeLines(event.seq, encodeLine(event, this.path));
  }

  /**
   * Append lines encoded by `encodeLine` (one or more, newlines included) in one write,
   * the last of them with seq `lastSeq`: all of them or, on an error, none.
   */
  writeLines(lastSeq: number, lines: Buffer): void {
    if (lastSeq <= this.seq)
      throw new RangeError(`event log ${this.path}: seq ${lastSeq} does not follow ${this.seq}`);
    this.write(lines);
    this.seq = lastSeq;
  }

  /** Force everything written so far to disk. */
  sync(): void {
    if (this.fd === null || !this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * This file is no longer the log at its path: deleted (its link count is 0), or the path
   * now names another file or nothing (renamed away). `previous` is where it is now, if it
   * still has a name the kernel knows (a rename in the same file system).
   */
  displaced(): { previous: string | null } | null {
    if (this.fd === null) return null;
    const held = fstatSync(this.fd);
    if (held.nlink === 0) return { previous: null };
    const now = lstatSync(this.path, { throwIfNoEntry: false });
    if (now && now.ino === held.ino && now.dev === held.dev) return null;
    try {
      const where = readlinkSync(`/proc/self/fd/${this.fd}`);
      return { previous: where.endsWith(' (deleted)') ? null : where };
    } catch {
      return { previous: null };
    }
  }

  close(): void {
    if (this.fd === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.durability !== 'none') this.syncQuietly();
    closeSync(this.fd);
    this.fd = null;
  }

  private write(line: Buffer): void {
    if (this.fd === null) throw new LogWriterError('ELOGCLOSED', 'event log writer is closed');
    const start = this.end;
    let off = 0;
    try {
      while (off < line.length) {
        const n = writeSync(this.fd, line, off, line.length - off);
        if (n <= 0) throw Object.assign(new Error('write(2) wrote nothing'), { code: 'EIO' });
        off += n;
      }
    } catch (e) {
      // A full disk can take half a line: cut it off, so the file holds only whole lines and
      // the line can be written whole later. (Shrinking a file needs no space.)
      if (off > 0) ftruncateSync(this.fd, start);
      throw e;
    }
    this.end = start + line.length;
    this.dirty = true;
    this.writes++;
    if (this.durability === 'every') this.sync();
    else if (this.durability === 'batch' && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.syncInBackground();
      }, this.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * The timed fsync runs on libuv's thread pool, not on the event loop: on a busy disk it
   * took milliseconds to tens of them, and a restart due meanwhile waited for it (issue 15,
   * the p99 of restart latency). `dirty` stays set until it succeeds, so a close or `every`
   * in the meantime still syncs by itself; an fsync that fails is reported and the next
   * write arms the next one.
   */
  private syncInBackground(): void {
    if (this.fd === null || !this.dirty) return;
    const fd = this.fd;
    const writes = this.writes;
    fsync(fd, (err) => {
      if (this.fd !== fd) return; // closed meanwhile (close syncs by itself)
      if (err) this.onSyncError(err);
      else if (this.writes === writes) this.dirty = false;
    });
  }

  /** An fsync failing (EIO) must not escape a timer: it is reported, and the next one retries. */
  private syncQuietly(): void {
    try {
      this.sync();
    } catch (e) {
      this.onSyncError(e as Error);
    }
  }
}

/** An event's line, newline included; refused (ELOGLINE) over the limit, naming `path`. */
export function encodeLine(event: Event, path: string): Buffer {
  const buf = Buffer.from(`${encodeEvent(event)}\n`, 'utf8');
  if (buf.length - 1 > MAX_LINE_BYTES)
    throw new LogWriterError(
      'ELOGLINE',
      `event log ${path}: a ${event.type} line of ${buf.length - 1} bytes is over the limit of ${describeLimit(MAX_LINE_BYTES)} per line; not written`,
    );
  return buf;
}

function openLog(dir: DirHandle, name: string, path: string, flags = OPEN_FLAGS): number {
  let fd: number;
  try {
    // O_NOFOLLOW: the log is never written through a symlink. O_NONBLOCK: a FIFO in its place
    // cannot block the open (fstat below refuses it).
    fd = openSync(dir.at(name), flags, 0o600);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const st = lstatSync(dir.at(name), { throwIfNoEntry: false });
    if (err.code === 'ELOOP' || st?.isSymbolicLink())
      throw new LogWriterError(
        'ELOGSYMLINK',
        `event log ${path} is a symbolic link; refusing to write through it`,
      );
    if (st && !st.isFile()) throw new LogWriterError('ELOGNOTFILE', notRegular(path, st).message);
    throw new LogWriterError('ELOGOPEN', `cannot open event log ${path}: ${err.message}`);
  }
  const st = fstatSync(fd);
  const why = st.isFile() ? untrustedFile(st, path) : null;
  if (!st.isFile() || why) {
    closeSync(fd);
    if (!st.isFile()) throw new LogWriterError('ELOGNOTFILE', notRegular(path, st).message);
    throw new ProcregError('ERUNDIR', `event log ${why}`);
  }
  return fd;
}

/** An empty file at the path is the fresh log; anything else is renamed aside first. */
function startFresh(
  fd: number,
  dir: DirHandle,
  name: string,
  path: string,
  onDisplaced: LogWriterOptions['onDisplaced'],
): number {
  const bytes = fstatSync(fd).size;
  if (bytes === 0) return fd;
  closeSync(fd);
  const aside = `${name}.displaced-${Date.now()}`;
  renameSync(dir.at(name), dir.at(aside));
  onDisplaced?.({ movedTo: `${path.slice(0, path.length - name.length)}${aside}`, bytes });
  return openLog(dir, name, path, OPEN_FLAGS | constants.O_EXCL);
}

/**
 * Find the last seq, and move a torn tail aside: the last line without its newline is copied
 * to `<path>.torn-<offset>` and cut off. Reads backwards from the end, each byte at most once,
 * and only as far as the last line that decodes; lines over the limit are skipped.
 */
function recoverTail(
  fd: number,
  dir: DirHandle,
  name: string,
  path: string,
  onRecovered: LogWriterOptions['onRecovered'],
): { lastSeq: number; end: number } {
  const size = fstatSync(fd).size;
  if (size === 0) return { lastSeq: 0, end: 0 };
  const lastByte = Buffer.alloc(1);
  readFully(fd, lastByte, size - 1);
  const torn = lastByte[0] !== 0x0a;
  let end = size;
  for (const { start, bytes } of linesBackward(fd, torn ? size : size - 1)) {
    if (torn && end === size) {
      moveTornAside(fd, dir, name, path, start, size, onRecovered);
      end = start;
      continue;
    }
    if (bytes === null) continue;
    const res = decodeEvent(bytes.toString('utf8'));
    if (res.ok) return { lastSeq: res.event.seq, end };
  }
  return { lastSeq: 0, end };
}

function moveTornAside(
  fd: number,
  dir: DirHandle,
  name: string,
  path: string,
  cut: number,
  size: number,
  onRecovered: LogWriterOptions['onRecovered'],
): void {
  const tmp = dir.at(`${name}.torn-${cut}.tmp`);
  const out = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    const buf = Buffer.alloc(Math.min(CHUNK, size - cut));
    for (let at = cut; at < size;) {
      const n = Math.min(buf.length, size - at);
      readFully(fd, buf.subarray(0, n), at);
      for (let off = 0; off < n;) off += writeSync(out, buf, off, n - off);
      at += n;
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
  }
  renameSync(tmp, dir.at(`${name}.torn-${cut}`));
  ftruncateSync(fd, cut);
  fsyncSync(fd);
  onRecovered?.({ tornBytes: size - cut, movedTo: `${path}.torn-${cut}` });
}
