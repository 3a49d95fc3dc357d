import { appendFileSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event } from '../../../src/events/types.js';
import { type LogItem, readLog } from '../../../src/shell/event-log/reader.js';
import { LogWriter } from '../../../src/shell/event-log/writer.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const exit = (seq: number, pid = 10): Event =>
  stamp(
    { type: 'exited', pid, code: 0, signal: null, groupAlive: false, lastWords: null },
    seq,
    1000 + seq,
    1000 + seq,
  );

/** What the reader makes of the file the writer wrote. */
async function collect(path: string): Promise<LogItem[]> {
  const out: LogItem[] = [];
  for await (const item of readLog(path)) out.push(item);
  return out;
}

function lines(events: Event[]): string {
  return events.map((e) => `${encodeEvent(e)}\n`).join('');
}

describe('log writer', () => {
  for (const durability of ['every', 'batch', 'none'] as const) {
    it(`appends one line per event and continues the file's seq (durability ${durability})`, async () => {
      const path = join(tmp(), 'events.jsonl');
      const w1 = LogWriter.open(path, { durability });
      expect(w1.append({ type: 'supervisor-stopped' }, 5, 5)).toEqual({
        v: 2,
        seq: 1,
        time: 5,
        mono: 5,
        type: 'supervisor-stopped',
      });
      w1.append({ type: 'reload-failed', reason: 'x' }, 6, 6);
      w1.close();
      const w2 = LogWriter.open(path, { durability });
      expect(w2.lastSeq).toBe(2);
      w2.append({ type: 'supervisor-stopped' }, 7, 7);
      w2.close();
      const items = await collect(path);
      expect(items.map((i) => (i.kind === 'event' ? i.event.seq : i.problem.kind))).toEqual([1, 2, 3]);
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
    });
  }

  it('moves a torn tail aside instead of gluing the next event to it, losing nothing', async () => {
    const dir = tmp();
    const path = join(dir, 'events.jsonl');
    const torn = '{"v":1,"seq":3,"time":9,"type":"exi';
    writeFileSync(path, lines([exit(1), exit(2)]) + torn);
    let recovered: { tornBytes: number; movedTo: string } | undefined;
    const w = LogWriter.open(path, { onRecovered: (info) => (recovered = info) });
    expect(w.lastSeq).toBe(2);
    w.append({ type: 'supervisor-stopped' }, 10, 10);
    w.close();
    expect(recovered?.tornBytes).toBe(torn.length);
    expect(readFileSync(recovered?.movedTo as string, 'utf8')).toBe(torn);
    expect(readdirSync(dir).sort()).toEqual([
      'events.jsonl',
      `events.jsonl.torn-${lines([exit(1), exit(2)]).length}`,
    ]);
    const items = await collect(path);
    expect(items.map((i) => i.kind)).toEqual(['event', 'event', 'event']);
  });

  it('finds the last valid seq past invalid trailing lines, reading backwards over large files', () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, lines(Array.from({ length: 5000 }, (_, i) => exit(i + 1))));
    appendFileSync(path, 'not json\n\n');
    const w = LogWriter.open(path);
    expect(w.lastSeq).toBe(5000);
    w.close();
  });

  it('refuses to write through a symbolic link', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'target'), '');
    symlinkSync(join(dir, 'target'), join(dir, 'events.jsonl'));
    expect(() => LogWriter.open(join(dir, 'events.jsonl'))).toThrow(
      /is a symbolic link; refusing to write through it/,
    );
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('');
  });

  it('refuses to append after close', () => {
    const w = LogWriter.open(join(tmp(), 'events.jsonl'));
    w.close();
    expect(() => w.append({ type: 'supervisor-stopped' }, 1, 1)).toThrow(/closed/);
  });
});
