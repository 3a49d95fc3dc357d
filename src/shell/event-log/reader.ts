import { closeSync, constants, createReadStream, fstatSync, lstatSync, openSync } from 'node:fs';
import { decodeEvent } from '../../events/codec.js';
import { LineSplitter } from '../../events/line-splitter.js';
import type { Event } from '../../events/types.js';
import { notRegular, resolveParent, RunDir } from '../files/run-dir.js';
import { describeLimit, MAX_LINE_BYTES } from './limits.js';

/** Something wrong in a log, with its 1-based line number. Reading goes on past it. */
export interface LogProblem {
  readonly line: number;
  /**
   * invalid: the line is not a valid event and was skipped; torn: the last line was cut short
   * (a crash mid-write) and was skipped; seq-gap: events are missing before this one (it is
   * kept); seq-repeat: seq is not above the previous one (the line is skipped). A gap that a
   * log-gap record explains (its fromSeq..toSeq are exactly the seqs missing before it) is
   * not a problem: the log says where those events went.
   */
  readonly kind: 'invalid' | 'torn' | 'seq-gap' | 'seq-repeat';
  readonly message: string;
  /** For seq-gap and seq-repeat: the line's seq, and the seq of the last event before it. */
  readonly seq?: number;
  readonly previousSeq?: number;
}

export interface LogBatch {
  readonly events: Event[];
  /** 1-based line number of each event, parallel to `events`. */
  readonly lines: number[];
  readonly problems: LogProblem[];
}

export interface ReadLogOptions {
  /** Bytes read per chunk; memory use is bounded by this, not by the file size. */
  readonly chunkSize?: number;
}

/**
 * Streams a JSONL event log in batches (one per chunk read), validating every line and
 * checking that seq increases by one. It never holds more than a chunk and one line, and a
 * line over MAX_LINE_BYTES (16 MiB) is reported and skipped, never held whole. The file is
 * opened O_NONBLOCK and checked before a byte is read: anything but a regular file (a FIFO
 * would block, a device never end) is refused with a ProcregError ELOGNOTFILE. Inside an open
 * runDir it is reached through the runDir's descriptor, following no symlink. A missing file
 * throws the system's ENOENT error.
 */
export async function* readLogBatches(path: string, options: ReadLogOptions = {}): AsyncGenerator<LogBatch> {
  const fd = openLogForReading(path);
  const stream = createReadStream('', { fd, encoding: 'utf8', highWaterMark: options.chunkSize ?? 1 << 20 });
  try {
    const lines = new LogLines();
    for await (const chunk of stream as AsyncIterable<string>) yield lines.push(chunk);
    yield lines.end();
  } finally {
    stream.destroy(); // closes the descriptor, also when the reader stops early
  }
}

/** A descriptor on the log for reading: a regular file, or a ProcregError saying what is there instead. */
export function openLogForReading(path: string): number {
  let fd: number;
  let at = path;
  let release = () => {};
  if (RunDir.containing(path)) {
    const parent = resolveParent(path, { what: `event log ${path}`, code: 'ERUNDIR' });
    at = parent.dir.at(parent.name);
    release = parent.release;
  }
  try {
    try {
      const nofollow = at === path ? 0 : constants.O_NOFOLLOW;
      fd = openSync(at, constants.O_RDONLY | constants.O_NONBLOCK | nofollow);
    } catch (e) {
      // A socket cannot be opened at all (ENXIO): say what it is.
      const st = lstatSync(at, { throwIfNoEntry: false });
      if (st && !st.isFile() && !st.isSymbolicLink()) throw notRegular(path, st);
      throw e;
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw notRegular(path, st);
    }
    return fd;
  } finally {
    release();
  }
}

/** Decodes the lines of one log in order: line numbers, seq order, a torn last line. */
class LogLines {
  private lineNo = 0;
  private lastSeq = 0;
  private batch: LogBatch = newBatch();
  /** Inside a line over the limit: its pieces are skipped until its end. */
  private overlong = false;
  private readonly splitter = new LineSplitter((line, cut) => this.piece(line, cut), MAX_LINE_BYTES);

