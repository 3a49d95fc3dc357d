import { closeSync, fstatSync, readSync } from 'node:fs';
import { decodeEvent } from '../../events/codec.js';
import type { Event } from '../../events/types.js';
import { MAX_LINE_BYTES } from './limits.js';
import { openLogForReading } from './reader.js';

/** Bytes read per call when lines are short; a longer line is read whole, up to the line limit. */
const STEP = 1 << 20;

/**
 * The complete lines appended to a log since byte `from`, decoded (bad lines skipped), and
 * the offset to continue from: a line still being written stays for the next call, bytes
 * and all, so a reader following a live log never splits one. Reads at most 1 MiB per call,
 * or one line up to the 16 MiB limit; a longer line is skipped. Anything but a regular file
 * at `path` is refused (ELOGNOTFILE) without blocking on it.
 */
export function readAppended(path: string, from: number): { events: Event[]; next: number } {
  const fd = openLogForReading(path);
  try {
    const size = fstatSync(fd).size;
    if (size <= from) return { events: [], next: Math.min(from, size) };
    let buf = read(fd, from, Math.min(size - from, STEP));
    let end = buf.lastIndexOf(0x0a) + 1;
    if (end === 0 && size - from > buf.length) {
      buf = read(fd, from, Math.min(size - from, MAX_LINE_BYTES + 1)); // one long line
      end = buf.lastIndexOf(0x0a) + 1;
      if (end === 0 && buf.length > MAX_LINE_BYTES)
        return { events: [], next: skipLine(fd, from + buf.length, size, from) };
    }
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

function read(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/** Past the newline that ends a line over the limit; `stay` while it has none yet. */
function skipLine(fd: number, at: number, size: number, stay: number): number {
  for (let pos = at; pos < size;) {
    const chunk = read(fd, pos, Math.min(STEP, size - pos));
    if (chunk.length === 0) break;
    const nl = chunk.indexOf(0x0a);
    if (nl >= 0) return pos + nl + 1;
    pos += chunk.length;
  }
  return stay;
}
