/**
 * The shipper's view of a segmented event log: the events after a seq, read from the files
 * (never from procreg's memory), across rotations. A file is followed by its identity (its
 * inode), not its name: the live segment is renamed to a closed one when it rotates, and the
 * reader goes on in it where it was, then in the next file.
 */
import { statSync } from 'node:fs';
import { type LogProblem, LogReader, type RawEvent } from '../debug/read-log.js';
import { allFiles, listLogFiles, type SegmentFile } from '../event-log/segments.js';

interface Placed extends SegmentFile {
  readonly ino: number;
  readonly live: boolean;
}

export class LogTail {
  private reader: LogReader | null = null;
  private ino: number | null = null;

  constructor(
    readonly live: string,
    /** The last seq already shipped: the events after it are read. */
    private shipped: number,
    /** The log being shipped: a snapshot of another (the log was replaced) ends the tail there. */
    private readonly logId: string,
    private readonly onProblem: (p: LogProblem) => void,
  ) {}

  /**
   * The events after the last one read, up to the end of the live segment as it is now, each
   * with its line as read.
   */
  async *read(): AsyncGenerator<RawEvent[]> {
    let files = this.files();
    let at = this.ino === null ? -1 : files.findIndex((f) => f.ino === this.ino);
    if (at < 0) {
      // First read, or the file we were in is gone (retention): start in the file holding the next seq.
      at = startIndex(files, this.shipped + 1);
      if (at < 0) return;
      const f = files[at] as Placed;
      // Its seqs up to the shipped one are skipped, not reported as repeats.
      this.open(f, 0, 0, f.firstSeq === null ? 0 : f.firstSeq - 1);
    }
    for (;;) {
      const f = files[at] as Placed;
      const r = this.reader as LogReader;
      const reader = r.path === f.path ? r : this.open(f, r.offset, r.line, r.lastSeq);
      for await (const batch of reader.lines(!f.live)) {
        // A new log starts over at seq 1: its events are not "already shipped"; the caller
        // stops at its first snapshot and ships it under its own logId.
        const other = batch.findIndex(
          ({ event: e }) => e.type === 'snapshot' && e.logId !== null && e.logId !== this.logId,
        );
        if (other >= 0) {
          const before = batch.slice(0, other).filter((r) => r.event.seq > this.shipped);
          yield [...before, ...batch.slice(other)];
          return;
        }
        const fresh = batch.filter((r) => r.event.seq > this.shipped);
        if (fresh.length === 0) continue;
        this.shipped = (fresh.at(-1) as RawEvent).event.seq;
        yield fresh;
      }
      if (f.live) return;
      // A closed segment is read to its end: go on in the next file (listed again: one may
      // have rotated meanwhile).
      files = this.files();
      const here = files.findIndex((x) => x.ino === f.ino);
      const next = files[here + 1];
      if (here < 0 || next === undefined) return;
      at = here + 1;
      this.open(next, 0, 0, reader.lastSeq);
    }
  }

  private open(f: Placed, offset: number, line: number, lastSeq: number): LogReader {
    this.reader = new LogReader(f.path, { onProblem: this.onProblem }, { offset, line, lastSeq });
    this.ino = f.ino;
    return this.reader;
  }

  private files(): Placed[] {
    const listed = listLogFiles(this.live);
    const out: Placed[] = [];
    for (const f of allFiles(listed)) {
      const st = statSync(f.path, { throwIfNoEntry: false });
      if (st) out.push({ ...f, ino: st.ino, live: f.firstSeq === null });
    }
    return out;
  }
}

/** The file that holds `seq`: the last closed segment starting at or before it, else the first file. */
function startIndex(files: readonly Placed[], seq: number): number {
  if (files.length === 0) return -1;
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    const first = (files[i] as Placed).firstSeq;
    if (first !== null && first <= seq) at = i;
  }
  return at;
}
