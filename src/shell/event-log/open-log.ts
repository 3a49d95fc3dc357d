// Opening a segmented event log to continue it: from its newest snapshot, never from the start.
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { segmentName } from '../../config/run-dir.js';
import type { Durability } from '../../config/types.js';
import { Replayer, type ReplayResult } from '../../core/replay.js';
import { snapshotState } from '../../core/snapshot.js';
import { decodeEvent, stamp } from '../../events/codec.js';
import type { Event } from '../../events/types.js';
import { ProcregError } from '../errors.js';
import { MAX_LINE_BYTES } from './limits.js';
import { linesBackward } from './lines-backward.js';
import type { LiveSegment } from './log-sink.js';
import { type LogPart, type LogProblem, openLogForReading, readLogParts } from './reader.js';
import { listLogFiles, type SegmentFile } from './segments.js';
import { encodeLine, LogWriter, type LogWriterOptions } from './writer.js';

export interface OpenLogOptions {
  readonly durability?: Durability;
  /** Abandons the replay between two batches (at most 1 MiB each). */
  readonly signal?: AbortSignal;
  readonly onRecovered?: LogWriterOptions['onRecovered'];
  /** Wall and monotonic time (ms) for the records written while opening. */
  readonly clock: () => number;
  readonly mono: () => number;
  /** A new log's id (default: a random UUID). */
  readonly newLogId?: () => string;
  /** Awaited once the log is read and found sound, before anything is written to it. */
  readonly beforeWrite?: () => Promise<void>;
}

/** Where the fold began: the snapshot it started from, or the start of the log. */
export interface ReplayStart {
  readonly file: string;
  /** The snapshot's seq; null when the fold began at the log's first line. */
  readonly seq: number | null;
  readonly offset: number;
}

export interface OpenedLog {
  readonly result: ReplayResult;
  /** What was wrong in the files read (damaged lines, a torn tail), by file and line. */
  readonly problems: readonly LogProblem[];
  /** Appends to the live segment, which starts with a snapshot. */
  readonly writer: LogWriter;
  readonly logId: string;
  readonly live: LiveSegment;
  /** null for a new log. */
  readonly from: ReplayStart | null;
  /** Bytes of log read to rebuild the registry, of `totalBytes` in all its segments. */
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly segments: number;
  /** Records written while opening (a snapshot heading a new live segment), for whoever watches events. */
  readonly wrote: readonly Event[];
  /** A live segment without a snapshot at its head (a log from before segments) closed under this name. */
  readonly closedAs: string | null;
}

/**
 * Open the log whose live segment is `live` to continue it. The registry is rebuilt from the
 * newest snapshot onward — the live segment's own, or the newest in the closed segments
 * before it when the live one is missing or has none — so start-up reads at most what
 * follows that snapshot, whatever the log's age. A log that has no snapshot at all (one
 * written before segments, or a new log's first segment cut short) is folded from its first
 * line, which must be seq 1. The live segment always ends up starting with a snapshot: a
 * missing or empty one is started with one, and one without (a log from before segments) is
 * first closed as a segment — the migration. Refuses (ProcregError ELOGCHAIN, naming the files
 * and seqs and how to recover) a chain it cannot continue: segments that do not follow each
 * other, or belong to another log, or lack the snapshot to start from.
 */
