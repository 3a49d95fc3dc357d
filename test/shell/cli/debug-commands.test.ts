import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTmpDir } from '../../support/tmp.js';
import { lines, procregAs as procreg } from '../config/cli-runner.js';

const tmp = useTmpDir();
const DEMO = 'examples/demo.events.jsonl';
const demoLines = () => readFileSync(DEMO, 'utf8').trim().split('\n');

describe('procreg events on the recorded demo log', () => {
  it('prints plain-word lines with a day header, filtered, a crash loop collapsed', async () => {
    const r = await procreg(['events', DEMO, '--service', 'flaky', '--utc']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout).slice(0, 2)).toEqual(['-- 2026-12-07 UTC --', '01:09:16.177 flaky #1 to start']);
    expect(r.stdout).toContain(
      '01:09:26.437 flaky #2–#4 exited code 1, restarted ×3 over 5.4s, backoff 400ms→1.6s (collapsed: seq 33–81; --all shows each)\n',
    );
    const all = await procreg(['events', DEMO, '--service', 'flaky', '--all', '--utc', '--type', 'exited']);
    expect(lines(all.stdout).slice(1)).toEqual([
      '01:09:17.279 flaky #1 exited code 1 after 1.1s (last words: "crashing" (+1 line before))',
      '01:09:18.291 flaky #2 exited code 1 after 809ms (last words: "crashing" (+1 line before))',
      '01:09:19.873 flaky #3 exited code 1 after 1.2s (last words: "crashing" (+1 line before))',
      '01:09:22.059 flaky #4 exited code 1 after 1.4s (last words: "crashing" (+1 line before))',
      '01:09:26.437 flaky #5 exited code 1 after 2.8s (last words: "crashing" (+1 line before))',
    ]);
  });

  it('--json: one object per event per line, every event, with the log line itself', async () => {
    const r = await procreg([
      'events',
      DEMO,
      '--json',
      '--check',
      'web_alive',
      '--type',
      'check-health-changed',
    ]);
    expect(r.code).toBe(0);
    const objs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(5);
    expect(objs[1]).toEqual({
      seq: 92,
      time: '2026-12-07T01:09:25.447Z',
      type: 'check-health-changed',
      kind: 'decision',
      service: null,
      check: 'web_alive',
      serial: 10,
      gen: 1,
      text: 'web_alive turned unhealthy (2 failures in a row, fall 2); restarts web',
      lastWords: null,
      event: {
        v: 2,
        seq: 92,
        time: 1796605765447,
        mono: 179338,
        type: 'check-health-changed',
        name: 'web_alive',
        healthy: false,
      },
    });
  });

  it('names the services and checks the log knows for an unknown one (exit 1); a bad --type or time is a usage error (exit 2)', async () => {
    const r = await procreg(['events', DEMO, '--service', 'wbe']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      'procreg events: service(s) "wbe" not in this log; it knows services: clock, flaky, web; checks: web_alive',
    ]);
    const t = await procreg(['events', DEMO, '--type', 'exitted']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(
      /^procreg events: --type: unknown event type\(s\) exitted; known: supervisor-started, /,
    );
    const s = await procreg(['events', DEMO, '--since', 'yesterday 14:00']);
    expect(s.code).toBe(2);
    expect(lines(s.stderr)).toEqual([
      'procreg events: --since: "yesterday 14:00" is not a time: use ISO 8601 (2026-11-28T03:12:00Z) or a time relative to now (-90s, -10m, -2h, -1d)',
    ]);
  });
});

