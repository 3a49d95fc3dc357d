import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initialState } from '../../../src/core/state.js';
import { encodeEvent } from '../../../src/events/codec.js';
import type { Event } from '../../../src/events/types.js';
import { replayLogFile } from '../../../src/shell/event-log/replay-file.js';
import { World } from '../../../src/sim/world.js';
import { RELOAD_POOL } from '../../support/configs.js';
import { plain } from '../../support/plain.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

/** A long simulated session: reloads, exits, timers, each with the decisions the fold logged. */
function session(): World {
  const w = new World({ configs: RELOAD_POOL, seed: 11 });
  w.start();
  for (let i = 0; i < 7000; i++) {
    if (i % 7 === 0) w.exitProcess(i, i % 2 === 0 ? 'fail' : 'signal');
    if (i % 3 === 0) w.fireNextTimer();
    if (i % 101 === 0) w.deliver({ type: 'reload-requested', source: 'test' });
    w.deliverNext();
  }
  w.drain();
  return w;
}

const text = (events: readonly Event[]) => events.map((e) => `${encodeEvent(e)}\n`).join('');

describe('replayLogFile', () => {
  it('folds a real file to the registry the live fold reached, re-deriving every decision', async () => {
    const w = session();
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, text(w.log));
    expect(statSync(path).size).toBeGreaterThan(1 << 20); // more than one read chunk

    const { result, problems } = await replayLogFile(path, { check: true });
    expect(problems).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(result.events).toBe(w.log.length);
    expect(result.lastSeq).toBe(w.seq);
    expect(result.lastTime).toBe((w.log.at(-1) as Event).time);
    expect(plain(result.state)).toEqual(plain(w.state));
  });

  it("collects what is wrong with the file by line, apart from the fold's own problems, and folds on", async () => {
    const w = session();
    const log = w.log.slice(0, 200);
    const i = log.findIndex((e) => e.type === 'restart-scheduled');
    const tampered = log.map((e, j) => (j === i ? { ...e, delayMs: 1 } : e));
    const lines = text(tampered).split('\n');
    lines.splice(3, 0, 'garbage'); // line 4
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `${lines.join('\n')}{"v":2,"seq":201`); // and a torn tail

    const { result, problems } = await replayLogFile(path, { check: true });
    expect(problems).toEqual([
      { file: path, line: 4, kind: 'invalid', message: expect.stringMatching(/^not JSON/) },
      { file: path, line: 202, kind: 'torn', message: expect.stringMatching(/^last line is incomplete/) },
    ]);
    expect(result.events).toBe(200);
    expect(result.problems).toEqual([
      expect.objectContaining({ seq: (log[i] as Event).seq, kind: 'decision-mismatch' }),
    ]);
  });

  it('without check, folds without comparing decisions', async () => {
    const w = session();
    const log = w.log.slice(0, 200);
    const i = log.findIndex((e) => e.type === 'restart-scheduled');
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, text(log.map((e, j) => (j === i ? { ...e, delayMs: 1 } : e))));
    const { result, problems } = await replayLogFile(path);
    expect(problems).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(result.events).toBe(200);
  });

  it('reads a missing file as an empty log only when missingOk', async () => {
    const path = join(tmp(), 'none.jsonl');
    const { result, problems } = await replayLogFile(path, { missingOk: true });
    expect(problems).toEqual([]);
    expect(result).toMatchObject({ events: 0, lastSeq: 0, lastTime: 0, problems: [] });
    expect(plain(result.state)).toEqual(plain(initialState()));
    await expect(replayLogFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not take any other failure to read for a missing file', async () => {
    const path = join(tmp(), 'events.jsonl');
    mkdirSync(path);
    await expect(replayLogFile(path, { missingOk: true })).rejects.toMatchObject({
      code: 'ELOGNOTFILE',
      message: `event log ${path} is a directory, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
    });
  });
});