export async function openEventLog(live: string, o: OpenLogOptions): Promise<OpenedLog> {
  const durability = o.durability ?? 'batch';
  const writerOptions = { durability, onRecovered: o.onRecovered };
  let files = listLogFiles(live);
  // The live segment is the one file that may end in a torn line: the writer moves it aside.
  let writer: LogWriter | null =
    files.liveFile && files.liveFile.bytes > 0 ? LogWriter.open(live, writerOptions) : null;
  try {
    if (writer) {
      files = listLogFiles(live);
      // It held only a torn line — a crash while the snapshot heading it was written — and is
      // empty now: started again below like a missing one, not closed as a segment of its own.
      if (writer.size === 0) {
        writer.close();
        writer = null;
      }
    }
    const ordered = [
      ...files.closed,
      ...(files.liveFile && files.liveFile.bytes > 0 ? [files.liveFile] : []),
    ];
    const totalBytes = ordered.reduce((a, f) => a + f.bytes, 0);
    checkChain(ordered);
    const start = findStart(ordered);
    const parts: LogPart[] = start
      ? [
          { path: start.file, start: start.offset },
          ...ordered
            .slice(ordered.findIndex((f) => f.path === start.file) + 1)
            .map((f) => ({ path: f.path })),
        ]
      : [];
    const replayer = new Replayer();
    const problems: LogProblem[] = [];
    let logId: string | null = start?.snapshot?.logId ?? null;
    for await (const batch of readLogParts(parts)) {
      o.signal?.throwIfAborted();
      for (const e of batch.events) {
        replayer.push(e);
        if (logId === null && e.type === 'snapshot' && e.logId !== null) logId = e.logId;
      }
      problems.push(...batch.problems);
    }
    refuseBrokenChain(problems);
    refuseDisorder(live, problems);
    await o.beforeWrite?.();
    const result = replayer.result();
    logId ??= (o.newLogId ?? randomUUID)();
    const bytesRead = parts.reduce(
      (a, p) => a + ((ordered.find((f) => f.path === p.path)?.bytes ?? 0) - (p.start ?? 0)),
      0,
    );
    const wrote: Event[] = [];
    let closedAs: string | null = null;
    let liveSegment: LiveSegment;
    const head = writer ? headOf(live) : null;
    if (writer && head) {
      // Continue the live segment: it starts with a snapshot.
      const inLive = start?.file === live ? start : null;
      liveSegment = {
        firstSeq: head.firstSeq,
        headed: true,
        headEnd: head.end,
        sinceSnapshot: {
          events: inLive ? Math.max(0, result.lastSeq - (inLive.seq ?? 0)) : 0,
          bytes: inLive ? writer.size - inLive.offset - (inLive.bytes ?? 0) : writer.size - head.end,
        },
      };
    } else {
      if (writer) {
        // A live segment without a snapshot at its head (a log from before segments): closed as
        // a segment, and a new live one started with a snapshot.
        closedAs = segmentName(basename(live), firstSeqOf(live));
        writer.closeAs(closedAs);
        writer = null;
      }
      writer = LogWriter.open(live, { ...writerOptions, continuesAfter: result.lastSeq });
      const record = stamp(
        { type: 'snapshot', logId, cause: 'start', state: snapshotState(result.state, result.state.seq) },
        result.lastSeq + 1,
        o.clock(),
        o.mono(),
      );
      writer.writeLines(record.seq, encodeLine(record, live));
      wrote.push(record);
      liveSegment = {
        firstSeq: record.seq,
        headed: true,
        headEnd: writer.size,
        sinceSnapshot: { events: 0, bytes: 0 },
      };
    }
    return {
      result,
      problems,
      writer,
      logId,
      live: liveSegment,
      from: start ? { file: start.file, seq: start.snapshot?.seq ?? null, offset: start.offset } : null,
      bytesRead,
      totalBytes,
      segments: ordered.length,
      wrote,
      closedAs,
    };
  } catch (e) {
    writer?.close();
    throw e;
  }
}

interface Start {
  readonly file: string;
  readonly offset: number;
  /** The snapshot there, and its line's bytes (newline included); null: the log's first line. */
  readonly snapshot: Extract<Event, { type: 'snapshot' }> | null;
  readonly seq: number | null;
  readonly bytes: number | null;
}

/** The newest snapshot, searching the files newest first; else the first line of a log that starts at seq 1. */
function findStart(ordered: readonly SegmentFile[]): Start | null {
  for (let k = ordered.length - 1; k >= 0; k--) {
    const f = ordered[k] as SegmentFile;
    const snap = lastSnapshotIn(f.path);
    if (snap)
      return {
        file: f.path,
        offset: snap.offset,
        snapshot: snap.event,
        seq: snap.event.seq,
        bytes: snap.bytes,
      };
  }
  if (ordered.length === 0) return null;
  const first = ordered[0] as SegmentFile;
  const head = firstEventOf(first.path);
  if (head?.seq === 1) return { file: first.path, offset: 0, snapshot: null, seq: null, bytes: null };
  throw chainError(
    `${first.path} starts at seq ${head?.seq ?? '?'}, and no segment of the log holds a snapshot to start from: the segments before it are gone`,
    first.path,
  );
}