  push(chunk: string): LogBatch {
    this.splitter.push(chunk);
    return this.flush();
  }

  end(): LogBatch {
    const rest = this.splitter.end();
    if (this.overlong) {
      this.overlong = false;
      this.lineNo++;
      this.batch.problems.push({
        line: this.lineNo,
        kind: 'torn',
        message: `last line is incomplete and over the limit of ${describeLimit(MAX_LINE_BYTES)}; skipped`,
      });
    } else if (rest !== null) this.take(rest, true);
    return this.flush();
  }

  /** The splitter counts characters: a line of more characters than the limit has more bytes too. */
  private piece(line: string, cut: boolean): void {
    if (cut) {
      this.overlong = true;
      return;
    }
    if (!this.overlong) return this.take(line, false);
    this.overlong = false;
    this.lineNo++;
    this.batch.problems.push({ line: this.lineNo, kind: 'invalid', message: tooLong() });
  }

  private flush(): LogBatch {
    const b = this.batch;
    this.batch = newBatch();
    return b;
  }

  private take(line: string, last: boolean): void {
    const out = this.batch;
    this.lineNo++;
    if (line.length === 0) {
      out.problems.push({ line: this.lineNo, kind: 'invalid', message: 'empty line' });
      return;
    }
    // Fewer characters than the limit, but up to 3 bytes each in UTF-8: count where it matters.
    if (line.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(line, 'utf8') > MAX_LINE_BYTES) {
      out.problems.push({ line: this.lineNo, kind: last ? 'torn' : 'invalid', message: tooLong() });
      return;
    }
    const res = decodeEvent(line);
    if (!res.ok) {
      // A last line without its newline that does not parse is a write cut short by a crash.
      if (last)
        out.problems.push({
          line: this.lineNo,
          kind: 'torn',
          message: `last line is incomplete (${res.error}); skipped`,
        });
      else out.problems.push({ line: this.lineNo, kind: 'invalid', message: res.error });
      return;
    }
    const seq = res.event.seq;
    if (seq <= this.lastSeq) {
      out.problems.push({
        line: this.lineNo,
        kind: 'seq-repeat',
        message: `seq ${seq} does not follow ${this.lastSeq}; line skipped`,
        seq,
        previousSeq: this.lastSeq,
      });
      return;
    }
    if (this.lastSeq > 0 && seq !== this.lastSeq + 1 && !explainsGap(res.event, this.lastSeq)) {
      out.problems.push({
        line: this.lineNo,
        kind: 'seq-gap',
        message: `seq jumps from ${this.lastSeq} to ${seq}: ${seq - this.lastSeq - 1} event(s) missing`,
        seq,
        previousSeq: this.lastSeq,
      });
    }
    this.lastSeq = seq;
    out.events.push(res.event);
    out.lines.push(this.lineNo);
  }
}

const newBatch = (): LogBatch => ({ events: [], lines: [], problems: [] });

const tooLong = () =>
  `line is over the limit of ${describeLimit(MAX_LINE_BYTES)} per line (procreg writes none longer); skipped`;

/** A log-gap record naming exactly the seqs missing before it. */
const explainsGap = (e: Event, lastSeq: number): boolean =>
  e.type === 'log-gap' && e.fromSeq === lastSeq + 1 && e.toSeq === e.seq - 1;

export type LogItem =
  | { readonly kind: 'event'; readonly event: Event }
  | { readonly kind: 'problem'; readonly problem: LogProblem };

/** The same stream one item at a time, events and problems in line order. */
export async function* readLog(path: string, options?: ReadLogOptions): AsyncGenerator<LogItem> {
  for await (const { events, lines, problems } of readLogBatches(path, options)) {
    let p = 0;
    for (let i = 0; i < events.length; i++) {
      while (p < problems.length && (problems[p] as LogProblem).line <= (lines[i] as number)) {
        yield { kind: 'problem', problem: problems[p++] as LogProblem };
      }
      yield { kind: 'event', event: events[i] as Event };
    }
    while (p < problems.length) yield { kind: 'problem', problem: problems[p++] as LogProblem };
  }
}
