import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg as procregCli } from '../../support/cli.js';
import { useTmpDir } from '../../support/tmp.js';
import { lines, NOBODY, procregAs as procreg } from '../config/cli-runner.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;
const NOT_EVENTS =
  'not an event log: its first line is not a procreg event (a JSON object with "v", "seq", "time" and "type")';

describe('procreg replay refuses a file that is not an event log: exit 2 and one message', () => {
  it('a config whose event log does not exist, naming the log it looked for', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(config, 'runDir: ./run\nservices:\n  web:\n    command: [node, web.js]\n');
    const r = await procreg(['replay', config]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([
      `procreg replay: ${config} is a config; its event log ${join(dir, 'run', 'events.jsonl')} does not exist (procreg has not run with this config here)`,
    ]);
  });

  it('a YAML file that is not a valid config either, saying both', async () => {
    const dir = tmp();
    const file = join(dir, 'other.yaml');
    writeFileSync(file, 'services:\n  web: 3\n');
    const r = await procreg(['replay', file]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^procreg replay: ${file} is neither an event log nor a config procreg can read: `),
      ),
    ]);
  });

  it('a binary file', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(64)]));
    const r = await procreg(['replay', path, '--check']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `procreg replay: ${path}: not an event log: it is binary (a NUL byte at offset 7)`,
    ]);
  });

  it('text whose first line is not an event, even if later lines are', async () => {
    const path = join(tmp(), 'events.jsonl');
    writeFileSync(path, `hello\n${readFileSync('examples/demo.events.jsonl', 'utf8')}`);
    const r = await procreg(['replay', path]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([`procreg replay: ${path}: ${NOT_EVENTS}`]);
  });

  it('a directory without an event log, and a FIFO (without blocking on it)', async () => {
    const dir = tmp();
    const d = await procreg(['replay', dir]);
    expect(d.code).toBe(2);
    expect(lines(d.stderr)).toEqual([
      `procreg replay: ${dir} is a directory without an event log (looked for ${join(dir, 'events.jsonl')} and its segments)`,
    ]);
    const fifo = join(dir, 'events.jsonl');
    execFileSync('mkfifo', [fifo]);
    const f = await procreg(['replay', fifo], { timeoutMs: 10_000 });
    expect(f.code).toBe(2);
    expect(lines(f.stderr)).toEqual([
      `procreg replay: ${fifo}: not an event log: it is a FIFO (named pipe), not a regular file`,
    ]);
  });

  it.runIf(asRoot)('a log it may not read, naming it (run as another user)', async () => {
    const dir = tmp();
    chmodSync(dir, 0o755);
    const path = join(dir, 'events.jsonl');
    copyFileSync('examples/demo.events.jsonl', path);
    chmodSync(path, 0o600);
    const r = await procreg(['replay', path], { uid: NOBODY });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `procreg replay: ${path}: cannot read the event log: EACCES: permission denied, open '${path}'`,
    ]);
  });
});

describe('procreg replay still reads every event log', () => {
  it('an empty one, and one whose only line was torn by a crash', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const empty = await procreg(['replay', join(dir, 'empty.jsonl'), '--check']);
    expect(empty.code).toBe(0);
    writeFileSync(join(dir, 'torn.jsonl'), '{"v":2,"seq":1,"time":17');
    const torn = await procreg(['replay', join(dir, 'torn.jsonl'), '--check']);
    expect(torn.code).toBe(0);
    expect(lines(torn.stderr)[0]).toMatch(/torn\.jsonl:1: torn: last line is incomplete/);
  });

  it('one whose first event is damaged: reported by line, as before', async () => {
    const path = join(tmp(), 'events.jsonl');
    const text = readFileSync('examples/demo.events.jsonl', 'utf8').split('\n');
    // Its first line is the head snapshot (format v2): damage a field of it.
    text[0] = (text[0] as string).replace('"cause":"start"', '"cause":"boot"');
    expect(text[0]).toContain('"cause":"boot"');
    writeFileSync(path, text.join('\n'));
    const r = await procreg(['replay', path]);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)[0]).toMatch(
      /events\.jsonl:1: invalid: snapshot field cause: expected one of start/,
    );
  });
});

const DEMO = 'examples/demo.events.jsonl';

describe('procreg replay', () => {
  it('prints the registry at the end of the bundled demo log and --check passes', async () => {
    const r = await procregCli('replay', DEMO, '--check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^registry after seq \d+ \(\d+ events\): generation 2, supervisor stopped/);
    expect(r.stdout).toMatch(/flaky\s+given-up/);
    expect(r.stderr).toMatch(/every invariant holds after every event/);
  });

  it('--json prints seq, generation, services, checks and processes', async () => {
    const r = await procregCli('replay', DEMO, '--json');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view).toMatchObject({ generation: 2, phase: 'stopped', processes: [] });
    expect(view.seq).toBeGreaterThan(100);
    expect(view.services.map((s: { name: string }) => s.name)).toEqual(['clock', 'flaky', 'web']);
    expect(view.checks).toEqual([expect.objectContaining({ name: 'web_alive', healthy: true })]);
  });

  it('--check names the first logged decision that the fold does not re-derive, by seq', async () => {
    const lines = readFileSync(DEMO, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"restart-scheduled"'));
    lines[i] = (lines[i] as string).replace(/"delayMs":\d+/, '"delayMs":1');
    const path = join(tmp(), 'tampered.jsonl');
    writeFileSync(path, lines.join('\n'));
    const seq = JSON.parse(lines[i] as string).seq;
    const r = await procregCli('replay', path, '--check');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`seq ${seq}: decision-mismatch: logged {"type":"restart-scheduled"`);
    expect(r.stderr).toMatch(/check: FAILED — 1 violation\(s\)/);
  });

  it('reports damaged lines with their line number; --check fails on them but not on a torn tail', async () => {
    const dir = tmp();
    const text = readFileSync(DEMO, 'utf8');
    writeFileSync(join(dir, 'torn.jsonl'), `${text}{"v":1,"seq":99`);
    const torn = await procregCli('replay', join(dir, 'torn.jsonl'), '--check');
    expect(torn.code).toBe(0);
    expect(torn.stderr).toMatch(/torn\.jsonl:\d+: torn: last line is incomplete/);

    const lines = text.split('\n');
    lines.splice(5, 1, '{"v":1,"seq":6,"time":0,"type":"exited","pid":"x"}');
    writeFileSync(join(dir, 'bad.jsonl'), lines.join('\n'));
    const bad = await procregCli('replay', join(dir, 'bad.jsonl'), '--check');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'bad.jsonl:6: invalid: exited field pid: expected a positive integer PID, got "x"',
    );
  });

  it('exits 2 naming a log that is not there', async () => {
    const r = await procregCli('replay', '/nonexistent/events.jsonl');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('procreg replay: /nonexistent/events.jsonl: no such event log file');
  });
});
