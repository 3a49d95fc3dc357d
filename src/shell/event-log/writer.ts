import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { decodeEvent, encodeEvent, stamp } from '../../events/codec.js';
import { ProcregError } from '../errors.js';
import type { Event, EventBody } from '../../events/types.js';

/**
 * every: fsync after each event (nothing acknowledged is ever lost);
 * batch: write(2) each event at once (survives a crash of procreg), fsync at most every
 *        `fsyncIntervalMs` (survives a power loss up to that window);
 * none:  write(2) each event, leave syncing to the kernel.
 */
export type Durability = 'every' | 'batch' | 'none';

export interface LogWriterOptions {
  readonly durability?: Durability;
  readonly fsyncIntervalMs?: number;
  /** Told about a torn tail moved aside on open. */
  readonly onRecovered?: (info: { tornBytes: number; movedTo: string }) => void;
}

export class LogWriterError extends ProcregError {
  declare readonly code: 'ELOGSYMLINK' | 'ELOGOPEN' | 'ELOGCLOSED';
  constructor(code: 'ELOGSYMLINK' | 'ELOGOPEN' | 'ELOGCLOSED', message: string) {
    super(code, message);
  }
}

/**
 * The one writer of an event log. Appends one JSON line per event with seq continuing the
 * file's last seq. Opening a log that ends in a torn line (a crash mid-write) moves that
 * fragment to `<path>.torn-<offset>` and truncates it away, so the next line is not glued
 * to it and nothing is lost.
 */
export class LogWriter {
  private fd: number | null;
  private seq: number;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly durability: Durability;
  private readonly fsyncIntervalMs: number;

  private constructor(
    /** The file this writer appends to. */
    readonly path: string,
    fd: number,
    lastSeq: number,
    options: LogWriterOptions,
  ) {
    this.fd = fd;
    this.seq = lastSeq;
    this.durability = options.durability ?? 'batch';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 100;
  }

  static open(path: string, options: LogWriterOptions = {}): LogWriter {
    let fd: number;
    try {
      // O_NOFOLLOW: the log is never written through a symlink (DESIGN.md invariant 4's rule, for logs too).
      fd = openSync(
        path,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ELOOP')
        throw new LogWriterError(
          'ELOGSYMLINK',
          `event log ${path} is a symbolic link; refusing to write through it`,
        );
      throw new LogWriterError('ELOGOPEN', `cannot open event log ${path}: ${err.message}`);
    }
    try {
      const lastSeq = recoverTail(fd, path, options.onRecovered);
      return new LogWriter(path, fd, lastSeq, options);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Stamp the next seq and the given times (wall and monotonic ms) on `body`, and append it. */
  append(body: EventBody, time: number, mono: number): Event {
    const event = stamp(body, this.seq + 1, time, mono);
    this.write(`${encodeEvent(event)}\n`);
    this.seq = event.seq;
    return event;
  }

  /** Force everything written so far to disk. */
  sync(): void {
    if (this.fd === null || !this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  close(): void {
    if (this.fd === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.durability !== 'none') this.sync();
    closeSync(this.fd);
    this.fd = null;
  }

  private write(text: string): void {
    if (this.fd === null) throw new LogWriterError('ELOGCLOSED', 'event log writer is closed');
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.dirty = true;
    if (this.durability === 'every') this.sync();
    else if (this.durability === 'batch' && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sync();
      }, this.fsyncIntervalMs);
      this.timer.unref();
    }
  }
}

/** Find the last seq; move a torn tail aside. Reads backwards from the end, never the whole file. */
function recoverTail(fd: number, path: string, onRecovered: LogWriterOptions['onRecovered']): number {
  const size = fstatSync(fd).size;
  if (size === 0) return 0;
  const block = 64 * 1024;
  let end = size;
  let tail = Buffer.alloc(0);
  let checkedTorn = false;
  while (end > 0 || tail.length > 0) {
    const lastNl = tail.lastIndexOf(0x0a);
    if (!checkedTorn && (lastNl >= 0 || end === 0)) {
      checkedTorn = true;
      if (tail.length > 0 && tail[tail.length - 1] !== 0x0a) {
        const cut = end + lastNl + 1;
        const fragment = tail.subarray(lastNl + 1);
        const movedTo = `${path}.torn-${cut}`;
        const out = openSync(
          `${movedTo}.tmp`,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          writeSync(out, fragment);
          fsyncSync(out);
        } finally {
          closeSync(out);
        }
        renameSync(`${movedTo}.tmp`, movedTo);
        ftruncateSync(fd, cut);
        fsyncSync(fd);
        onRecovered?.({ tornBytes: fragment.length, movedTo });
        tail = tail.subarray(0, lastNl + 1);
        continue;
      }
    }
    // Walk complete lines from the end until one decodes.
    if (tail.length > 0 && tail[tail.length - 1] === 0x0a) {
      // (a negative offset would make lastIndexOf count from the end, hence the guard)
      const prevNl = tail.length >= 2 ? tail.lastIndexOf(0x0a, tail.length - 2) : -1;
      if (prevNl >= 0 || end === 0) {
        const line = tail.subarray(prevNl + 1, tail.length - 1).toString('utf8');
        const res = decodeEvent(line);
        if (res.ok) return res.event.seq;
        tail = tail.subarray(0, prevNl + 1);
        continue;
      }
    }
    if (end === 0) return 0;
    const start = Math.max(0, end - block);
    const chunk = Buffer.alloc(end - start);
    readSync(fd, chunk, 0, chunk.length, start);
    tail = Buffer.concat([chunk, tail]);
    end = start;
  }
  return 0;
}
