import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderLoop } from '../../src/debug/collapse.js';
import { describeStep, renderEventLine } from '../../src/debug/describe.js';
import { diffPoints } from '../../src/debug/diff.js';
import { tellEvents } from '../../src/debug/filter.js';
import { serviceHistory } from '../../src/debug/history.js';
import { parsePoint, parseTime } from '../../src/debug/point.js';
import { replayTo } from '../../src/debug/replay-to.js';
import { timelineData } from '../../src/debug/timeline.js';
import { timelineHtml } from '../../src/debug/timeline-html.js';
import { Walker } from '../../src/debug/walk.js';
import { decodeEvent, stamp } from '../../src/events/codec.js';
import type { Event } from '../../src/events/types.js';
import { simulate } from '../../bench/sim-log.js';
import { SAMPLES } from '../support/events.js';

const UTC = { utc: true };
const demo: Event[] = readFileSync('examples/demo.events.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const r = decodeEvent(l);
    if (!r.ok) throw new Error(r.error);
    return r.event;
  });

async function told(
  events: Iterable<Event>,
  options: Parameters<typeof tellEvents>[1] = {},
): Promise<string[]> {
  const out: string[] = [];
  for await (const t of tellEvents(events, options))
    out.push(t.kind === 'event' ? renderEventLine(t.line, UTC) : renderLoop(t.loop, UTC));
  return out;
}

describe('points of a log', () => {
  const now = Date.parse('2026-11-28T03:20:00Z');
  it('reads seqs, gen:N, ISO 8601 and times relative to now', () => {
    expect(parsePoint('120', now)).toEqual({ ok: true, value: { kind: 'seq', seq: 120 } });
    expect(parsePoint('gen:2', now)).toEqual({ ok: true, value: { kind: 'gen', gen: 2 } });
    expect(parsePoint('2026-11-28T03:12:00Z', now)).toEqual({
      ok: true,
      value: { kind: 'time', time: Date.parse('2026-11-28T03:12:00Z') },
    });
    expect(parseTime('-90s', now)).toEqual({ ok: true, value: now - 90_000 });
    expect(parseTime('-10m', now)).toEqual({ ok: true, value: now - 600_000 });
    expect(parseTime('-1.5h', now)).toEqual({ ok: true, value: now - 5_400_000 });
    expect(parsePoint('yesterday', now)).toMatchObject({
      ok: false,
      error: expect.stringContaining('is not a point of the log'),
    });
    expect(parsePoint('gen:0', now)).toMatchObject({ ok: false });
  });

  it('replays to a seq, a time and a generation; refuses a seq past the end and a time before the start', async () => {
    const at70 = await replayTo(demo, { kind: 'seq', seq: 70 });
    expect(at70).toMatchObject({ ok: true, replay: { seq: 70, generation: 1 } });
    if (!at70.ok) return;
    expect(at70.replay.view.services.map((s) => [s.name, s.state])).toEqual([
      ['clock', 'running'],
      ['flaky', 'backoff'],
      ['web', 'running'],
    ]);
    const gen2 = await replayTo(demo, { kind: 'gen', gen: 2 });
    expect(gen2).toMatchObject({ ok: true, replay: { seq: 128, generation: 2 } });
    const t = demo[40] as Event;
    expect(await replayTo(demo, { kind: 'time', time: t.time })).toMatchObject({
      ok: true,
      replay: { time: t.time },
    });
    expect(await replayTo(demo, { kind: 'seq', seq: 500 })).toEqual({
      ok: false,
      error: 'seq 500 is past the end of the log (its last event is seq 207)',
    });
    expect(await replayTo(demo, { kind: 'time', time: (demo[0] as Event).time - 1 }, UTC)).toEqual({
      ok: false,
      error:
        "2026-12-07 01:09:16.173 UTC is before the log's first event (seq 1 at 2026-12-07 01:09:16.174 UTC)",
    });
    expect(await replayTo(demo, { kind: 'gen', gen: 3 })).toEqual({
      ok: false,
      error: 'generation 3 never came into force in this log (it has generations up to 2)',
    });
  });
});

