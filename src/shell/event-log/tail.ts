import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodeEvent } from '../../events/codec.js';
import type { Event } from '../../events/types.js';

/**
 * The complete lines appended to a log since byte `from`, decoded (bad lines skipped), and
 * the offset to continue from: a line still being written stays for the next call, bytes
 * and all, so a reader following a live log never splits one.
 */
export function readAppended(path: string, from: number): { events: Event[]; next: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= from) return { events: [], next: Math.min(from, size) };
    const buf = Buffer.alloc(size - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    const end = buf.subarray(0, n).lastIndexOf(0x0a) + 1;
    const events: Event[] = [];
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (line === '') continue;
      const res = decodeEvent(line);
      if (res.ok) events.push(res.event);
    }
    return { events, next: from + end };
  } finally {
    closeSync(fd);
  }
}