describe('procreg history, why, diff, replay --until on the demo log', () => {
  it('history: a row per incarnation, and --json', async () => {
    const r = await procreg(['history', DEMO, 'web', '--utc']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'history of web in examples/demo.events.jsonl: 3 incarnation(s); now stopped',
      'times are UTC, on 2026-12-07',
      '#  GEN  PID   STARTED       ENDED         UPTIME  EXIT    ENDED BY                   THEN                              RESTARTS',
      '1  1    8338  01:09:16.223  01:09:25.454  9.2s    code 0  check web_alive unhealthy  restarted at once                 1 of 10 in 60s',
      '    last words: "SIGTERM, shutting down" (+1 line before)',
      '2  1    8665  01:09:25.472  01:09:35.765  10.3s   code 0  check web_alive unhealthy  restarted at once                 2 of 10 in 60s',
      '    last words: "SIGTERM, shutting down" (+1 line before)',
      '3  2    8789  01:09:35.768  01:09:40.971  5.2s    code 0  procreg stop (SIGINT)      stays down (supervisor stopping)  -',
      '    last words: "SIGTERM, shutting down" (+1 line before)',
    ]);
    const j = await procreg(['history', DEMO, 'flaky', '--json']);
    const h = JSON.parse(j.stdout) as {
      service: string;
      log: string;
      state: string;
      rows: Record<string, unknown>[];
    };
    expect(h).toMatchObject({ service: 'flaky', log: DEMO, state: 'given-up' });
    expect(h.rows[4]).toEqual({
      incarnation: 5,
      instance: 1,
      generation: 1,
      pid: 8635,
      startedAt: 1796605763661,
      startSeq: 80,
      startReason: 'restart',
      endedAt: 1796605766437,
      endSeq: 105,
      uptimeMs: 2776,
      running: false,
      exit: { code: 1, signal: null, error: null },
      endedBy: { kind: 'crash', text: 'crash', seq: 105 },
      then: {
        kind: 'given-up',
        text: 'given up',
        delayMs: null,
        restarts: 4,
        inWindow: 4,
        maxRestarts: 4,
        withinMs: 30000,
        seq: 106,
      },
      lastWords: { lines: ['up, will crash in 2599 ms', 'crashing'] },
    });
    const c = await procreg(['history', DEMO, 'web_alive']);
    expect(c.code).toBe(1);
    expect(lines(c.stderr)).toEqual([
      'procreg history: web_alive is a check: history is kept per service; see its runs with procreg events examples/demo.events.jsonl --check web_alive',
    ]);
  });

  it("why: an incarnation ('#1' or 1), a seq, and the current state; --json", async () => {
    const r = await procreg(['why', DEMO, 'web', '#1', '--utc']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'why did web #1 end, and what followed?',
      '  restarted at once',
      '01:09:25.454  web restarted at once as #2 (restart 1)  [seq 97]',
      '              rule: a restart a failed check asks for waits for the exit, not for a backoff; it counts: restarts in the last 60s: 1 of maxRestarts 10',
      '01:09:25.454  ← web #1 (pid 8338) exited code 0 after 9.2s  [seq 96]',
      '              ← last words: "SIGTERM, shutting down" (+1 line before)',
      "01:09:25.447  ← SIGTERM sent to web #1's process group: check web_alive turned unhealthy and restarts web  [seq 93]",
      '01:09:25.447  ← web_alive turned unhealthy: 2 failures in a row reached fall 2  [seq 92]',
      '01:09:25.447  ← web_alive run 10 failed: code 1 after 234ms  [seq 91]',
      '01:09:24.447  ← web_alive run 9 failed: code 1 after 233ms  [seq 86]',
      "root cause: web_alive's script failed with code 1: 2 times in a row (fall 2)",
    ]);
    expect((await procreg(['why', DEMO, 'web', '1', '--utc'])).stdout).toBe(r.stdout);
    const j = await procreg(['why', DEMO, 'flaky', '--json']);
    const a = JSON.parse(j.stdout) as Record<string, unknown>;
    expect(Object.keys(a)).toEqual(['log', 'subject', 'question', 'logEnd', 'answer', 'chain', 'root']);
    expect(a.answer).toMatch(/^given up at \d\d:\d\d:\d\d\.\d{3}: 5 restarts within 30s > maxRestarts 4$/);
    const seq = await procreg(['why', DEMO, 'flaky', '@24', '--utc']);
    expect(lines(seq.stdout).slice(0, 3)).toEqual([
      'why seq 24?',
      '  restarted after 200ms',
      '01:09:17.279  flaky restart as #2 scheduled in 200ms (restart 1)  [seq 24]',
    ]);
    const bad = await procreg(['why', DEMO, 'web', 'x7']);
    expect(bad.code).toBe(2);
    const none = await procreg(['why', DEMO, 'web', '#9']);
    expect(none.code).toBe(1);
    expect(lines(none.stderr)).toEqual(['procreg why: web has no incarnation #9 in this log (it has #1–#3)']);
  });

  it('diff: gen:1 to gen:2, and --json', async () => {
    const r = await procreg(['diff', DEMO, 'gen:1', 'gen:2', '--utc']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).slice(0, 4)).toEqual([
      'diff from gen:1: seq 7 (01:09:16.177, generation 1, procreg running)',
      '       to gen:2: seq 128 (01:09:29.983, generation 2, procreg running)',
      'supervisor: 1 reload(s): generation 2 at 01:09:29.983',
      'config: no change',
    ]);
    const j = JSON.parse((await procreg(['diff', DEMO, '1', '207', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(Object.keys(j)).toEqual([
      'log',
      'from',
      'to',
      'supervisorStarts',
      'reloads',
      'config',
      'services',
      'checks',
    ]);
    const past = await procreg(['diff', DEMO, '1', '500']);
    expect(past.code).toBe(1);
    expect(lines(past.stderr)).toEqual([
      'procreg diff: examples/demo.events.jsonl: to seq 500: seq 500 is past the end of the log (its last event is seq 207)',
    ]);
  });

  it('replay --until / --at: the registry at that point with the generation and the config in force', async () => {
    const r = await procreg(['replay', DEMO, '--until', 'gen:2', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(v)).toEqual([
      'seq',
      'generation',
      'phase',
      'services',
      'checks',
      'processes',
      'time',
      'at',
      'config',
    ]);
    expect(v).toMatchObject({
      seq: 128,
      generation: 2,
      time: 1796605769983,
      at: { point: 'gen:2', seq: 128 },
    });
    const text = await procreg(['replay', DEMO, '--at', '2026-12-07T01:09:26Z', '--utc']);
    expect(lines(text.stdout).slice(0, 3)).toEqual([
      'at 2026-12-07 01:09:26.000 UTC: the last event at or before it is seq 101 (2026-12-07 01:09:25.472 UTC)',
      'config in force: generation 1: services clock, flaky, web; checks web_alive (--json prints it whole)',
      'registry after seq 101 (101 events): generation 1, supervisor running',
    ]);
    const before = await procreg(['replay', DEMO, '--at', '2020-01-01T00:00:00Z', '--utc']);
    expect(before.code).toBe(1);
    expect(lines(before.stderr)).toEqual([
      "procreg replay: examples/demo.events.jsonl: 2020-01-01 00:00:00.000 UTC: 2020-01-01 00:00:00.000 UTC is before the log's first event (seq 1 at 2026-12-07 01:09:16.174 UTC)",
    ]);
    expect((await procreg(['replay', DEMO, '--until', '999'])).code).toBe(1);
    expect((await procreg(['replay', DEMO, '--until', 'soon'])).code).toBe(2);
    expect((await procreg(['replay', DEMO, '--until', '5', '--at', '-1m'])).code).toBe(2);
  });

  it('timeline: writes one self-contained page and says its size', async () => {
    const out = join(tmp(), 'timeline.html');
    const r = await procreg(['timeline', DEMO, '-o', out]);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^procreg timeline: wrote ${out}: \\d+ KB; 207 events, 4 lanes, 29 marks drawn one by one$`,
        ),
      ),
    ]);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).toContain('d3 7.');
  });
});

describe('bad input: one clear message naming the file, line or value, exit 1 (2 for usage), never a stack trace', () => {
  function logWith(edit: (ls: string[]) => string[] | string): string {
    const path = join(tmp(), 'events.jsonl');
    const out = edit(demoLines());
    writeFileSync(path, typeof out === 'string' ? out : `${out.join('\n')}\n`);
    return path;
  }

  it('a torn last line: reported once, tolerated (exit 0)', async () => {
    const path = logWith((ls) => `${ls.join('\n')}\n{"v":2,"seq":208,"ti`);
    const r = await procreg(['history', path, 'web']);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual([
      `warning: ${path}:208: the last line is incomplete (not JSON (Unterminated string in JSON at position 20)): a write cut short by a crash; skipped`,
    ]);
  });

  it('a garbled line, a duplicated line, lines out of order: each named by line, exit 1', async () => {
    const garbled = logWith((ls) => [...ls.slice(0, 50), '{"v":1,"seq":51,"time":x}', ...ls.slice(51)]);
    const g = await procreg(['events', garbled, '--service', 'web']);
    expect(g.code).toBe(1);
    expect(lines(g.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^${garbled}:51: invalid: not JSON`)),
      `${garbled}:52: seq-gap: seq jumps from 50 to 52: 1 event(s) missing`,
      'procreg events: 2 problem(s) in the log (lines skipped or events missing, listed above): the result may be incomplete (exit 1)',
    ]);
    const dup = logWith((ls) => [...ls.slice(0, 30), ls[29] as string, ...ls.slice(30)]);
    const d = await procreg(['why', dup, 'web']);
    expect(d.code).toBe(1);
    expect(lines(d.stderr)[0]).toBe(
      `${dup}:31: seq-repeat: seq 30 does not follow seq 30 (a duplicate or a line out of order); skipped`,
    );
    const swapped = logWith((ls) => [
      ...ls.slice(0, 40),
      ls[41] as string,
      ls[40] as string,
      ...ls.slice(42),
    ]);
    const s = await procreg(['history', swapped, 'flaky']);
    expect(s.code).toBe(1);
    expect(lines(s.stderr).slice(0, 2)).toEqual([
      `${swapped}:41: seq-gap: seq jumps from 40 to 42: 1 event(s) missing`,
      `${swapped}:42: seq-repeat: seq 41 does not follow seq 42 (a duplicate or a line out of order); skipped`,
    ]);
    expect(s.stderr).not.toMatch(/\n\s+at /);
  });

  it('a log of a foreign format version, a missing file, a directory, a config: one message each', async () => {
    const foreign = logWith((ls) => ls.map((l) => l.replace('{"v":2,', '{"v":3,')));
    const f = await procreg(['events', foreign]);
    expect(f.code).toBe(1);
    expect(lines(f.stderr)).toEqual([
      `procreg events: ${foreign}:1: event log format version 3: this procreg reads versions 1 and 2 (a newer procreg wrote it?)`,
    ]);
    const missing = await procreg(['why', '/nonexistent/events.jsonl', 'web']);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual(['procreg why: /nonexistent/events.jsonl: no such event log file']);
    // A config (or its directory) stands for its event log.
    const dir = tmp();
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run', 'events.jsonl'), readFileSync(DEMO));
    writeFileSync(
      join(dir, 'procreg.yaml'),
      'runDir: ./run\nservices:\n  web:\n    command: [node, web.js]\n',
    );
    const viaConfig = await procreg(['history', join(dir, 'procreg.yaml'), 'web', '--json']);
    expect(viaConfig.code).toBe(0);
    expect(JSON.parse(viaConfig.stdout)).toMatchObject({
      log: join(dir, 'run', 'events.jsonl'),
      service: 'web',
    });
    const viaDir = await procreg(['history', join(dir, 'run'), 'web', '--json']);
    expect(JSON.parse(viaDir.stdout)).toMatchObject({ log: join(dir, 'run', 'events.jsonl') });
    expect(existsSync(join(dir, 'timeline.html'))).toBe(false);
    const notLog = join(dir, 'notes.txt');
    writeFileSync(notLog, 'hello\n');
    const n = await procreg(['diff', notLog, '1', '2']);
    expect(n.code).toBe(1);
    expect(lines(n.stderr)).toEqual([
      `procreg diff: ${notLog}: not an event log: its first line is not a procreg event (a JSON object with "v", "seq", "time" and "type")`,
    ]);
  });
});