describe('events in plain words', () => {
  it('describes every event type without throwing', () => {
    const w = new Walker();
    SAMPLES.forEach((body, i) => {
      const s = w.push(stamp(body, i + 1, 1_800_000_000_000 + i, 1000 + i));
      expect(describeStep(s).length).toBeGreaterThan(5);
    });
  });

  it('filters by service, check, type, generation and time, and collapses a crash loop', async () => {
    const flaky = await told(demo, { filter: { services: ['flaky'] } });
    expect(flaky).toContain(
      '01:09:26.437 flaky #2–#4 exited code 1, restarted ×3 over 5.4s, backoff 400ms→1.6s (collapsed: seq 33–81; --all shows each)',
    );
    expect(flaky.slice(-3)).toEqual([
      '01:09:26.437 flaky #5 exited code 1 after 2.8s (last words: "crashing" (+1 line before))',
      '01:09:26.437 flaky given up: more than 4 restarts within 30s (4 restarts in all)',
      '01:09:26.438 flaky #5: PID file /srv/demo/run/flaky.pid removed',
    ]);
    const all = await told(demo, { filter: { services: ['flaky'] }, all: true });
    expect(all.filter((l) => l.includes('exited'))).toHaveLength(5);
    const types = await told(demo, { filter: { types: ['check-health-changed'] } });
    expect(types).toEqual([
      '01:09:17.246 web_alive turned healthy (2 successes in a row, rise 2)',
      '01:09:25.447 web_alive turned unhealthy (2 failures in a row, fall 2); restarts web',
      '01:09:27.374 web_alive turned healthy (2 successes in a row, rise 2)',
      '01:09:35.761 web_alive turned unhealthy (2 failures in a row, fall 2); restarts web',
      '01:09:37.799 web_alive turned healthy (2 successes in a row, rise 2)',
    ]);
    const gen2decisions = await told(demo, { filter: { gen: 2, types: ['decision'], services: ['web'] } });
    expect(gen2decisions).toEqual([
      '01:09:35.761 SIGTERM to web #2, pid 8665: its check turned unhealthy',
      '01:09:35.765 web #3 to start (restart)',
      '01:09:40.960 SIGTERM to web #3, pid 8789: procreg is stopping',
    ]);
    const since = Date.parse('2026-12-07T01:09:40.970Z');
    expect(await told(demo, { filter: { since, services: ['clock'] } })).toEqual([
      '01:09:40.971 clock #1 killed by SIGTERM after 24.8s (stopped with SIGTERM) (last words in /srv/demo/run/clock.out at byte 600)',
      '01:09:40.971 clock #1: PID file /srv/demo/run/clock.pid removed',
    ]);
    expect(await told(demo, { filter: { afterSeq: 205 } })).toEqual([
      '01:09:40.972 web #3: PID file /srv/demo/run/web.pid removed',
      '01:09:40.972 procreg stopped',
    ]);
  });

  it('shows the last words an exit record carries', async () => {
    const log = demo.map((e) =>
      e.type === 'exited' && e.seq === 105
        ? ({ ...e, lastWords: { lines: ['boom', 'Error: listen EADDRINUSE :8080'] } } as Event)
        : e,
    );
    const lines = await told(log, { filter: { services: ['flaky'], types: ['exited'] }, all: true });
    expect(lines.at(-1)).toBe(
      '01:09:26.437 flaky #5 exited code 1 after 2.8s (last words: "Error: listen EADDRINUSE :8080" (+1 line before))',
    );
    const h = await serviceHistory(log, 'flaky');
    expect(h.rows.at(-1)?.lastWords).toEqual({ lines: ['boom', 'Error: listen EADDRINUSE :8080'] });
  });
});

describe('history of the demo', () => {
  it('has a row per incarnation with its end, its cause and the restart window', async () => {
    const web = await serviceHistory(demo, 'web');
    expect(
      web.rows.map((r) => [r.incarnation, r.generation, r.pid, r.uptimeMs, r.endedBy?.text, r.then?.text]),
    ).toEqual([
      [1, 1, 8338, 9231, 'check web_alive unhealthy', 'restarted at once'],
      [2, 1, 8665, 10294, 'check web_alive unhealthy', 'restarted at once'],
      [3, 2, 8789, 5203, 'procreg stop (SIGINT)', 'stays down (supervisor stopping)'],
    ]);
    const flaky = await serviceHistory(demo, 'flaky');
    expect(flaky.rows.map((r) => [r.then?.delayMs ?? null, r.then?.inWindow, r.then?.maxRestarts])).toEqual([
      [200, 1, 4],
      [400, 2, 4],
      [800, 3, 4],
      [1600, 4, 4],
      [null, 4, 4],
    ]);
    expect(flaky.state).toBe('given-up');
    const last2 = await serviceHistory(demo, 'flaky', { last: 2 });
    expect(last2.rows.map((r) => r.incarnation)).toEqual([4, 5]);
    expect(last2.omitted).toBe(3);
  });
});

