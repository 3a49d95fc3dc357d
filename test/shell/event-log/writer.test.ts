import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event, EventBody } from '../../../src/events/types.js';
import { MAX_CONFIG_LINE_BYTES, MAX_LINE_BYTES } from '../../../src/shell/event-log/limits.js';
import { type LogItem, readLog } from '../../../src/shell/event-log/reader.js';
import { LogWriter } from '../../../src/shell/event-log/writer.js';
import { zeroDevice } from '../../support/child.js';
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

/** A reload-failed event whose line (newline excluded) is exactly `bytes` long. */
function lineOfLength(bytes: number, seq: number): { body: EventBody; event: Event } {
  const base = encodeEvent(stamp({ type: 'reload-failed', reason: '' }, seq, 7, 7)).length;
  const body: EventBody = { type: 'reload-failed', reason: 'x'.repeat(bytes - base) };
  const event = stamp(body, seq, 7, 7);
  expect(Buffer.byteLength(encodeEvent(event))).toBe(bytes);
  return { body, event };
}

describe('log writer: a log that does not deserve trust', () => {
  it('recovers the tail in one pass: a 48 MiB last line (over the limit) is skipped in well under a second', () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, lines([exit(1), exit(2)]));
    appendFileSync(path, `${'y'.repeat(48 * 1024 * 1024)}\n`); // quadratic before: about 12 s
    const t0 = performance.now();
    const w = LogWriter.open(path);
    const ms = performance.now() - t0;
    w.close();
    expect(w.lastSeq).toBe(2);
    expect(ms).toBeLessThan(3000);
  });

  it('writes a line of exactly 16 MiB, refuses one byte more (ELOGLINE) and writes nothing of it', async () => {
    const path = join(tmp(), 'events.jsonl');
    const w = LogWriter.open(path);
    w.append({ type: 'supervisor-stopped' }, 7, 7);
    const fits = lineOfLength(MAX_LINE_BYTES, 2);
    expect(w.append(fits.body, 7, 7)).toEqual(fits.event);
    const size = statSync(path).size;
    const over = lineOfLength(MAX_LINE_BYTES + 1, 3);
    expect(() => w.append(over.body, 7, 7)).toThrow(
      expect.objectContaining({
        code: 'ELOGLINE',
        message: `event log ${path}: a reload-failed line of ${MAX_LINE_BYTES + 1} bytes is over the limit of 16 MiB (16777216 bytes) per line; not written`,
      }),
    );
    expect(statSync(path).size).toBe(size);
    expect(w.lastSeq).toBe(2);
    w.close();
    const reopened = LogWriter.open(path);
    expect(reopened.lastSeq).toBe(2); // the 16 MiB line is read back whole
    reopened.close();
    expect((await collect(path)).map((i) => (i.kind === 'event' ? i.event.seq : i.problem.kind))).toEqual([
      1, 2,
    ]);
  });

  it('skips a last line one byte over the limit when finding where to continue', () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `${lines([exit(1)])}${encodeEvent(lineOfLength(MAX_LINE_BYTES + 1, 2).event)}\n`);
    const w = LogWriter.open(path);
    expect(w.lastSeq).toBe(1);
    w.close();
  });

  it('takes the config-loaded line of a 1000-service config with room to spare', async () => {
    const services: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++)
      services[`service-${i}`] = {
        command: [
          '/usr/bin/node',
          `/srv/app/workers/worker-${i}.js`,
          '--port',
          String(8000 + i),
          '--verbose',
        ],
        cwd: `/srv/app/workers/${i}`,
        env: { NODE_ENV: 'production', WORKER: String(i), DATABASE_URL: `postgres://db/app_${i}` },
        stdout: `logs/service-${i}.out`,
        stderr: `logs/service-${i}.err`,
        backoff: { initial: '250ms', max: '1m' },
        maxRestarts: { count: 5, within: '10m' },
      };
    const res = normalizeConfig({ runDir: '/srv/run', services }, { baseDir: '/srv' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const path = join(tmp(), 'events.jsonl');
    const w = LogWriter.open(path);
    const event = w.append({ type: 'config-loaded', source: 'app.yaml', config: res.config }, 7, 7);
    w.close();
    const bytes = statSync(path).size - 1;
    expect(bytes).toBeGreaterThan(500_000);
    expect(bytes).toBeLessThan(MAX_CONFIG_LINE_BYTES / 4);
    expect(await collect(path)).toEqual([{ kind: 'event', event }]);
  });

  it('refuses a FIFO, a device or a directory where the log should be, without blocking, leaving nothing behind', () => {
    const dir = tmp();
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'dir'));
    const cases = [
      ['fifo', 'a FIFO'],
      ['dir', 'a directory'],
      ...(zeroDevice(join(dir, 'zero')) ? [['zero', 'a character device']] : []),
    ];
    for (const [name, kind] of cases) {
      const path = join(dir, name as string);
      expect(() => LogWriter.open(path)).toThrow(
        expect.objectContaining({
          code: 'ELOGNOTFILE',
          message: `event log ${path} is ${kind}, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
        }),
      );
    }
    expect(readdirSync(dir).sort()).toEqual(cases.map(([name]) => name).sort());
  });

  it('knows when its file was moved away (and where to) or deleted', () => {
    const dir = tmp();
    const path = join(dir, 'events.jsonl');
    const w = LogWriter.open(path);
    expect(w.displaced()).toBeNull();
    renameSync(path, join(dir, 'events.1'));
    expect(w.displaced()).toEqual({ previous: join(dir, 'events.1') });
    writeFileSync(path, ''); // logrotate's create: another file at the path
    expect(w.displaced()).toEqual({ previous: join(dir, 'events.1') });
    unlinkSync(join(dir, 'events.1'));
    expect(w.displaced()).toEqual({ previous: null });
    w.close();
  });

  it('starts a fresh log on request: an empty file at the path is used, anything else moved aside', () => {
    const dir = tmp();
    const path = join(dir, 'events.jsonl');
    writeFileSync(path, '');
    const a = LogWriter.open(path, { fresh: true });
    a.append({ type: 'supervisor-stopped' }, 1, 1);
    a.close();
    const moved: string[] = [];
    const b = LogWriter.open(path, { fresh: true, onDisplaced: (d) => moved.push(d.movedTo) });
    expect(b.lastSeq).toBe(0);
    b.close();
    expect(moved).toEqual([expect.stringMatching(new RegExp(`^${path}\\.displaced-\\d+$`))]);
    expect(readFileSync(moved[0] as string, 'utf8')).toBe(
      lines([stamp({ type: 'supervisor-stopped' }, 1, 1, 1)]),
    );
    expect(statSync(path).size).toBe(0);
  });
});

describe('log writer on a full disk', () => {
  const mounts: string[] = [];
  const writers: LogWriter[] = [];
  afterEach(() => {
    for (const w of writers.splice(0)) w.close();
    for (const m of mounts.splice(0)) {
      try {
        execFileSync('umount', [m], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', m], { stdio: 'pipe' }); // still busy: detached all the same
      }
      rmdirSync(m);
    }
  });

  it('cuts a line the disk took only half of back off, so the file holds whole lines and the line can be written later', async () => {
    const mnt = join(tmp(), 'procreg-tmpfs');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      rmdirSync(mnt);
      console.log(`skipped: cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`);
      return;
    }
    mounts.push(mnt);
    const path = join(mnt, 'events.jsonl');
    const w = LogWriter.open(path, { durability: 'every' });
    writers.push(w);
    w.append({ type: 'supervisor-stopped' }, 1, 1);
    const big = lineOfLength(300 * 1024, 2); // more than the whole file system
    expect(() => w.append(big.body, 7, 7)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(statSync(path).size).toBe(lines([stamp({ type: 'supervisor-stopped' }, 1, 1, 1)]).length);
    expect(w.lastSeq).toBe(1);
    const small = w.append({ type: 'reload-failed', reason: 'fits' }, 8, 8);
    w.close();
    expect((await collect(path)).map((i) => (i.kind === 'event' ? i.event : i.problem))).toEqual([
      stamp({ type: 'supervisor-stopped' }, 1, 1, 1),
      small,
    ]);
  });
});
