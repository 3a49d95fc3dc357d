import { execFileSync } from 'node:child_process';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event } from '../../../src/events/types.js';
import { MAX_LINE_BYTES } from '../../../src/shell/event-log/limits.js';
import { readAppended } from '../../../src/shell/event-log/tail.js';
import { DIST, runModule } from '../../support/child.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
/** An event whose line holds multi-byte UTF-8: its length in bytes is not its length in characters. */
const failed = (seq: number, reason = `bad: ünïcødé ✓ ${seq}`): Event =>
  stamp({ type: 'reload-failed', reason }, seq, 1000 + seq, 1000 + seq);
const line = (e: Event) => `${encodeEvent(e)}\n`;
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('readAppended', () => {
  it('returns the complete lines after byte `from`, decoded, and the byte offset after the last one', () => {
    const path = join(tmp(), 'events.jsonl');
    const head = line(failed(1));
    writeFileSync(path, head + line(failed(2)) + line(failed(3)));
    expect(bytes(head)).toBeGreaterThan(head.length); // the offsets below are bytes, not characters

    expect(readAppended(path, 0)).toEqual({
      events: [failed(1), failed(2), failed(3)],
      next: bytes(head + line(failed(2)) + line(failed(3))),
    });
    expect(readAppended(path, bytes(head))).toEqual({
      events: [failed(2), failed(3)],
      next: bytes(head + line(failed(2)) + line(failed(3))),
    });
  });

  it('never splits a line still being written: the unfinished part waits for the next call, bytes and all', () => {
    const path = join(tmp(), 'events.jsonl');
    const first = line(failed(1));
    const second = Buffer.from(line(failed(2)), 'utf8');
    // Cut inside a multi-byte character: decoding the half on its own would mangle it.
    const cut = second.indexOf(Buffer.from('ü', 'utf8')) + 1;
    writeFileSync(path, first);
    appendFileSync(path, second.subarray(0, cut));

    const a = readAppended(path, 0);
    expect(a).toEqual({ events: [failed(1)], next: bytes(first) });
    expect(readAppended(path, a.next)).toEqual({ events: [], next: a.next }); // still nothing whole

    appendFileSync(path, second.subarray(cut));
    const b = readAppended(path, a.next);
    expect(b).toEqual({ events: [failed(2)], next: bytes(first) + second.length });
    expect((b.events[0] as Extract<Event, { type: 'reload-failed' }>).reason).toBe('bad: ünïcødé ✓ 2');
  });

  it('returns nothing new at the end of the file, and never an offset past its end', () => {
    const path = join(tmp(), 'events.jsonl');
    const text = line(failed(1)) + line(failed(2));
    writeFileSync(path, text);
    expect(readAppended(path, bytes(text))).toEqual({ events: [], next: bytes(text) });
    truncateSync(path, 0); // e.g. a log replaced under the reader
    expect(readAppended(path, bytes(text))).toEqual({ events: [], next: 0 });
  });

  it('skips lines that do not decode, and still moves past them', () => {
    const path = join(tmp(), 'events.jsonl');
    const text = `${line(failed(1))}not json\n{"v":2,"seq":2,"time":0,"type":"exited","pid":"x"}\n\n${line(failed(4))}`;
    writeFileSync(path, text);
    expect(readAppended(path, 0)).toEqual({ events: [failed(1), failed(4)], next: bytes(text) });
  });

  it('throws when the log does not exist', () => {
    expect(() => readAppended(join(tmp(), 'none.jsonl'), 0)).toThrow(/ENOENT/);
  });

  it('reads a bounded amount per call, and steps over a line longer than the limit', () => {
    const path = join(tmp(), 'events.jsonl');
    const many = Array.from({ length: 20_000 }, (_, i) => failed(i + 1));
    writeFileSync(path, many.map(line).join(''));
    const first = readAppended(path, 0);
    expect(first.events.length).toBeGreaterThan(1000);
    expect(first.events.length).toBeLessThan(many.length); // 1 MiB at a time
    let from = first.next;
    let seen = first.events.length;
    for (let guard = 0; guard < 100 && seen < many.length; guard++) {
      const r = readAppended(path, from);
      seen += r.events.length;
      from = r.next;
    }
    expect(seen).toBe(many.length);
    appendFileSync(path, `${'y'.repeat(MAX_LINE_BYTES + 10)}\n${line(failed(20_001))}`);
    const past = readAppended(path, from);
    expect(past.events).toEqual([]);
    expect(readAppended(path, past.next).events).toEqual([failed(20_001)]);
  });

  it('refuses a FIFO at the path instead of blocking on it', async () => {
    const path = join(tmp(), 'events.jsonl');
    execFileSync('mkfifo', [path]);
    // In a child: a blocking open(2) of a FIFO would freeze this process for good.
    const res = await runModule(`
      import { readAppended } from ${JSON.stringify(join(DIST, 'shell/event-log/tail.js'))};
      try { readAppended(${JSON.stringify(path)}, 0); console.log('read it'); }
      catch (e) { console.log(e.code + ': ' + e.message); }
    `);
    expect(res.timedOut, 'reading blocked').toBe(false);
    expect(res.stdout.trim()).toBe(
      `ELOGNOTFILE: event log ${path} is a FIFO, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
    );
  });
});
