import { createReadStream } from 'node:fs';
import { decodeEvent } from '../../events/codec.js';
import { LineSplitter } from '../../events/line-splitter.js';
import type { Event } from '../../events/types.js';

/** Something wrong in a log, with its 1-based line number. Reading goes on past it. */
export interface LogProblem {
  readonly line: number;
  /**
   * invalid: the line is not a valid event and was skipped; torn: the last line was cut short
   * (a crash mid-write) and was skipped; seq-gap: events are missing before this one (it is
   * kept); seq-repeat: seq is not above the previous one (the line is skipped).
   */
  readonly kind: 'invalid' | 'torn' | 'seq-gap' | 'seq-repeat';
  readonly message: string;
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
 * checking that seq increases by one. It never holds more than a chunk and one line.
 */
export async function* readLogBatches(path: string, options: ReadLogOptions = {}): AsyncGenerator<LogBatch> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: options.chunkSize ?? 1 << 20 });
  const lines = new LogLines();
  for await (const chunk of stream as AsyncIterable<string>) yield lines.push(chunk);
  yield lines.end();
}

/** Decodes the lines of one log in order: line numbers, seq order, a torn last line. */
class LogLines {
  private lineNo = 0;
  private lastSeq = 0;
  private batch: LogBatch = newBatch();
  private readonly splitter = new LineSplitter((line) => this.take(line, false));

  push(chunk: string): LogBatch {
    this.splitter.push(chunk);
    return this.flush();
  }

  end(): LogBatch {
    const rest = this.splitter.end();
    if (rest !== null) this.take(rest, true);
    return this.flush();
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
      });
      return;
    }
    if (this.lastSeq > 0 && seq !== this.lastSeq + 1) {
      out.problems.push({
        line: this.lineNo,
        kind: 'seq-gap',
        message: `seq jumps from ${this.lastSeq} to ${seq}: ${seq - this.lastSeq - 1} event(s) missing`,
      });
    }
    this.lastSeq = seq;
    out.events.push(res.event);
    out.lines.push(this.lineNo);
  }
}

const newBatch = (): LogBatch => ({ events: [], lines: [], problems: [] });

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
