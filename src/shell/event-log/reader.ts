import { closeSync, constants, createReadStream, fstatSync, lstatSync, openSync } from 'node:fs';
import { decodeEvent } from '../../events/codec.js';
import { LineSplitter } from '../../events/line-splitter.js';
import type { Event } from '../../events/types.js';
import { notRegular, resolveParent, RunDir } from '../files/run-dir.js';
import { describeLimit, MAX_LINE_BYTES } from './limits.js';

/** Something wrong in a log, with its 1-based line number. Reading goes on past it. */
export interface LogProblem {
  /** The file it is in (a log of several segments names the segment). */
  readonly file?: string;
  /**
   * 1-based line number in `file` — counted from where reading began in it, when that was not
   * its start (a supervisor starting from a snapshot: see `fromOffset`).
   */
  readonly line: number;
  /** Set when reading began at this byte offset of `file` instead of its start. */
  readonly fromOffset?: number;
  /**
   * invalid: the line is not a valid event and was skipped; torn: the last line was cut short
   * (a crash mid-write) and was skipped; seq-gap: events are missing before this one (it is
   * kept); seq-repeat: seq is not above the previous one (the line is skipped). A gap that a
   * log-gap record explains (its fromSeq..toSeq are exactly the seqs missing before it) is
   * not a problem: the log says where those events went. Across segments, a seq-gap is a
   * missing segment, a seq-repeat a segment overlapping the one before; foreign-log: a
   * snapshot names another log's id than the segments before it (a segment of another log).
   */
  readonly kind: 'invalid' | 'torn' | 'seq-gap' | 'seq-repeat' | 'foreign-log';
  readonly message: string;
  /** For seq-gap and seq-repeat: the line's seq, and the seq of the last event before it. */
  readonly seq?: number;
  readonly previousSeq?: number;
  /** For seq-gap and seq-repeat at the start of a file: the file that event was in. */
  readonly previousFile?: string;
}

export interface LogBatch {
  /** The file these events are from. */
  readonly file: string;
  readonly events: Event[];
  /** 1-based line number of each event, parallel to `events`. */
  readonly lines: number[];
  readonly problems: LogProblem[];
}

export interface ReadLogOptions {
  /** Bytes read per chunk; memory use is bounded by this, not by the file size. */
  readonly chunkSize?: number;
}

/** One file of a log to read: all of it, or from a byte offset (the start of a line). */
export interface LogPart {
  readonly path: string;
  readonly start?: number;
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
  yield* readLogParts([{ path }], options);
}

/**
 * The same over several files read as one log, in the order given (a segmented log: its
 * closed segments by first seq, then the live one): seq must go on from one file to the
 * next (a missing segment is a seq-gap naming both files, an overlapping one seq-repeats),
 * and every snapshot must name the same log id. Only the last file may end in a torn line.
 */
export async function* readLogParts(
  parts: readonly LogPart[],
  options: ReadLogOptions = {},
): AsyncGenerator<LogBatch> {
  const chain = newChain();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as LogPart;
    const fd = openLogForReading(part.path);
    const stream = createReadStream('', {
      fd,
      encoding: 'utf8',
      highWaterMark: options.chunkSize ?? 1 << 20,
      start: part.start ?? 0,
    });
    try {
      const lines = new LogLines(part.path, part.start ?? 0, chain, i === parts.length - 1);
      for await (const chunk of stream as AsyncIterable<string>) yield lines.push(chunk);
      yield lines.end();
    } finally {
      stream.destroy(); // closes the descriptor, also when the reader stops early
    }
  }
}

/** What carries from one file of a log to the next. */
export interface Chain {
  lastSeq: number;
  lastFile: string | null;
  logId: string | null;
  logIdFile: string | null;
}

export const newChain = (): Chain => ({ lastSeq: 0, lastFile: null, logId: null, logIdFile: null });

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

/** Decodes the lines of one file of a log in order: line numbers, seq order, a torn last line. */
export class LogLines {
  private lineNo = 0;
  private batch: LogBatch;
  private readonly where: { file: string; fromOffset?: number };
  /** Inside a line over the limit: its pieces are skipped until its end. */
  private overlong = false;
  private readonly splitter = new LineSplitter((line, cut) => this.piece(line, cut), MAX_LINE_BYTES);

