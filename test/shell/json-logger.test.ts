import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JsonLineLogger } from '../../src/shell/json-logger.js';
import { BoundedFdWriter } from '../../src/shell/output/bounded-writer.js';
import { useTmpDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmpDir = useTmpDir();

/** The same calls made on a logger; what procreg's own code calls, and the edge cases of pino's API. */
const inner = new TypeError('inner');
const e = Object.assign(new Error('boom', { cause: inner }), { code: 'EFOO', errno: -2, syscall: 'open' });
const agg = new AggregateError([new Error('a1'), new RangeError('a2')], 'agg');
const looped = new Error('outer');
(looped as { cause?: unknown }).cause = looped;

function calls(log: Pick<JsonLineLogger, 'info' | 'warn' | 'error' | 'fatal'>): void {
  log.info(
    { service: 'web', pid: 1, gone: undefined, fn: () => 1, nested: { a: [1, 'x', null] } },
    'hi "there"\n— ✓',
  );
  log.error({ err: e, eventLog: '/x' }, 'failed');
  log.warn(e);
  log.error(e, 'with a message');
  log.info('plain');
  log.fatal({ a: 1 });
  log.info({ err: 'not an error' }, 'x');
  log.info({ big: 10n }, 'bigint'); // past 2^53 pino writes the digits, this logger a string
  const c: Record<string, unknown> = { a: 1 };
  c.self = c;
  log.info({ c, again: { d: 1 } }, 'circular');
  log.warn(agg);
  log.error({ err: looped }, 'a cause loop');
  log.error({ err: e, service: 'web' }); // no message: the error's
  log.info(
    {
      x: {
        toJSON: () => {
          throw new Error('toJSON');
        },
      },
      y: 1,
    },
    'a field that cannot be written',
  );
}

describe('JsonLineLogger: the JSON lines pino writes, without pino', () => {
  it('writes, call for call, the very line pino writes (levels, time, fields in order, err, msg)', () => {
    const ours: string[] = [];
    const theirs: string[] = [];
    calls(new JsonLineLogger({ write: (l) => ours.push(l) }, () => 1000));
    calls(
      pino(
        { name: 'procreg', base: null, timestamp: () => ',"time":1000' },
        { write: (l: string) => void theirs.push(l) },
      ),
    );
    expect(ours).toHaveLength(13);
    expect(ours).toEqual(theirs);
    const first = JSON.parse(ours[0] as string) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(['level', 'time', 'service', 'pid', 'nested', 'msg']);
    expect(ours.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([
      30, 50, 40, 50, 30, 60, 30, 30, 30, 40, 50, 50, 30,
    ]);
  });

  it('never throws, whatever it is given: keys that throw, an error whose stack throws', () => {
    const lines: string[] = [];
    const log = new JsonLineLogger({ write: (l) => lines.push(l) }, () => 1000);
    const keysThrow = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('ownKeys');
        },
      },
    );
    const stackThrows = new Error('s');
    Object.defineProperty(stackThrows, 'stack', {
      get: () => {
        throw new Error('stack');
      },
    });
    expect(() => log.info(keysThrow, 'proxy')).not.toThrow();
    expect(() => log.error({ err: stackThrows }, 'stack getter')).not.toThrow();
    const unable = '[unable to serialize, circular reference is too complex to analyze]';
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { level: 30, time: 1000, fields: unable, msg: 'proxy' },
      { level: 50, time: 1000, err: unable, msg: 'stack getter' },
    ]);
  });

  it('through the bounded writer: a full non-blocking output (EAGAIN) loses nothing and keeps the order', async () => {
    const fifo = join(tmpDir(), 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      const writer = new BoundedFdWriter(fd);
      const log = new JsonLineLogger(writer);
      const n = 5000; // ~400 KB: many times what the pipe holds
      for (let i = 0; i < n; i++) log.info({ i, pad: 'x'.repeat(40) }, `line ${i}`);
      expect(writer.queuedBytes).toBeGreaterThan(64 * 1024); // the pipe is full: EAGAIN, retried
      let text = '';
      const buf = Buffer.alloc(64 * 1024);
      await waitFor(
        'every line through the FIFO',
        () => {
          for (;;) {
            try {
              const got = readSync(reader, buf, 0, buf.length, null);
              if (got === 0) break;
              text += buf.toString('utf8', 0, got);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
              break; // empty for now: the writer retries on its timer
            }
          }
          return text.split('\n').length - 1 >= n ? true : undefined;
        },
        20_000,
        5,
      );
      const lines = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { i: number; msg: string });
      expect(lines.map((l) => l.i)).toEqual(Array.from({ length: n }, (_, i) => i));
      await writer.drained(1000);
      expect(writer.queuedBytes).toBe(0);
    } finally {
      closeSync(fd);
      closeSync(reader);
    }
  });

  it('through the bounded writer: an output whose reader is gone (EPIPE) drops lines without an error', async () => {
    const fifo = join(tmpDir(), 'gone.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(reader);
    try {
      const writer = new BoundedFdWriter(fd);
      const errors: unknown[] = [];
      writer.on('error', (e) => errors.push(e));
      const log = new JsonLineLogger(writer);
      log.info('first');
      await writer.drained(5000);
      for (let i = 0; i < 100; i++) log.error({ i }, 'after the reader left');
      await writer.drained(5000);
      expect(writer.queuedBytes).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });
});
