// What the supervisor appends through: a log that cannot be written never stops supervision,
// and one that grows is cut into segments, each starting with a snapshot, and kept bounded.
import { basename } from 'node:path';
import { segmentName } from '../../config/run-dir.js';
import type { EventLogPolicy } from '../../config/types.js';
import { stamp } from '../../events/codec.js';
import {
  type Event,
  type EventBody,
  EVENT_KINDS,
  type LogGap,
  type SnapshotCause,
  type SnapshotTaken,
} from '../../events/types.js';
import type { RunDir } from '../files/run-dir.js';
import { deleteSegments, retentionPlan, type ShipHold, unshippedRange } from './retention.js';
import { listLogFiles } from './segments.js';
import { encodeLine, type LogWriter } from './writer.js';

/**
 * The steps of a rotation, in order, for fault injection in tests: the live segment synced,
 * renamed to its closed name, the new live segment created, its snapshot written, the
 * retention record written, the old segments deleted. A crash after any of them loses and
 * duplicates nothing (docs/event-log.md, Segments).
 */
export type RotationStep =
  'synced' | 'renamed' | 'created' | 'snapshot-written' | 'retention-recorded' | 'deleted';

/** Where the live segment stands when the sink takes it over (from opening the log). */
export interface LiveSegment {
  /** The seq of its first line; null while it is empty. */
  readonly firstSeq: number | null;
  /** It starts with a snapshot (or a log-gap and a snapshot): a start-up can begin there. */
  readonly headed: boolean;
  /** Where its head ends: its size is counted against segmentSize from there. */
  readonly headEnd: number;
  /** Events and bytes written since its last snapshot. */
  readonly sinceSnapshot: { readonly events: number; readonly bytes: number };
}

/** How the event log is doing, as `status()` reports it. */
export interface LogHealth {
  /** Events are not all reaching the file: some wait in memory (pending) or were dropped (a gap). */
  readonly degraded: boolean;
  /** When it last became degraded (epoch ms); null while it is not. */
  readonly since: number | null;
  /** Events taken in but not written yet, kept in memory in order. */
  readonly pending: number;
  /** Events that will never be in the log, since the supervisor started (a log-gap record says where). */
  readonly lost: number;
}

