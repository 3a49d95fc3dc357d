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
    expect(lines(r.stdout).slice(0, 2)).toEqual(['-- 2026-11-22 UTC --', '11:56:16.445 flaky #1 to start']);
    expect(r.stdout).toContain(
      '11:56:29.432 flaky #2–#4 exited code 1, restarted ×3 over 6.8s, backoff 400ms→1.6s (collapsed: seq 49–113; --all shows each)\n',
    );
    const all = await procreg(['events', DEMO, '--service', 'flaky', '--all', '--utc', '--type', 'exited']);
    expect(lines(all.stdout).slice(1)).toEqual([
      '11:56:19.301 flaky #1 exited code 1 after 2.8s',
      '11:56:21.884 flaky #2 exited code 1 after 2.4s',
      '11:56:25.310 flaky #3 exited code 1 after 3.0s',
      '11:56:27.118 flaky #4 exited code 1 after 1.0s',
      '11:56:29.432 flaky #5 exited code 1 after 711ms',
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
      seq: 88,
      time: '2026-11-22T11:56:26.545Z',
      type: 'check-health-changed',
      kind: 'decision',
      service: null,
      check: 'web_alive',
      serial: 11,
      gen: 1,
      text: 'web_alive turned unhealthy (2 failures in a row, fall 2); restarts web',
      lastWords: null,
      event: {
        v: 2,
        seq: 88,
        time: 1795348586545,
        mono: 1795348586545,
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
      'times are UTC, on 2026-11-22',
      '#  GEN  PID    STARTED       ENDED         UPTIME  EXIT    ENDED BY                   THEN                              RESTARTS',
      '1  1    10945  11:56:16.499  11:56:26.550  10.1s   code 0  check web_alive unhealthy  restarted at once                 1 of 10 in 60s',
      '2  1    11110  11:56:26.552  11:56:36.618  10.1s   code 0  check web_alive unhealthy  restarted at once                 2 of 10 in 60s',
      '3  2    11239  11:56:36.623  11:56:41.144  4.5s    code 0  procreg stop (SIGINT)      stays down (supervisor stopping)  -',
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
      pid: 11143,
      startedAt: 1795348588721,
      startSeq: 112,
      startReason: 'restart',
      endedAt: 1795348589432,
      endSeq: 114,
      uptimeMs: 711,
      running: false,
      exit: { code: 1, signal: null, error: null },
      endedBy: { kind: 'crash', text: 'crash', seq: 114 },
      then: {
        kind: 'given-up',
        text: 'given up',
        delayMs: null,
        restarts: 4,
        inWindow: 4,
        maxRestarts: 4,
        withinMs: 30000,
        seq: 115,
      },
      lastWords: null,
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
      '11:56:26.550  web restarted at once as #2 (restart 1)  [seq 92]',
      '              rule: a restart a failed check asks for waits for the exit, not for a backoff; it counts: restarts in the last 60s: 1 of maxRestarts 10',
      '11:56:26.550  ← web #1 (pid 10945) exited code 0 after 10.1s  [seq 91]',
      "11:56:26.545  ← SIGTERM sent to web #1's process group: check web_alive turned unhealthy and restarts web  [seq 89]",
      '11:56:26.545  ← web_alive turned unhealthy: 2 failures in a row reached fall 2  [seq 88]',
      '11:56:26.545  ← web_alive run 11 failed: code 1 after 89ms  [seq 87]',
      '11:56:25.583  ← web_alive run 10 failed: code 1 after 128ms  [seq 78]',
      "root cause: web_alive's script failed with code 1: 2 times in a row (fall 2)",
    ]);
    expect((await procreg(['why', DEMO, 'web', '1', '--utc'])).stdout).toBe(r.stdout);
    const j = await procreg(['why', DEMO, 'flaky', '--json']);
    const a = JSON.parse(j.stdout) as Record<string, unknown>;
    expect(Object.keys(a)).toEqual(['log', 'subject', 'question', 'logEnd', 'answer', 'chain', 'root']);
    expect(a.answer).toMatch(/^given up at \d\d:\d\d:\d\d\.\d{3}: 5 restarts within 30s > maxRestarts 4$/);
    const seq = await procreg(['why', DEMO, 'flaky', '@28', '--utc']);
    expect(lines(seq.stdout).slice(0, 3)).toEqual([
      'why seq 28?',
      '  restarted after 200ms',
      '11:56:19.301  flaky restart as #2 scheduled in 200ms (restart 1)  [seq 28]',
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
      'diff from gen:1: seq 6 (11:56:16.445, generation 1, procreg running)',
      '       to gen:2: seq 124 (11:56:30.142, generation 2, procreg running)',
      'supervisor: 1 reload(s): generation 2 at 11:56:30.142',
      'config: no change',
    ]);
    const j = JSON.parse((await procreg(['diff', DEMO, '1', '198', '--json'])).stdout) as Record<
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
      'procreg diff: examples/demo.events.jsonl: to seq 500: seq 500 is past the end of the log (its last event is seq 198)',
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
      seq: 124,
      generation: 2,
      time: 1795348590142,
      at: { point: 'gen:2', seq: 124 },
    });
    const text = await procreg(['replay', DEMO, '--at', '2026-11-22T11:56:27Z', '--utc']);
    expect(lines(text.stdout).slice(0, 3)).toEqual([
      'at 2026-11-22 11:56:27.000 UTC: the last event at or before it is seq 95 (2026-11-22 11:56:26.559 UTC)',
      'config in force: generation 1: services clock, flaky, web; checks web_alive (--json prints it whole)',
      'registry after seq 95 (95 events): generation 1, supervisor running',
    ]);
    const before = await procreg(['replay', DEMO, '--at', '2020-01-01T00:00:00Z', '--utc']);
    expect(before.code).toBe(1);
    expect(lines(before.stderr)).toEqual([
      "procreg replay: examples/demo.events.jsonl: 2020-01-01 00:00:00.000 UTC: 2020-01-01 00:00:00.000 UTC is before the log's first event (seq 1 at 2026-11-22 11:56:16.444 UTC)",
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
          `^procreg timeline: wrote ${out}: \\d+ KB; 198 events, 4 lanes, 29 marks drawn one by one$`,
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
    const path = logWith((ls) => `${ls.join('\n')}\n{"v":1,"seq":199,"ti`);
    const r = await procreg(['history', path, 'web']);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual([
      `warning: ${path}:199: the last line is incomplete (not JSON (Unterminated string in JSON at position 20)): a write cut short by a crash; skipped`,
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
    const foreign = logWith((ls) => ls.map((l) => l.replace('{"v":1,', '{"v":3,')));
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
