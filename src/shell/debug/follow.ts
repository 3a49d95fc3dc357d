/**
 * `--follow`: keep reading a log as the live supervisor appends to it. The closed segments are
 * read first, then the live one, whose size is polled. When its path names another file
 * (rotated: renamed away and a new one created) the rest of the old file is read first, then
 * any segment closed meanwhile, then the new file from its start; a file truncated in place
 * (copytruncate) is read again from its start. Events already read are never yielded twice
 * (by seq), and a line still being written is waited for, never split.
 *
 * A rotation is two steps — the live segment renamed to its closed name, then the next one
 * created — and a follower may look between them, or between listing the closed segments and
 * opening the live one: the live segment is opened before the closed ones are listed the last
 * time, and a missing one (the instant of a rotation, or a crash within it) is waited for.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event } from '../../events/types.js';
import type { ClosedSegments } from './closed-segments.js';
import type { LogReader } from './read-log.js';

export interface FollowOptions {
  /** How often the file is looked at when nothing new came (default 200 ms). */
  readonly pollMs?: number;
  readonly signal: AbortSignal;
  /** The log's closed segments, the live segment's predecessors (openLog's `closed`). */
  readonly closed: ClosedSegments;
  /** Told when the file was truncated (a rotation, the path given to the next segment, is quiet). */
  readonly onSwitch?: (what: string) => void;
}

/**
 * Events as they are appended, and `idle` each time the reader has caught up with the log (or
 * waits for its live segment to be created).
 */
export async function* follow(reader: LogReader, options: FollowOptions): AsyncGenerator<Event | 'idle'> {
  const pollMs = options.pollMs ?? 200;
  /** False when aborted. */
  const pause = async () => {
    try {
      await sleep(pollMs, undefined, { signal: options.signal });
      return true;
    } catch {
      return false;
    }
  };
  /**
   * The closed segments not read yet, then the file at the path opened: again when a segment
   * was closed between the two (the file opened may be that very segment, or come after it).
   * Null when aborted while the path names no file.
   */
  async function* openLive(): AsyncGenerator<Event | 'idle', { handle: FileHandle; ino: number } | null> {
    for (;;) {
      for await (const batch of options.closed.batches()) yield* batch;
      let handle: FileHandle;
      try {
        handle = await open(reader.path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // Renamed away, the next one not created yet.
        yield 'idle';
        if (!(await pause())) return null;
        continue;
      }
      let ino: number | null = null;
      try {
        if (options.closed.unread().length === 0) ino = (await handle.stat()).ino;
      } finally {
        if (ino === null) await handle.close(); // a segment closed meanwhile, or the look failed
      }
      if (ino !== null) return { handle, ino };
    }
  }

  let live = yield* openLive();
  try {
    while (live !== null && !options.signal.aborted) {
      const size = (await live.handle.stat()).size;
      if (size < reader.offset) {
        options.onSwitch?.(`${reader.path} was truncated: reading it again from its start`);
        reader.restart();
        continue;
      }
      if (size > reader.offset + reader.pending) {
        yield* reader.events(false, live.handle);
        continue;
      }
      // Caught up with this file: has its path been given to another one?
      let now: { ino: number } | null = null;
      try {
        now = await stat(reader.path);
      } catch {
        now = null; // renamed away, the new one not created yet
      }
      if (now !== null && now.ino !== live.ino) {
        // Anything appended to the old file before it was renamed is read first: the new one
        // exists, so the old one is complete.
        if ((await live.handle.stat()).size > reader.offset + reader.pending) continue;
        const old = live;
        live = null;
        options.closed.readLive(old.ino);
        // A rotation is the log going on as designed: nothing to say. A file that does not
        // continue the seqs is told by the reader (a new log), a gap reported as a problem.
        // The old file stays open until the next is: its inode cannot be reused meanwhile.
        try {
          live = yield* openLive();
        } finally {
          await old.handle.close();
        }
        reader.restart();
        continue;
      }
      yield 'idle';
      if (!(await pause())) return;
    }
  } finally {
    await live?.handle.close();
  }
}
