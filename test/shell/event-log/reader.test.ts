import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event } from '../../../src/events/types.js';
import { MAX_LINE_BYTES } from '../../../src/shell/event-log/limits.js';
import { type LogItem, readLog, readLogBatches } from '../../../src/shell/event-log/reader.js';
import { DIST, runModule, zeroDevice } from '../../support/child.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const exit = (seq: number, pid = 10): Event =>
  stamp(
    { type: 'exited', pid, code: 0, signal: null, groupAlive: false, lastWords: null },
    seq,
    1000 + seq,
    1000 + seq,
  );

async function collect(path: string, chunkSize?: number): Promise<LogItem[]> {
  const out: LogItem[] = [];
  for await (const item of readLog(path, chunkSize ? { chunkSize } : {})) out.push(item);
  return out;
}

function lines(events: Event[]): string {
  return events.map((e) => `${encodeEvent(e)}\n`).join('');
}

describe('log reader', () => {
  it('streams every event in order, across any chunk boundary, multi-byte text included', async () => {
    const path = join(tmp(), 'events.jsonl');
    const events = Array.from({ length: 300 }, (_, i) =>
      stamp({ type: 'reload-failed', reason: `bad: ünïcødé ✓ ${'x'.repeat(i % 17)}` }, i + 1, i, i),
    );
    writeFileSync(path, lines(events));
    for (const chunkSize of [1, 7, 64, 1 << 16]) {
      const items = await collect(path, chunkSize);
      expect(items.filter((i) => i.kind === 'problem')).toEqual([]);
      expect(items.map((i) => (i.kind === 'event' ? i.event : null))).toEqual(events);
    }
  });

  it('reports a torn last line and skips it without failing', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `${lines([exit(1), exit(2)])}{"v":1,"seq":3,"ti`);
    const items = await collect(path);
    expect(items.filter((i) => i.kind === 'event')).toHaveLength(2);
    expect(items.at(-1)).toEqual({
      kind: 'problem',
      problem: expect.objectContaining({ file: path, line: 3, kind: 'torn' }),
    });
  });

  it('accepts a complete last line that only lacks its newline', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `${lines([exit(1)])}${encodeEvent(exit(2))}`);
    const items = await collect(path);
    expect(items.map((i) => i.kind)).toEqual(['event', 'event']);
  });

  it('reports invalid lines, gaps and repeats by line number, in line order', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `${lines([exit(1)])}garbage\n${lines([exit(2), exit(2), exit(5)])}\n`);
    const items = await collect(path);
    expect(items).toEqual([
      { kind: 'event', event: exit(1) },
      {
        kind: 'problem',
        problem: { file: path, line: 2, kind: 'invalid', message: expect.stringMatching(/^not JSON/) },
      },
      { kind: 'event', event: exit(2) },
      {
        kind: 'problem',
        problem: {
          file: path,
          line: 4,
          kind: 'seq-repeat',
          message: 'seq 2 does not follow 2; line skipped',
          seq: 2,
          previousSeq: 2,
        },
      },
      {
        kind: 'problem',
        problem: {
          file: path,
          line: 5,
          kind: 'seq-gap',
          message: 'seq jumps from 2 to 5: 2 event(s) missing',
          seq: 5,
          previousSeq: 2,
        },
      },
      { kind: 'event', event: exit(5) },
      { kind: 'problem', problem: { file: path, line: 6, kind: 'invalid', message: 'empty line' } },
    ]);
  });

  it('reads in bounded batches', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, lines(Array.from({ length: 2000 }, (_, i) => exit(i + 1))));
    let batches = 0;
    let max = 0;
    for await (const b of readLogBatches(path, { chunkSize: 4096 })) {
      batches++;
      max = Math.max(max, b.events.length);
    }
    expect(batches).toBeGreaterThan(10);
    expect(max).toBeLessThan(100);
  });

  it('reads a line of exactly 16 MiB and reports one byte more as invalid, naming the limit, without holding it', async () => {
    const path = join(tmp(), 'events.jsonl');
    const base = encodeEvent(stamp({ type: 'reload-failed', reason: '' }, 2, 7, 7)).length;
    const withReason = (reason: string, seq: number) => stamp({ type: 'reload-failed', reason }, seq, 7, 7);
    const fits = withReason('x'.repeat(MAX_LINE_BYTES - base), 2);
    const over = withReason('x'.repeat(MAX_LINE_BYTES + 1 - base), 3);
    // Fewer characters than the limit, more bytes: ✓ is 3 bytes in UTF-8.
    const wide = withReason('✓'.repeat(Math.ceil((MAX_LINE_BYTES + 1 - base) / 3)), 4);
    expect([fits, over].map((e) => Buffer.byteLength(encodeEvent(e)))).toEqual([
      MAX_LINE_BYTES,
      MAX_LINE_BYTES + 1,
    ]);
    expect(encodeEvent(wide).length).toBeLessThan(MAX_LINE_BYTES);
    expect(Buffer.byteLength(encodeEvent(wide))).toBeGreaterThan(MAX_LINE_BYTES);
    writeFileSync(path, lines([exit(1), fits, over, wide, exit(5)]));
    const tooLong =
      'line is over the limit of 16 MiB (16777216 bytes) per line (procreg writes none longer); skipped';
    const items = await collect(path, 1 << 20);
    expect(items.map((i) => (i.kind === 'event' ? i.event.seq : i.problem))).toEqual([
      1,
      2,
      { file: path, line: 3, kind: 'invalid', message: tooLong },
      { file: path, line: 4, kind: 'invalid', message: tooLong },
      {
        file: path,
        line: 5,
        kind: 'seq-gap',
        message: 'seq jumps from 2 to 5: 2 event(s) missing',
        seq: 5,
        previousSeq: 2,
      },
      5,
    ]);
  });

  it('takes a gap that a log-gap record explains exactly, and reports any other', async () => {
    const path = join(tmp(), 'events.jsonl');
    const gap = (seq: number, fromSeq: number, toSeq: number): Event =>
      stamp({ type: 'log-gap', fromSeq, toSeq, reason: 'queue-overflow', previous: null }, seq, 7, 7);
    writeFileSync(path, lines([exit(1), gap(10, 2, 9), exit(11), gap(20, 13, 19), exit(21)]));
    const items = await collect(path);
    expect(items.filter((i) => i.kind === 'problem')).toEqual([
      {
        kind: 'problem',
        problem: {
          file: path,
          line: 4,
          kind: 'seq-gap',
          message: 'seq jumps from 11 to 20: 8 event(s) missing',
          seq: 20,
          previousSeq: 11,
        },
      },
    ]);
  });

  it('refuses a FIFO or a device where the log should be before reading a byte, without blocking', async () => {
    const dir = tmp();
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const cases = [
      [join(dir, 'fifo'), 'a FIFO'],
      ...(zeroDevice(join(dir, 'zero')) ? [[join(dir, 'zero'), 'a character device']] : []),
    ];
    const res = await runModule(`
      import { readLog } from ${JSON.stringify(join(DIST, 'shell/event-log/reader.js'))};
      for (const path of ${JSON.stringify(cases.map(([p]) => p))}) {
        try { for await (const _ of readLog(path)) {} console.log('read it'); }
        catch (e) { console.log(e.code + ': ' + e.message); }
      }
    `);
    expect(res.timedOut, 'reading blocked').toBe(false);
    expect(res.stdout.trim().split('\n')).toEqual(
      cases.map(
        ([p, kind]) =>
          `ELOGNOTFILE: event log ${p} is ${kind}, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
      ),
    );
  });
});
