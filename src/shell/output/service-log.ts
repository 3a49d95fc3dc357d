// A service's log file, kept by procreg: its output lines, size-capped and rotated.
import { closeSync, fstatSync, renameSync, rmSync, write as fsWrite } from 'node:fs';
import type { ServiceLogDef } from '../../config/types.js';
import { openOutputFile } from '../files/output-file.js';
import type { DroppedOutput } from './bounded-writer.js';

/** Bytes of lines waiting for the disk at most; past that, lines are dropped and counted. */
const MAX_QUEUED = 1024 * 1024;

/**
 * Lines go to a queue and are written by libuv's thread pool, one write at a time, so a slow
 * disk never holds up the pipe the service writes to (nor procreg): past MAX_QUEUED bytes
 * lines are dropped and counted, and `onDropped` hears how many once the queue has room.
 * Before a write would take the file past `maxSize`, it is rotated as logrotate does: `path`
 * becomes `path.1`, `path.1` becomes `path.2`, … up to `path.<keep>` (the oldest is deleted).
 * The file is opened as a service's output file is (O_APPEND, O_NOFOLLOW, inside runDir).
 */
export class ServiceLog {
  private readonly queue: string[] = [];
  private queued = 0;
  private writing = false;
  private fd: number | null = null;
  private size = 0;
  private dropped: { lines: number; bytes: number; since: number } | null = null;
  private closed = false;

  constructor(
    readonly def: ServiceLogDef,
    private readonly onDropped: (d: DroppedOutput) => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** One line of output (without its newline), stamped with the time and stream. */
  line(stream: 'stdout' | 'stderr', pid: number, text: string): void {
    if (this.closed) return;
    const entry = `${new Date().toISOString()} ${pid} ${stream}: ${text}\n`;
    if (this.queued + entry.length > MAX_QUEUED) {
      this.dropped ??= { lines: 0, bytes: 0, since: Date.now() };
      this.dropped.lines++;
      this.dropped.bytes += Buffer.byteLength(entry);
      return;
    }
    this.queue.push(entry);
    this.queued += entry.length;
    this.pump();
  }

  /** Stop writing: what is queued is written, then the file is closed. */
  close(): void {
    this.closed = true;
    if (!this.writing && this.queue.length === 0) this.release();
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0) return;
    // Whole lines, no more than fit before the next rotation is due (at least one line).
    const room = Math.min(64 * 1024, this.def.maxSize);
    let text = this.queue.shift() as string;
    while (this.queue.length > 0 && text.length + (this.queue[0] as string).length <= room)
      text += this.queue.shift() as string;
    const buf = Buffer.from(text);
    this.writing = true;
    let fd: number;
    try {
      fd = this.ready(buf.length);
    } catch (e) {
      this.writing = false;
      this.queued -= text.length;
      this.onError((e as Error).message);
      return;
    }
    fsWrite(fd, buf, 0, buf.length, null, (err) => {
      this.writing = false;
      this.queued -= text.length;
      if (err) this.onError(`log file ${this.def.path}: ${err.message}`);
      else this.size += buf.length;
      if (this.dropped && this.queued <= MAX_QUEUED / 2) {
        const d = this.dropped;
        this.dropped = null;
        this.onDropped(d);
      }
      if (this.queue.length > 0) this.pump();
      else if (this.closed) this.release();
    });
  }

  /** The descriptor to write `bytes` more to: rotated first when they would pass maxSize. */
  private ready(bytes: number): number {
    if (this.fd !== null && this.size > 0 && this.size + bytes > this.def.maxSize) {
      this.release();
      rotate(this.def.path, this.def.keep);
    }
    if (this.fd === null) {
      this.fd = openOutputFile(this.def.path);
      this.size = fstatSync(this.fd).size;
      if (this.size > 0 && this.size + bytes > this.def.maxSize) {
        this.release();
        rotate(this.def.path, this.def.keep);
        this.fd = openOutputFile(this.def.path);
        this.size = 0;
      }
    }
    return this.fd;
  }

  private release(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/** path.<keep-1> → path.<keep>, …, path → path.1; with keep 0 the file is just removed. */
export function rotate(path: string, keep: number): void {
  if (keep === 0) return rmSync(path, { force: true });
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) renameQuietly(`${path}.${i}`, `${path}.${i + 1}`);
  renameQuietly(path, `${path}.1`);
}

function renameQuietly(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
