/**
 * The closed segments of a log as a reader goes through them: each read once, in seq order,
 * the seq chain carried from one to the next and on to the live segment's reader. A follower
 * asks again whenever the live segment may have been rotated, so a segment closed meanwhile
 * is read before the file that continues it.
 */
import { lstatSync } from 'node:fs';
import type { Event } from '../../events/types.js';
import { listLogFiles, type SegmentFile } from '../event-log/segments.js';
import { LogReader, type ReaderOptions } from './read-log.js';

export class ClosedSegments {
  private readonly done = new Set<string>();
  /** Files read to their end as the live segment (by inode), to be passed over under their closed name. */
  private readonly readAsLive = new Set<number>();

  constructor(
    /** The live segment's reader: it goes on after the last closed segment read. */
    private readonly live: LogReader,
    private readonly options: ReaderOptions,
  ) {}

  /** The live segment's file (this inode) was read to its end: once renamed to its closed name it is not read again. */
  readLive(ino: number): void {
    this.readAsLive.add(ino);
  }

  /** The closed segments not read yet, by first seq. */
  unread(): SegmentFile[] {
    return listLogFiles(this.live.path).closed.filter((f) => !this.done.has(f.path) && !this.wasLive(f));
  }

  /**
   * The events of every closed segment not read yet, listed again after each pass so one the
   * supervisor closed meanwhile is read too; the live segment's reader goes on after them.
   */
  async *batches(): AsyncGenerator<readonly Event[]> {
    let lastSeq = this.live.lastSeq;
    for (;;) {
      const next = this.unread();
      // A file read as the live segment was renamed before its successor was created: listed by
      // now, or gone (retention, or not a rotation into a segment at all). An inode is not kept
      // for longer: a new segment may be given it again.
      this.readAsLive.clear();
      if (next.length === 0) break;
      for (const f of next) {
        this.done.add(f.path);
        const r = new LogReader(f.path, this.options, { lastSeq });
        yield* r.batches(true);
        lastSeq = Math.max(lastSeq, r.lastSeq);
      }
    }
    this.live.lastSeq = Math.max(this.live.lastSeq, lastSeq);
  }

  private wasLive(f: SegmentFile): boolean {
    if (this.readAsLive.size === 0) return false;
    const ino = lstatSync(f.path, { throwIfNoEntry: false })?.ino;
    if (ino === undefined || !this.readAsLive.has(ino)) return false;
    this.done.add(f.path);
    return true;
  }
}