/**
 * Every file of the log must follow the one before it: start at the seq after the last one
 * there (or with a log-gap saying why not), with a first line that reads, under the name its
 * first seq gives, and every snapshot heading a file must name the same log. Read: each
 * file's first and last line — a few reads per segment, however long the log — so that a
 * segment deleted, cut, overlapping or of another log anywhere in the chain is refused, not
 * only next to the newest snapshot: the start-up reads from there, but `procreg replay` and
 * retention work on the whole chain.
 */
function checkChain(ordered: readonly SegmentFile[]): void {
  let logId: { id: string; file: string } | null = null;
  let prev: { file: SegmentFile; last: Event | null } | null = null;
  for (const f of ordered) {
    const head = firstLineOf(f.path);
    if (head === null || head.event === null) {
      // Its seq, as the segment's name or the line after it says.
      const after = head ? firstLineOf(f.path, head.end)?.event : null;
      const seq = f.firstSeq ?? (after ? after.seq - 1 : null);
      throw chainError(
        `the first line of ${f.path} is ${head === null ? 'cut short' : 'damaged'}${seq !== null ? ` (the line at seq ${seq}, which heads the segment)` : ''}`,
        f.path,
      );
    }
    const first = head.event;
    if (f.firstSeq !== null && first.seq !== f.firstSeq)
      throw chainError(
        `${f.path} starts at seq ${first.seq}, not at the seq ${f.firstSeq} its name says`,
        f.path,
      );
    const before = prev?.last ?? null;
    if (prev && before) {
      const follows =
        first.seq === before.seq + 1 || (first.type === 'log-gap' && first.fromSeq === before.seq + 1);
      if (!follows)
        throw chainError(
          `${prev.file.path} ends at seq ${before.seq} but ${f.path} starts at seq ${first.seq}: ${first.seq > before.seq ? `${first.seq - before.seq - 1} event(s) are missing between them (a segment deleted?)` : 'they overlap'}`,
          f.path,
        );
    }
    const snap = first.type === 'snapshot' ? first : null;
    if (snap?.logId) {
      if (logId && snap.logId !== logId.id)
        throw chainError(
          `${f.path} belongs to log ${snap.logId} (its snapshot at seq ${snap.seq}) but ${logId.file} to log ${logId.id}: a segment of another log`,
          f.path,
        );
      logId ??= { id: snap.logId, file: f.path };
    }
    prev = { file: f, last: lastEventOf(f.path) };
  }
}

/**
 * A log whose seq goes backwards or repeats (two writers, or lines of another log appended)
 * cannot be continued: the events it would skip or fold twice are the registry's history.
 */
function refuseDisorder(live: string, problems: readonly LogProblem[]): void {
  const bad = problems.find((p) => p.kind === 'seq-repeat');
  if (!bad) return;
  const path = bad.file ?? live;
  const line = bad.fromOffset ? `line ${bad.line} after byte ${bad.fromOffset}` : `line ${bad.line}`;
  throw new ProcregError(
    'ELOGSEQ',
    `event log ${path}: ${line} has seq ${bad.seq} after seq ${bad.previousSeq}; seq must increase by one per line (two procregs writing one log, or lines of another log appended?). procreg will not continue a log it cannot replay in order: move it aside (mv ${path} ${path}.bad-seq) and start again — the new log starts empty, so first stop what the old one still runs (procreg replay ${path}.bad-seq shows it)`,
  );
}

/** Problems across files that make the chain impossible to continue. */
function refuseBrokenChain(problems: readonly LogProblem[]): void {
  const bad = problems.find(
    (p) => p.kind === 'foreign-log' || ((p.kind === 'seq-gap' || p.kind === 'seq-repeat') && p.previousFile),
  );
  if (bad) throw chainError(`${bad.file}:${bad.line}: ${bad.message}`, bad.file ?? '');
}