describe('diff between two points', () => {
  it('lists processes started and ended, health changes and reloads between gen:1 and the end', async () => {
    const r = await diffPoints(demo, { kind: 'gen', gen: 1 }, { kind: 'seq', seq: 207 });
    if (!r.ok) throw new Error(r.error);
    const d = r.diff;
    expect(d.from).toMatchObject({ seq: 7, generation: 1, phase: 'running' });
    expect(d.to).toMatchObject({ seq: 207, generation: 2, phase: 'stopped' });
    expect(d.reloads).toEqual([{ gen: 2, seq: 128, time: expect.any(Number) }]);
    const flaky = d.services.find((s) => s.name === 'flaky');
    expect(flaky).toMatchObject({ started: 5, ended: 5, endedBy: { crash: 5 }, to: { state: 'given-up' } });
    expect(d.checks[0]).toMatchObject({
      name: 'web_alive',
      runs: 25,
      failures: 4,
      from: { healthy: null },
      to: { healthy: true },
    });
    expect(d.config.services).toEqual({ added: [], removed: [], changed: [] });
    expect(await diffPoints(demo, { kind: 'seq', seq: 100 }, { kind: 'seq', seq: 50 })).toEqual({
      ok: false,
      error: 'seq 50 comes before seq 100: give the earlier point first',
    });
  });
});

describe('timeline data', () => {
  it('has a lane per service and check, bars by how they ended, reloads, check marks and details with the why', async () => {
    const d = await timelineData(demo, UTC);
    expect(d.lanes).toEqual([
      { name: 'clock', kind: 'service' },
      { name: 'flaky', kind: 'service' },
      { name: 'web', kind: 'service' },
      { name: 'web_alive', kind: 'check' },
    ]);
    expect(d.bars.map((b) => `${d.lanes[b.l]?.name}${b.t}:${b.k}`).sort()).toEqual([
      'clock#1:procreg-stop',
      'flaky#1:crash',
      'flaky#2:crash',
      'flaky#3:crash',
      'flaky#4:crash',
      'flaky#5:crash',
      'web#1:check',
      'web#2:check',
      'web#3:procreg-stop',
    ]);
    expect(d.boundaries.map((b) => [b.k, b.t])).toEqual([
      ['start', 'gen 1'],
      ['reload', 'gen 2'],
      ['stop', 'stop'],
    ]);
    expect(d.marks.filter((m) => m.k === 'given-up')).toHaveLength(1);
    expect(d.marks.filter((m) => m.k === 'check-failed')).toHaveLength(4);
    expect(d.loops).toEqual([expect.objectContaining({ n: 4, t: 'crash loop ×4' })]);
    const web1 = d.bars.find((b) => b.t === '#1' && d.lanes[b.l]?.name === 'web');
    expect(d.details[web1?.d ?? -1]).toContain(
      "root cause: web_alive's script failed with code 1: 2 times in a row (fall 2)",
    );
    expect(d.stats).toMatchObject({ events: 207, aggregated: 0, bucketMs: null });
  });

  it('aggregates what is too dense to draw and stays within its budget', async () => {
    const events: Event[] = [];
    simulate(60_000, (e) => events.push(e), 3);
    const d = await timelineData(events, { utc: true, detailCap: 2000 });
    expect(d.stats.items).toBeGreaterThan(2000);
    expect(d.stats.aggregated).toBeGreaterThan(0);
    expect(d.aggregates.length).toBeGreaterThan(0);
    expect(d.bars.length + d.marks.length + d.loops.length + d.spans.length).toBeLessThan(2000 + 8000 + 4000);
    const html = timelineHtml(d, { source: '/* no library in this test */', notice: 'none' });
    expect(html).toContain('<script type="application/json" id="timeline-data">');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).toContain("default-src 'none'");
  });
});