/** What the sink says, and how loud. */
export interface SinkLogger {
  error(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** Bounds of the in-memory queue of unwritten events. */
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface LogSinkOptions {
  readonly writer: LogWriter;
  /**
   * A log at the configured path, continuing after `afterSeq`: `fresh` when the old one was
   * moved away or deleted (anything left at the path is moved aside), else a new live segment.
   */
  readonly reopen: (afterSeq: number, fresh: boolean) => LogWriter;
  /** The log's id, in every snapshot it writes. */
  readonly logId: string;
  /** How the log is cut and kept (a reload may change it: setPolicy). */
  readonly policy: EventLogPolicy;
  /** The live segment as the log was opened. */
  readonly live: LiveSegment;
  /** The seq the registry it continues has folded up to (its `seq`). */
  readonly foldedSeq: number;
  /** Told at each step of a rotation (fault injection in tests). */
  readonly onRotationStep?: (step: RotationStep) => void;
  /** The runDir held open, to notice its removal; null if none is held. */
  readonly runDir: RunDir | null;
  /**
   * The registry as it stands, everything stamped so far folded, as a snapshot's `state` with
   * `seq` as its last seq.
   */
  readonly snapshot: (seq: number) => SnapshotTaken['state'];
  /** procreg's own log: told once per change of state. */
  readonly logger: SinkLogger;
  /** Wall clock (epoch ms) for `since`. */
  readonly clock: () => number;
  /** A record the sink wrote on its own (log-gap, snapshot): tell whoever watches events. */
  readonly onLogged: (event: Event) => void;
  /** The runDir was re-created after it was removed. */
  readonly onRunDirRecreated: () => void;
  /** What the shipper has shipped (issue 16), read at each retention; null: the log is not shipped. */
  readonly shipHold?: () => ShipHold | null;
  /** Most events kept in memory while the log cannot be written (default 10 000). */
  readonly maxPending?: number;
  /** Most bytes (encoded lines) kept in memory likewise (default 64 MiB). */
  readonly maxPendingBytes?: number;
}

interface Gap {
  readonly fromSeq: number;
  readonly reason: LogGap['reason'];
  readonly previous: string | null;
}

/**
 * Stamps every event with the next seq and appends it to the log; when the log cannot be
 * written (ENOSPC, EIO, ...) it says so once, keeps the events in memory in order — at most
 * `maxPending` events or `maxPendingBytes` — and writes them when it can again. Beyond those
 * bounds it drops them, counts them lost, and once writing works again records the
 * discontinuity (a `log-gap` record) and a `snapshot` of the registry, from which the log
 * replays correctly. At every checkpoint it also notices a log file moved away or deleted, or
 * a removed runDir, and goes on in a fresh log at the configured path (after re-creating the
 * runDir), never writing into an unlinked file. It never throws for I/O.
 */
export class LogSink {
  private writer: LogWriter | null;
  private seq: number;
  private queue: { seq: number; line: Buffer }[] = [];
  private pendingBytes = 0;
  private gap: Gap | null = null;
  private since: number | null = null;
  private lost = 0;
  /** Counted for the message when writing works again. */
  private lostSince = 0;
  private written = 0;
  private runDirGone = false;
  private failureSaid = false;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  private policy: EventLogPolicy;
  private live: { firstSeq: number | null; headed: boolean; headEnd: number; events: number; bytes: number };
  /** A rotation failed: not tried again before this time. */
  private rotateAfter = 0;
  private rotations = 0;
  /**
   * The seq of the last event that is not a decision: what a reader's fold has reached at this
   * point (it folds inputs, outcomes and snapshots, and only checks decisions), so the seq a
   * snapshot written now must carry.
   */
  private folded: number;

  constructor(private readonly o: LogSinkOptions) {
    this.writer = o.writer;
    this.seq = o.writer.lastSeq;
    this.maxPending = o.maxPending ?? DEFAULT_MAX_PENDING;
    this.maxPendingBytes = o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.policy = o.policy;
    this.folded = o.foldedSeq;
    const l = o.live;
    this.live = { firstSeq: l.firstSeq, headed: l.headed, headEnd: l.headEnd, ...l.sinceSnapshot };
  }

  /** A reload changed how the log is cut and kept: from the next checkpoint on. */
  setPolicy(policy: EventLogPolicy): void {
    this.policy = policy;
  }

  /** Rotations done since the sink was made. */
  get rotated(): number {
    return this.rotations;
  }

  /** The configured path of the log. */
  /** The log's id (in every snapshot). */
  get logId(): string {
    return this.o.logId;
  }

  get path(): string {
    return this.o.writer.path;
  }

  /** The seq of the last event stamped (written, pending or lost). */
  get lastSeq(): number {
    return this.seq;
  }

  health(): LogHealth {
    return {
      degraded: this.since !== null,
      since: this.since,
      pending: this.queue.length,
      lost: this.lost,
    };
  }

  /**
   * Stamp `body` with the next seq and write it, or keep it for later. Throws only
   * ELOGLINE, for a line over the limit: then nothing is stamped.
   */
  append(body: EventBody, time: number, mono: number): Event {
    const event = stamp(body, this.seq + 1, time, mono);
    const line = encodeLine(event, this.path);
    this.seq = event.seq;
    if (EVENT_KINDS[body.type] !== 'decision') this.folded = event.seq;
    if (this.gap) {
      this.lose(1); // the snapshot after the gap stands for it
    } else if (this.queue.length > 0 || this.writer === null) {
      this.keep(event.seq, line);
    } else {
      try {
        this.writer.writeLines(event.seq, line);
        this.wrote(event.seq, line.length);
      } catch (e) {
        this.failed(e);
        this.keep(event.seq, line);
      }
    }
    return event;
  }

  /** Lines up to `seq` of `bytes` reached the live segment. */
  private wrote(seq: number, bytes: number, events = 1): void {
    if (this.live.firstSeq === null) this.live.firstSeq = seq - events + 1;
    this.live.events += events;
    this.live.bytes += bytes;
  }

  /**
   * Between two inputs (everything stamped so far is folded): notice a removed runDir or a
   * replaced log, retry what is pending, and write a gap record and a snapshot where events
   * were lost. `lookForMoves` false skips the look at the runDir and the log file (4 stat
   * calls): the supervisor looks once per turn of the event loop. Never throws.
   */
  checkpoint(time: number, mono: number, lookForMoves = true): void {
    try {
      if (lookForMoves || this.runDirGone) this.noticeMoves();
      if (this.runDirGone) return;
      if (this.writer === null) {
        try {
          this.writer = this.o.reopen(this.seq - this.queue.length, this.gap !== null);
          this.live = { firstSeq: null, headed: false, headEnd: 0, events: 0, bytes: 0 };
        } catch (e) {
          this.failed(e);
          return;
        }
      }
      if (this.gap && !this.writeGap(time, mono)) return;
      if (!this.flush()) return;
      this.recovered();
      this.maintainSegments(time, mono);
    } catch (e) {
      // Nothing here may stop supervision: say it, and try again at the next checkpoint.
      this.o.logger.error({ err: e, eventLog: this.path }, `event log ${this.path}: ${(e as Error).message}`);
    }
  }

  /**
   * Something for the next checkpoint to try again even if no event comes: a degraded log
   * (events waiting, a gap to record, a writer to reopen, a runDir to re-create) or a failed
   * rotation's retry. While false, a checkpoint without an event has nothing to do.
   */
  retrying(): boolean {
    return (
      this.writer === null ||
      this.since !== null ||
      this.gap !== null ||
      this.queue.length > 0 ||
      this.runDirGone ||
      this.rotateAfter > this.o.clock()
    );
  }

  /** The last chance to write what is pending; then the log is closed. */
  close(time: number, mono: number): void {
    this.checkpoint(time, mono);
    if (this.since !== null)
      this.o.logger.error(
        { eventLog: this.path, pending: this.queue.length, lost: this.lost + this.queue.length },
        `event log ${this.path}: stopping with ${this.queue.length} event(s) never written (${this.lost} lost before); the log ends at seq ${this.seq - this.queue.length}`,
      );
    this.closeWriter();
  }

  private noticeMoves(): void {
    const runDir = this.o.runDir;
    let reason: LogGap['reason'] = 'log-replaced';
    if (runDir && (this.runDirGone || runDir.isGone())) {
      reason = 'run-dir-removed';
      if (!this.runDirGone) {
        this.runDirGone = true;
        this.o.logger.error(
          { runDir: runDir.path, eventLog: this.path },
          `runDir ${runDir.path} was removed while procreg runs; re-creating it (0700), with a fresh event log and the PID files of running services`,
        );
      }
      this.retireIfDisplaced(reason);
      try {
        runDir.reopen();
      } catch (e) {
        this.failed(e);
        return;
      }
      this.runDirGone = false;
      this.o.onRunDirRecreated();
    }
    this.retireIfDisplaced(reason);
  }

  /** A log file no longer at its path is never written again; a gap record will say where it went. */
  private retireIfDisplaced(reason: LogGap['reason']): void {
    const moved = this.writer?.displaced();
    if (!moved) return;
    this.o.logger.warn(
      { eventLog: this.path, previous: moved.previous, pending: this.queue.length },
      `event log ${this.path} was ${moved.previous ? `moved to ${moved.previous}` : 'deleted'}; continuing in a fresh log at ${this.path} that starts with a log-gap record and a snapshot of the registry`,
    );
    this.closeWriter();
    // The moved file held the live segment from its first seq on; earlier segments stay where they are.
    this.startGap(reason, reason === 'log-replaced' ? (this.live.firstSeq ?? 1) : 1, moved.previous);
  }

  private keep(seq: number, line: Buffer): void {
    if (this.queue.length >= this.maxPending || this.pendingBytes + line.length > this.maxPendingBytes) {
      const first = this.queue[0]?.seq ?? seq;
      this.o.logger.error(
        { eventLog: this.path, lost: this.queue.length + 1 },
        `event log ${this.path}: more unwritten events than the queue holds (${this.maxPending} events, ${this.maxPendingBytes} bytes): ${this.queue.length + 1} dropped; once the log can be written it records the gap and a snapshot of the registry`,
      );
      this.startGap('queue-overflow', first, null);
      this.lose(1);
      return;
    }
    this.queue.push({ seq, line });
    this.pendingBytes += line.length;
  }

  /** From here until the gap is written, events are lost: the snapshot after the gap stands for them. */
  private startGap(reason: LogGap['reason'], fromSeq: number, previous: string | null): void {
    this.degraded();
    this.lose(this.queue.length);
    this.queue = [];
    this.pendingBytes = 0;
    // A replaced log outranks an overflow: the gap then runs from the start of the new file.
    this.gap =
      this.gap === null || reason !== 'queue-overflow'
        ? { fromSeq: Math.min(fromSeq, this.gap?.fromSeq ?? fromSeq), reason, previous }
        : this.gap;
  }

  private lose(n: number): void {
    this.lost += n;
    this.lostSince += n;
  }

  private writeGap(time: number, mono: number): boolean {
    const gap = this.gap as Gap;
    const writer = this.writer as LogWriter;
    const record = stamp(
      { type: 'log-gap', fromSeq: gap.fromSeq, toSeq: this.seq, reason: gap.reason, previous: gap.previous },
      this.seq + 1,
      time,
      mono,
    );
    const snapshot = stamp(this.snapshotBody(record.seq, 'gap'), this.seq + 2, time, mono);
    const lines = Buffer.concat([encodeLine(record, this.path), encodeLine(snapshot, this.path)]);
    try {
      // One write: the gap record never stands in the file without its snapshot.
      writer.writeLines(snapshot.seq, lines);
    } catch (e) {
      this.failed(e);
      return false;
    }
    this.seq = snapshot.seq;
    this.folded = snapshot.seq;
    this.gap = null;
    if (writer.size === lines.length) {
      // A fresh file: the gap and its snapshot are its head.
      this.live = { firstSeq: record.seq, headed: true, headEnd: writer.size, events: 0, bytes: 0 };
    } else {
      this.wrote(snapshot.seq, lines.length, 2);
      this.live.events = 0;
      this.live.bytes = 0;
    }
    this.o.onLogged(record);
    this.o.onLogged(snapshot);
    return true;
  }

  /** Write what is pending, in order; false if the log still refuses. */
  private flush(): boolean {
    const writer = this.writer as LogWriter;
    let i = 0;
    try {
      for (; i < this.queue.length; i++) {
        const q = this.queue[i] as { seq: number; line: Buffer };
        writer.writeLines(q.seq, q.line);
        this.wrote(q.seq, q.line.length);
        this.pendingBytes -= q.line.length;
        this.written++;
      }
    } catch (e) {
      this.failed(e);
      return false;
    } finally {
      if (i > 0) this.queue = this.queue.slice(i);
    }
    return true;
  }

  /** From here the log is degraded (once per episode); true if it was not before. */
  private degraded(): boolean {
    if (this.since !== null) return false;
    this.since = this.o.clock();
    this.written = 0;
    this.lostSince = 0;
    return true;
  }

  /** A write failed: loud once per episode, with what is kept. */
  private failed(e: unknown): void {
    this.degraded();
    if (this.failureSaid) return;
    this.failureSaid = true;
    const err = e as NodeJS.ErrnoException;
    this.o.logger.error(
      { eventLog: this.path, err: err.code ?? err.message, pending: this.queue.length + 1 },
      `event log ${this.path}: cannot write (${err.message}); supervision goes on, ${this.gap ? 'the events until it can are lost (a log-gap record and a snapshot will say so)' : `the events are kept in memory (up to ${this.maxPending}) and written when it can`}; retrying at every event and on a timer`,
    );
  }

  private recovered(): void {
    if (this.since === null) return;
    const lost = this.lostSince;
    this.o.logger.warn(
      { eventLog: this.path, written: this.written, lost, downMs: this.o.clock() - this.since },
      `event log ${this.path}: written again; ${this.written} event(s) kept in memory written${lost ? `, ${lost} lost (recorded as a log-gap, with a snapshot of the registry)` : ''}`,
    );
    this.since = null;
    this.failureSaid = false;
    this.written = 0;
    this.lostSince = 0;
  }

  /** A snapshot record of the registry as it stands now, the log's id in it. */
  private snapshotBody(lastSeq: number, cause: SnapshotCause): SnapshotTaken {
    return { type: 'snapshot', logId: this.o.logId, cause, state: this.o.snapshot(lastSeq) };
  }

  /**
   * With everything written: start the live segment with a snapshot if it has none yet (a
   * new one whose snapshot could not be written, or one a failed rotation left headless: that
   * one is closed first), rotate it past segmentSize, or write a snapshot within it after
   * snapshotEvery events or bytes.
   */
  private maintainSegments(time: number, mono: number): void {
    const writer = this.writer;
    if (writer === null || this.queue.length > 0 || this.gap !== null) return;
    const { segmentSize, snapshotEvery } = this.policy;
    if (writer.size === 0) {
      this.writeHead(time, mono);
      return;
    }
    const due = !this.live.headed || writer.size - this.live.headEnd >= segmentSize;
    if (due && this.o.clock() >= this.rotateAfter) {
      this.rotate(time, mono);
      return;
    }
    if (this.live.events >= snapshotEvery.events || this.live.bytes >= snapshotEvery.bytes)
      this.writeSnapshot(time, mono);
  }

  /** A snapshot within the live segment: a start-up or a reader goes on from the newest. */
  private writeSnapshot(time: number, mono: number, cause: SnapshotCause = 'interval'): boolean {
    const writer = this.writer as LogWriter;
    const record = stamp(this.snapshotBody(this.folded, cause), this.seq + 1, time, mono);
    const line = encodeLine(record, this.path);
    try {
      writer.writeLines(record.seq, line);
    } catch (e) {
      this.failed(e);
      return false;
    }
    this.seq = record.seq;
    this.folded = record.seq;
    if (this.live.firstSeq === null) this.live.firstSeq = record.seq;
    this.live.events = 0;
    this.live.bytes = 0;
    this.o.onLogged(record);
    return true;
  }

  /** The first line of an empty live segment: a snapshot. */
  private writeHead(time: number, mono: number): boolean {
    if (!this.writeSnapshot(time, mono, 'rotation')) return false;
    this.live.headed = true;
    this.live.headEnd = (this.writer as LogWriter).size;
    return true;
  }

  /**
   * Close the live segment under its closed name (its first seq), start a new one with a
   * snapshot, then apply retention. A failure to close it is said once and retried a minute
   * later; a failure to start the new one degrades the log like any write error (the events
   * wait in memory, and the new segment is started when the disk allows).
   */
  private rotate(time: number, mono: number): void {
    const writer = this.writer as LogWriter;
    const firstSeq = this.live.firstSeq ?? this.seq;
    const name = segmentName(basename(this.path), firstSeq);
    const step = this.o.onRotationStep;
    try {
      writer.closeAs(name, step);
    } catch (e) {
      this.rotateAfter = this.o.clock() + 60_000;
      this.o.logger.error(
        { err: e, eventLog: this.path },
        `event log ${this.path}: cannot close the live segment as ${name} (${(e as Error).message}); it grows on, and rotation is retried in a minute`,
      );
      return;
    }
    this.writer = null;
    this.rotations++;
    try {
      this.writer = this.o.reopen(this.seq, false);
    } catch (e) {
      this.failed(e);
      return;
    }
    step?.('created');
    this.live = { firstSeq: null, headed: false, headEnd: 0, events: 0, bytes: 0 };
    if (!this.writeHead(time, mono)) return;
    step?.('snapshot-written');
    this.applyRetention(time, mono);
  }

  /**
   * Delete the closed segments past the retention bounds, oldest first, after recording which
   * and why. Run after every rotation and when the supervisor opens the log; never throws.
   */
  applyRetention(time: number, mono: number): void {
    const writer = this.writer;
    if (writer === null || this.queue.length > 0 || this.gap !== null || this.live.firstSeq === null) return;
    try {
      const files = listLogFiles(this.path);
      const hold = this.o.shipHold?.() ?? null;
      const doomed = retentionPlan(files, this.policy.retain, this.live.firstSeq, this.o.clock(), hold);
      if (doomed.length === 0) return;
      const lost = unshippedRange(doomed, hold);
      if (lost) {
        const gap = stamp({ type: 'ship-gap', ...lost }, this.seq + 1, time, mono);
        const gapLine = encodeLine(gap, this.path);
        writer.writeLines(gap.seq, gapLine);
        this.seq = gap.seq;
        this.folded = gap.seq;
        this.wrote(gap.seq, gapLine.length);
        this.o.onLogged(gap);
      }
      const record = stamp({ type: 'segments-deleted', segments: doomed }, this.seq + 1, time, mono);
      const line = encodeLine(record, this.path);
      writer.writeLines(record.seq, line);
      this.seq = record.seq;
      this.folded = record.seq;
      this.wrote(record.seq, line.length);
      this.o.onLogged(record);
      this.o.onRotationStep?.('retention-recorded');
      deleteSegments(this.path, doomed);
      this.o.onRotationStep?.('deleted');
    } catch (e) {
      this.o.logger.error(
        { err: e, eventLog: this.path },
        `event log ${this.path}: retention failed (${(e as Error).message}); retried at the next rotation`,
      );
    }
  }

  private closeWriter(): void {
    try {
      this.writer?.close();
    } catch {
      // a descriptor on a deleted file or a failing disk: closed as far as it goes
    }
    this.writer = null;
  }
}