function chainError(what: string, file: string): ProcregError {
  const dir = file.slice(0, file.lastIndexOf('/')) || '.';
  return new ProcregError(
    'ELOGCHAIN',
    `event log: ${what}. procreg will not continue a log whose segments do not form one chain: processes it started may still run. See what the log says runs (procreg replay ${dir}), stop those processes, then move the log's files aside (mkdir ${dir}/broken && mv ${dir}/*.jsonl ${dir}/broken/) and start again`,
  );
}

/**
 * The newest snapshot among the files of a log (in reading order), searching newest first:
 * its file, byte offset and seq; null when none has one.
 */
export function newestSnapshot(
  files: readonly string[],
): { file: string; offset: number; seq: number } | null {
  for (let k = files.length - 1; k >= 0; k--) {
    const snap = lastSnapshotIn(files[k] as string);
    if (snap) return { file: files[k] as string, offset: snap.offset, seq: snap.event.seq };
  }
  return null;
}

/** The last snapshot in a file, reading it backwards: its offset, the event, its line's bytes. */
function lastSnapshotIn(
  path: string,
): { offset: number; event: Extract<Event, { type: 'snapshot' }>; bytes: number } | null {
  const fd = openLogForReading(path);
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    // A last line without its newline is torn (only the live segment may have one; the writer has cut it off).
    const end = last[0] === 0x0a ? size - 1 : size;
    for (const { start, bytes } of linesBackward(fd, end)) {
      if (bytes === null || !looksLikeSnapshot(bytes)) continue;
      const res = decodeEvent(bytes.toString('utf8'));
      if (res.ok && res.event.type === 'snapshot')
        return { offset: start, event: res.event, bytes: bytes.length + 1 };
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A snapshot's line names its type in the envelope, within its first hundred bytes. */
function looksLikeSnapshot(line: Buffer): boolean {
  return line.subarray(0, 120).includes('"type":"snapshot"');
}

/** A file's last line, decoded; null when it does not decode (damage the reader reports by line). */
function lastEventOf(path: string): Event | null {
  const fd = openLogForReading(path);
  try {
    const size = fstatSync(fd).size;
    for (const { bytes } of linesBackward(fd, size > 0 ? size - 1 : 0)) {
      if (bytes === null || bytes.length === 0) continue;
      const res = decodeEvent(bytes.toString('utf8'));
      return res.ok ? res.event : null;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The line of a file that starts at `from`, decoded, and where it ends (after its newline). */
function firstLineOf(path: string, from = 0): { event: Event | null; end: number } | null {
  const fd = openLogForReading(path);
  try {
    const chunks: Buffer[] = [];
    let pos = from;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return null; // no complete first line
      const nl = buf.subarray(0, n).indexOf(0x0a);
      chunks.push(Buffer.from(buf.subarray(0, nl < 0 ? n : nl)));
      if (nl >= 0) {
        const line = Buffer.concat(chunks);
        const res = decodeEvent(line.toString('utf8'));
        return { event: res.ok ? res.event : null, end: pos + nl + 1 };
      }
      pos += n;
      if (pos - from > MAX_LINE_BYTES) return { event: null, end: pos };
    }
  } finally {
    closeSync(fd);
  }
}

function firstEventOf(path: string): Event | null {
  return firstLineOf(path)?.event ?? null;
}

function firstSeqOf(path: string): number {
  return firstEventOf(path)?.seq ?? 1;
}

/** Where the live segment's head ends, when it starts with a snapshot, or a log-gap and a snapshot. */
function headOf(path: string): { firstSeq: number; end: number } | null {
  const first = firstLineOf(path);
  if (!first?.event) return null;
  if (first.event.type === 'snapshot') return { firstSeq: first.event.seq, end: first.end };
  if (first.event.type !== 'log-gap') return null;
  // The gap's snapshot follows it in the same write.
  const second = firstLineOf(path, first.end);
  return second?.event?.type === 'snapshot' ? { firstSeq: first.event.seq, end: second.end } : null;
}
