// Output that must never stall supervision: written in the background, bounded, dropped with a count.
import { write as fsWrite } from 'node:fs';
import { Writable } from 'node:stream';

/** What was dropped while the output did not drain, said once it drains again. */
export interface DroppedOutput {
  readonly lines: number;
  readonly bytes: number;
  /** Wall time (epoch ms) of the first line dropped. */
  readonly since: number;
}

export interface BoundedWriterOptions {
  /** Bytes queued at most; a line that does not fit is dropped and counted. */
  readonly maxQueued?: number;
  /**
   * Called once the output drains again after lines were dropped — and every `reportEveryMs`
   * while it drains but too slowly to keep up.
   */
  readonly onResumed?: (dropped: DroppedOutput) => void;
  /** A chunk holding this text is the notice of a drop: queued even past `maxQueued`, once per notice. */
  readonly noticeMarker?: string;
  readonly reportEveryMs?: number;
  readonly now?: () => number;
}

/** How long a write that found the descriptor non-blocking and full waits before trying again. */
const RETRY_MS = 20;
/** Bytes handed to one write(2). */
const CHUNK = 64 * 1024;

/**
 * procreg's own log on stdout. A stdout nobody reads (a pipe whose reader stopped, a terminal
 * paused with Ctrl-S) used to block procreg in write(2): no restart, no `status`. Here every
 * line is queued and written by libuv's thread pool, one write at a time; past `maxQueued`
 * bytes lines are dropped and counted, and `onResumed` hears how many once the output drains
 * again. A stdout closed by its reader (EPIPE) drops everything from then on, silently.
 * A Writable whose write completes at once, so pino and pino-pretty can write to it.
 */
export class BoundedFdWriter extends Writable {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private pumpDue = false;
  private writeCalls = 0;
  private closedByReader = false;
  private dropped: { lines: number; bytes: number; since: number } | null = null;
  private noticesDue = 0;
  private readonly maxQueued: number;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly fd: number,
    private readonly options: BoundedWriterOptions = {},
  ) {
    super({ decodeStrings: true });
    this.maxQueued = options.maxQueued ?? 4 * 1024 * 1024;
  }

  /** Lines dropped so far and not yet reported. */
  get droppedLines(): number {
    return this.dropped?.lines ?? 0;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.queued;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.enqueue(chunk);
    cb();
  }

  /** Queue one chunk (whole lines); false when it was dropped. */
  enqueue(chunk: Buffer): boolean {
    if (this.closedByReader) return false;
    if (this.queued + chunk.length > this.maxQueued && !this.admitNotice(chunk)) {
      const now = (this.options.now ?? Date.now)();
      this.dropped ??= { lines: 0, bytes: 0, since: now };
      this.dropped.lines += countLines(chunk);
      this.dropped.bytes += chunk.length;
      return false;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.pumpSoon();
    return true;
  }

  /** write(2) calls made so far (each hands the thread pool one chunk). */
  get writes(): number {
    return this.writeCalls;
  }

  /**
   * The lines of this turn go out together once its work is done: one write for a restart's
   * three lines, and no thread-pool wake-up (which can take the CPU from the event loop on a
   * busy machine) between the exit and the new PID file (issue 15: restart latency).
   */
  private pumpSoon(): void {
    if (this.pumpDue || this.writing) return;
    this.pumpDue = true;
    queueMicrotask(() => {
      this.pumpDue = false;
      this.pump();
    });
  }

  /** The notice of a drop gets through a full queue, so a drop is always said. */
  private admitNotice(chunk: Buffer): boolean {
    const marker = this.options.noticeMarker;
    if (this.noticesDue === 0 || marker === undefined || !chunk.includes(marker)) return false;
    this.noticesDue--;
    return true;
  }

  /** Resolves once everything queued is written (or the reader is gone), or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private idle(): boolean {
    return this.closedByReader || (!this.writing && this.queue.length === 0);
  }

  private pump(): void {
    if (this.writing || this.closedByReader || this.queue.length === 0) return;
    this.writing = true;
    const buf = this.take();
    this.writeOut(buf, buf.length);
  }

  /** The next chunk to write: queued buffers joined up to CHUNK bytes. */
  private take(): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    while (this.queue.length > 0 && (size === 0 || size + (this.queue[0] as Buffer).length <= CHUNK)) {
      const b = this.queue.shift() as Buffer;
      parts.push(b);
      size += b.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  }

  private writeOut(buf: Buffer, total: number): void {
    this.writeCalls++;
    fsWrite(this.fd, buf, 0, buf.length, null, (err, written) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A descriptor someone made non-blocking: full for now, try again shortly.
        if (code === 'EAGAIN') return void setTimeout(() => this.writeOut(buf, total), RETRY_MS);
        this.closedByReader = true; // EPIPE, or any other failure: this output is gone
        this.queue.length = 0;
        this.queued = 0;
        this.writing = false;
        return this.wakeIdle();
      }
      if (written < buf.length) return this.writeOut(buf.subarray(written), total);
      this.queued -= total;
      this.writing = false;
      this.resumeIfDropped();
      if (this.queue.length > 0) this.pump();
      else this.wakeIdle();
    });
  }

  /**
   * Say what was dropped once there is room again (half the queue free), or every
   * reportEveryMs while the output drains too slowly to catch up.
   */
  private resumeIfDropped(): void {
    if (this.dropped === null) return;
    const now = (this.options.now ?? Date.now)();
    const roomAgain = this.queued <= this.maxQueued / 2;
    if (!roomAgain && now - this.dropped.since < (this.options.reportEveryMs ?? 1000)) return;
    const dropped = this.dropped;
    this.dropped = null;
    this.noticesDue++;
    this.options.onResumed?.(dropped);
  }

  private wakeIdle(): void {
    if (!this.idle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

function countLines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return Math.max(n, 1);
}
