/**
 * `--follow`: keep reading a log as the live supervisor appends to it. The size is polled;
 * when the path names another file (rotated: renamed away and a new one created) the rest of
 * the old file is read first, then the new one from its start; a file truncated in place
 * (copytruncate) is read again from its start. Events already read are never yielded twice
 * (by seq), and a line still being written is waited for, never split.
 */
import { stat } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event } from '../../events/types.js';
import type { LogReader } from './read-log.js';

export interface FollowOptions {
  /** How often the file is looked at when nothing new came (default 200 ms). */
  readonly pollMs?: number;
  readonly signal: AbortSignal;
  /** Told when the file was truncated (a rotation, the path given to the next segment, is quiet). */
  readonly onSwitch?: (what: string) => void;
}

/** Events as they are appended, and `idle` each time the reader has caught up with the file. */
export async function* follow(reader: LogReader, options: FollowOptions): AsyncGenerator<Event | 'idle'> {
  const pollMs = options.pollMs ?? 200;
  let handle = await open(reader.path, 'r');
  let ino = (await handle.stat()).ino;
  try {
    while (!options.signal.aborted) {
      const size = (await handle.stat()).size;
      if (size < reader.offset) {
        options.onSwitch?.(`${reader.path} was truncated: reading it again from its start`);
        reader.restart();
        continue;
      }
      if (size > reader.offset + reader.pending) {
        yield* reader.events(false, handle);
        continue;
      }
      // Caught up with this file: has its path been given to another one?
      let now: { ino: number } | null = null;
      try {
        now = await stat(reader.path);
      } catch {
        now = null; // renamed away, the new one not created yet
      }
      if (now !== null && now.ino !== ino) {
        const next = await open(reader.path, 'r');
        const nextIno = (await next.stat()).ino;
        // Anything appended to the old file before it was renamed is read first.
        if ((await handle.stat()).size > reader.offset + reader.pending) {
          await next.close();
          continue;
        }
        await handle.close();
        handle = next;
        ino = nextIno;
        // A rotation is the log going on as designed: nothing to say. A file that does not
        // continue the seqs is told by the reader (a new log), a gap reported as a problem.
        reader.restart();
        continue;
      }
      yield 'idle';
      try {
        await sleep(pollMs, undefined, { signal: options.signal });
      } catch {
        return; // aborted
      }
    }
  } finally {
    await handle.close();
  }
}