  constructor(
    private readonly file: string,
    start: number,
    private readonly chain: Chain,
    /** The last file of the log: a line cut short at its end is a torn tail, elsewhere damage. */
    private readonly lastFile: boolean,
  ) {
    this.where = start > 0 ? { file, fromOffset: start } : { file };
    this.batch = newBatch(file);
  }

  private get lastSeq(): number {
    return this.chain.lastSeq;
  }

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
        ...this.where,
        line: this.lineNo,
        kind: this.lastFile ? 'torn' : 'invalid',
        message: `last line is incomplete and over the limit of ${describeLimit(MAX_LINE_BYTES)}; skipped`,
      });
    } else if (rest !== null) this.take(rest, true);
    this.chain.lastFile = this.file;
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
    this.batch.problems.push({ ...this.where, line: this.lineNo, kind: 'invalid', message: tooLong() });
  }

  private flush(): LogBatch {
    const b = this.batch;
    this.batch = newBatch(this.file);
    return b;
  }

  private problem(p: Omit<LogProblem, 'line' | 'file' | 'fromOffset'>): void {
    this.batch.problems.push({ ...this.where, line: this.lineNo, ...p });
  }

  /** For a seq problem at the start of a file: the file the event before it was in. Only on a problem: not per line. */
  private across(): { across: string; acrossField: { previousFile?: string } } {
    const previousFile =
      this.chain.lastFile !== null && this.chain.lastFile !== this.file ? this.chain.lastFile : null;
    return previousFile
      ? { across: ` (after ${previousFile})`, acrossField: { previousFile } }
      : { across: '', acrossField: {} };
  }

  private take(line: string, last: boolean): void {
    const out = this.batch;
    this.lineNo++;
    if (line.length === 0) return this.problem({ kind: 'invalid', message: 'empty line' });
    // Fewer characters than the limit, but up to 3 bytes each in UTF-8: count where it matters.
    if (line.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(line, 'utf8') > MAX_LINE_BYTES)
      return this.problem({ kind: last && this.lastFile ? 'torn' : 'invalid', message: tooLong() });
    const res = decodeEvent(line);
    if (!res.ok) {
      // A last line without its newline that does not parse is a write cut short by a crash.
      if (last && this.lastFile)
        return this.problem({ kind: 'torn', message: `last line is incomplete (${res.error}); skipped` });
      return this.problem({
        kind: 'invalid',
        message: last ? `last line of a closed segment is incomplete (${res.error})` : res.error,
      });
    }
    const event = res.event;
    const seq = event.seq;
    if (seq <= this.lastSeq) {
      const { across, acrossField } = this.across();
      return this.problem({
        kind: 'seq-repeat',
        message: `seq ${seq} does not follow ${this.lastSeq}${across}; line skipped`,
        seq,
        previousSeq: this.lastSeq,
        ...acrossField,
      });
    }
    if (this.lastSeq > 0 && seq !== this.lastSeq + 1 && !explainsGap(event, this.lastSeq)) {
      const { across, acrossField } = this.across();
      this.problem({
        kind: 'seq-gap',
        message: `seq jumps from ${this.lastSeq} to ${seq}${across}: ${seq - this.lastSeq - 1} event(s) missing`,
        seq,
        previousSeq: this.lastSeq,
        ...acrossField,
      });
    }
    if (event.type === 'snapshot' && event.logId !== null) {
      if (this.chain.logId !== null && event.logId !== this.chain.logId)
        this.problem({
          kind: 'foreign-log',
          message: `the snapshot at seq ${seq} belongs to log ${event.logId}, but ${this.chain.logIdFile} belongs to log ${this.chain.logId}: a segment of another log?`,
          seq,
        });
      else if (this.chain.logId === null) {
        this.chain.logId = event.logId;
        this.chain.logIdFile = this.file;
      }
    }
    this.chain.lastSeq = seq;
    this.chain.lastFile = this.file;
    out.events.push(event);
    out.lines.push(this.lineNo);
  }
}

const newBatch = (file: string): LogBatch => ({ file, events: [], lines: [], problems: [] });

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
  yield* itemsOf(readLogBatches(path, options));
}

/** Items of batches, events and problems in line order. */
export async function* itemsOf(batches: AsyncIterable<LogBatch>): AsyncGenerator<LogItem> {
  for await (const { events, lines, problems } of batches) {
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
