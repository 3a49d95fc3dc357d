import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event } from '../../../src/events/types.js';
import { type LogItem, readLog, readLogBatches } from '../../../src/shell/event-log/reader.js';
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
      problem: expect.objectContaining({ line: 3, kind: 'torn' }),
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
      { kind: 'problem', problem: { line: 2, kind: 'invalid', message: expect.stringMatching(/^not JSON/) } },
      { kind: 'event', event: exit(2) },
      {
        kind: 'problem',
        problem: { line: 4, kind: 'seq-repeat', message: 'seq 2 does not follow 2; line skipped' },
      },
      {
        kind: 'problem',
        problem: { line: 5, kind: 'seq-gap', message: 'seq jumps from 2 to 5: 2 event(s) missing' },
      },
      { kind: 'event', event: exit(5) },
      { kind: 'problem', problem: { line: 6, kind: 'invalid', message: 'empty line' } },
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
});
