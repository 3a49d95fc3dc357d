/**
 * Reads an event log as a stream of events, knowing the byte offset after every complete
 * line (so a follower continues exactly there) and the line number of every problem. Memory:
 * one chunk and one line. Damaged lines are reported and skipped, as docs/event-log.md says:
 * `invalid`, `seq-repeat` (a duplicate or a line out of order, skipped), `seq-gap` (kept),
 * `torn` (a last line cut short by a crash; in follow mode it is a line still being written,
 * and is waited for instead).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { decodeEvent } from '../../events/codec.js';
import type { Event } from '../../events/types.js';

export interface LogProblem {
  readonly path: string;
  readonly line: number;
  readonly kind: 'invalid' | 'torn' | 'seq-gap' | 'seq-repeat';
  readonly message: string;
}

/** An event with its line as read (without the newline). */
export interface RawEvent {
  readonly event: Event;
  readonly line: Buffer;
}

export interface ReaderOptions {
  readonly onProblem?: (p: LogProblem) => void;
  /** The file was replaced by a new log that starts over at seq 1 (told once per replacement). */
  readonly onNewLog?: (firstSeq: number, lastSeqBefore: number) => void;
  /** Bytes read so far of the file's size when reading began. */
  readonly onProgress?: (bytes: number, total: number) => void;
  readonly chunkSize?: number;
}

/**
 * One pass over a file from a byte offset. After the iteration ends, `offset` is where the
 * next complete line starts (an incomplete tail is not consumed) and `pending` how many bytes
 * of such a tail there were.
 */
export class LogReader {
  offset: number;
  line: number;
  lastSeq: number;
  pending = 0;
  /** After a restart: events up to this seq were read from the previous file; skip them quietly. */
  private quietUpTo = 0;
  private fresh = false;

  constructor(
    readonly path: string,
    private readonly options: ReaderOptions = {},
    at: { offset?: number; line?: number; lastSeq?: number } = {},
  ) {
    this.offset = at.offset ?? 0;
    this.line = at.line ?? 0;
    this.lastSeq = at.lastSeq ?? 0;
  }

  /**
   * The file at the path was replaced (rotated) or truncated: read the new one from its start.
   * Events already read (a copy of the old file's tail) are skipped quietly; a new log that
   * starts over at seq 1 is told and read from its start.
   */
  restart(): void {
    this.offset = 0;
    this.line = 0;
    this.pending = 0;
    this.quietUpTo = this.lastSeq;
    this.fresh = true;
  }

  /**
   * The events from `offset` to the end of the file as it is now. `final`: the file is
   * complete (not followed), so an unterminated last line is torn (or a last event without
   * its newline); otherwise it is left for the next pass.
   */
  async *events(final: boolean, fd?: FileHandle): AsyncGenerator<Event> {
    for await (const batch of this.batches(final, fd)) yield* batch;
  }

  /** The same, one array per chunk read. */
  batches(final: boolean, fd?: FileHandle): AsyncGenerator<Event[]> {
    return this.chunks(final, fd, (event) => event);
  }

  /**
   * The same, each event with its line's bytes as read (without the newline): what a shipper
   * sends on, with no encoding again. Each chunk is read into a buffer of its own, so the lines
   * stay valid after the next read.
   */
  lines(final: boolean, fd?: FileHandle): AsyncGenerator<RawEvent[]> {
    return this.chunks(final, fd, (event, line) => ({ event, line }), true);
  }

  private async *chunks<T>(
    final: boolean,
    fd: FileHandle | undefined,
    make: (event: Event, line: Buffer) => T,
    freshBuffers = false,
  ): AsyncGenerator<T[]> {
    const handle = fd ?? (await open(this.path, 'r'));
    try {
      const total = (await handle.stat()).size;
      const size = this.options.chunkSize ?? 1 << 20;
      let buf = Buffer.alloc(size);
      let carry: Buffer | null = null;
      let pos = this.offset;
      let lastReport = 0;
      for (;;) {
        if (freshBuffers) buf = Buffer.allocUnsafe(buf.length);
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        let chunk = buf.subarray(0, bytesRead);
        if (carry) {
          chunk = Buffer.concat([carry, chunk]);
          carry = null;
        }
        let start = 0;
        let nl = chunk.indexOf(0x0a, start);
        const out: T[] = [];
        while (nl >= 0) {
          const ev = this.take(chunk.toString('utf8', start, nl), false);
          this.offset += nl - start + 1;
          if (ev) out.push(make(ev, chunk.subarray(start, nl)));
          start = nl + 1;
          nl = chunk.indexOf(0x0a, start);
        }
        if (start < chunk.length) carry = Buffer.from(chunk.subarray(start));
        if (out.length > 0) yield out;
        if (this.options.onProgress && pos - lastReport > 4 << 20) {
          lastReport = pos;
          this.options.onProgress(pos, total);
        }
        if (carry && carry.length >= buf.length) buf = Buffer.alloc(carry.length * 2);
      }
      this.pending = carry?.length ?? 0;
      if (carry && final) {
        const ev = this.take(carry.toString('utf8'), true);
        this.offset += carry.length;
        this.pending = 0;
        if (ev) yield [make(ev, carry)];
      }
      this.options.onProgress?.(pos, total);
    } finally {
      if (!fd) await handle.close();
    }
  }

  private take(text: string, last: boolean): Event | null {
    this.line++;
    const problem = (kind: LogProblem['kind'], message: string) =>
      this.options.onProblem?.({ path: this.path, line: this.line, kind, message });
    if (text.length === 0) {
      problem('invalid', 'empty line');
      return null;
    }
    const res = decodeEvent(text);
    if (!res.ok) {
      if (last)
        problem('torn', `the last line is incomplete (${res.error}): a write cut short by a crash; skipped`);
      else problem('invalid', res.error);
      return null;
    }
    const seq = res.event.seq;
    if (this.fresh) {
      this.fresh = false;
      if (seq === 1 && this.lastSeq > 0) {
        this.options.onNewLog?.(seq, this.lastSeq);
        this.lastSeq = 0;
        this.quietUpTo = 0;
      }
    }
    if (seq <= this.quietUpTo) return null;
    if (seq <= this.lastSeq) {
      problem(
        'seq-repeat',
        `seq ${seq} does not follow seq ${this.lastSeq} (a duplicate or a line out of order); skipped`,
      );
      return null;
    }
    if (this.lastSeq > 0 && seq !== this.lastSeq + 1)
      problem(
        'seq-gap',
        `seq jumps from ${this.lastSeq} to ${seq}: ${seq - this.lastSeq - 1} event(s) missing`,
      );
    this.lastSeq = seq;
    return res.event;
  }
}
