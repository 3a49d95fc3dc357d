import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../src/events/codec.js';
import { EVENT_SCHEMA, EVENT_TYPES } from '../../src/events/schema.js';
import { World } from '../../src/sim/world.js';
import { RELOAD_POOL } from '../support/configs.js';

function richLog() {
  const w = new World({ configs: RELOAD_POOL, seed: 3, spawnFailure: 0.1, lingering: 0.2 });
  w.start();
  for (let i = 0; i < 400; i++) {
    if (i % 7 === 0) w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    if (i % 5 === 0) w.exitProcess(i, i % 2 ? 'signal' : 'fail');
    if (i % 3 === 0) w.fireNextTimer();
    if (i % 50 === 0)
      w.pending.push({
        type: 'exited',
        pid: 99_999,
        code: 0,
        signal: null,
        groupAlive: false,
        lastWords: null,
      });
    w.deliverNext();
  }
  // A crash and a new instance: orphans, their reaping, and their groups going.
  w.pending.length = 0;
  w.timers.clear();
  w.start();
  w.drain();
  w.pending.push({ type: 'supervisor-stopping', reason: 'SIGTERM' });
  w.drain();
  return w.log;
}

describe('log codec', () => {
  it('round-trips every event the fold and the world produce', () => {
    const log = richLog();
    const types = new Set(log.map((e) => e.type));
    expect(types.size).toBeGreaterThan(20);
    for (const e of log) {
      const line = encodeEvent(e);
      expect(line).not.toContain('\n');
      expect(
        line.startsWith(`{"v":2,"seq":${e.seq},"time":${e.time},"mono":${e.mono},"type":"${e.type}"`),
      ).toBe(true);
      expect(decodeEvent(line)).toEqual({ ok: true, event: e });
    }
  });

  it('rejects every event type when a payload field is missing', () => {
    for (const type of EVENT_TYPES) {
      const fields = Object.keys(EVENT_SCHEMA[type]);
      if (fields.length === 0) continue;
      const res = decodeEvent(JSON.stringify({ v: 2, seq: 1, time: 0, mono: 0, type }));
      expect(res.ok, type).toBe(false);
      if (!res.ok) expect(res.error).toContain(`${type} field ${fields[0]}: expected`);
    }
  });

  const base = '"v":1,"seq":4,"time":1700000000000';
  it.each([
    ['{"v":1', /^not JSON/],
    ['[1,2]', /^not a JSON object$/],
    [
      `{"v":3,"seq":1,"time":0,"type":"exited"}`,
      /^field v: expected format version 2 \(or 1, read and upgraded\), got 3$/,
    ],
    [`{"v":1,"seq":0,"time":0,"type":"exited"}`, /^field seq: expected a positive integer, got 0$/],
    [`{"v":1,"seq":1,"time":"now","type":"exited"}`, /^field time: expected epoch milliseconds, got "now"$/],
    [`{${base},"type":"exploded"}`, /^field type: unknown event type "exploded"$/],
    [
      `{${base},"type":"exited","pid":-3,"code":0,"signal":null}`,
      /^exited field pid: expected a positive integer PID, got -3$/,
    ],
    [
      `{${base},"type":"exited","pid":3,"code":300,"signal":null}`,
      /^exited field code: expected an exit code 0-255 or null, got 300$/,
    ],
    [
      `{${base},"type":"exited","pid":3,"code":null,"signal":"SIGFOO"}`,
      /^exited field signal: expected a signal name such as SIGTERM or null, got "SIGFOO"$/,
    ],
    [`{${base},"type":"exited","pid":3,"code":0,"signal":null,"extra":1}`, /^exited: unknown field "extra"$/],
    [
      `{${base},"type":"timer-fired","timer":{"kind":"backoff","name":"w","gen":1}}`,
      /^timer-fired field timer: expected a backoff timer key whose incarnation is a non-negative integer/,
    ],
    [
      `{${base},"type":"config-loaded","gen":1,"source":"x","config":{"runDir":"/r","eventLog":"/r/e","services":{"w":{"command":[]}},"checks":{}}}`,
      /^config-loaded field config\.services\.w\.command: must be a non-empty list of strings \(argv; .*\), got \[\] \(array\) \(and \d+ more problem\(s\)\)$/,
    ],
  ])('rejects %s, naming what is wrong', (line, message) => {
    const res = decodeEvent(line);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error).toMatch(message);
  });

  it('reads a version 1 line as version 2 would have written it', () => {
    const v1 = (body: object) => JSON.stringify({ v: 1, seq: 7, time: 1000, ...body });
    const read = (body: object) => {
      const res = decodeEvent(v1(body));
      if (!res.ok) throw new Error(res.error);
      return res.event;
    };
    // No monotonic clock in v1: the wall time stands in, which is what v1's fold measured by.
    expect(read({ type: 'supervisor-stopped' })).toEqual({
      v: 2,
      seq: 7,
      time: 1000,
      mono: 1000,
      type: 'supervisor-stopped',
    });
    expect(read({ type: 'supervisor-started', pid: 9, version: '0.1.0' })).toMatchObject({ bootId: null });
    expect(read({ type: 'spawned', name: 'w', gen: 1, incarnation: 1, pid: 5, startTime: 3 })).toMatchObject({
      exe: null,
    });
    expect(read({ type: 'exited', pid: 5, code: 0, signal: null })).toMatchObject({
      groupAlive: false,
      lastWords: null,
    });
    expect(read({ type: 'orphan-reaped', pid: 5, outcome: 'killed' })).toMatchObject({ detail: null });
    const config = {
      runDir: '/r',
      eventLog: '/r/e.jsonl',
      services: {},
      checks: {
        c: {
          command: ['x'],
          cwd: null,
          intervalMs: 1,
          timeoutMs: 1,
          killAfterMs: 1,
          rise: 1,
          fall: 1,
          restarts: null,
        },
      },
    };
    const loaded = read({ type: 'config-loaded', gen: 1, source: 'x', config });
    expect(loaded).not.toHaveProperty('gen');
    expect(loaded).toMatchObject({
      config: { allowUnsafeScripts: false, checks: { c: { restartsService: null } } },
    });
    expect(loaded).not.toHaveProperty('config.checks.c.restarts');
  });

  it('refuses a version 2 line without its monotonic time', () => {
    expect(decodeEvent('{"v":2,"seq":1,"time":5,"type":"supervisor-stopped"}')).toEqual({
      ok: false,
      error: 'field mono: expected monotonic milliseconds since boot, got nothing',
    });
  });
});
