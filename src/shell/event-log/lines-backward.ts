import { readSync } from 'node:fs';
import { MAX_LINE_BYTES } from './limits.js';

/** Bytes read per step when reading a file backwards. */
export const CHUNK = 1 << 20;

/**
 * The lines of a file that end before `end`, last first: where each starts, and its bytes
 * (null when it is over the line limit: scanned past, never held). Reads backwards in chunks,
 * each byte once: linear in what it reads, whatever the lines' lengths.
 */
export function* linesBackward(fd: number, end: number): Generator<{ start: number; bytes: Buffer | null }> {
  let buf = Buffer.alloc(0);
  let bufStart = end; // buf holds the bytes [bufStart, bufStart + buf.length)
  let lineEnd = end; // exclusive end of the line being found (its newline excluded)
  while (lineEnd >= 0) {
    const pieces: Buffer[] = [];
    let len = 0;
    let over = false;
    let cursor = lineEnd;
    let start: number;
    for (;;) {
      if (cursor > bufStart) {
        const rel = cursor - bufStart;
        const nl = buf.lastIndexOf(0x0a, rel - 1);
        const piece = buf.subarray(nl + 1, rel);
        if (!over) {
          len += piece.length;
          if (len > MAX_LINE_BYTES) {
            over = true;
            pieces.length = 0;
          } else pieces.push(piece);
        }
        if (nl >= 0) {
          start = bufStart + nl + 1;
          break;
        }
        cursor = bufStart;
      }
      if (cursor === 0) {
        start = 0;
        break;
      }
      const from = Math.max(0, cursor - CHUNK);
      buf = Buffer.alloc(cursor - from); // a new buffer: the pieces taken keep theirs
      readFully(fd, buf, from);
      bufStart = from;
    }
    yield { start, bytes: over ? null : Buffer.concat(pieces.reverse(), len) };
    lineEnd = start - 1;
  }
}

export function readFully(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new Error(`the file ended at ${position + off} while reading it backwards`);
    off += n;
  }
}
