import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg } from '../../support/cli.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const DEMO = 'examples/demo.events.jsonl';

describe('procreg replay', () => {
  it('prints the registry at the end of the bundled demo log and --check passes', async () => {
    const r = await procreg('replay', DEMO, '--check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^registry after seq \d+ \(\d+ events\): generation 2, supervisor stopped/);
    expect(r.stdout).toMatch(/flaky\s+given-up/);
    expect(r.stderr).toMatch(/every invariant holds after every event/);
  });

  it('--json prints seq, generation, services, checks and processes', async () => {
    const r = await procreg('replay', DEMO, '--json');
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
    const r = await procreg('replay', path, '--check');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`seq ${seq}: decision-mismatch: logged {"type":"restart-scheduled"`);
    expect(r.stderr).toMatch(/check: FAILED — 1 violation\(s\)/);
  });

  it('reports damaged lines with their line number; --check fails on them but not on a torn tail', async () => {
    const dir = tmp();
    const text = readFileSync(DEMO, 'utf8');
    writeFileSync(join(dir, 'torn.jsonl'), `${text}{"v":1,"seq":99`);
    const torn = await procreg('replay', join(dir, 'torn.jsonl'), '--check');
    expect(torn.code).toBe(0);
    expect(torn.stderr).toMatch(/torn\.jsonl:\d+: torn: last line is incomplete/);

    const lines = text.split('\n');
    lines.splice(5, 1, '{"v":1,"seq":6,"time":0,"type":"exited","pid":"x"}');
    writeFileSync(join(dir, 'bad.jsonl'), lines.join('\n'));
    const bad = await procreg('replay', join(dir, 'bad.jsonl'), '--check');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'bad.jsonl:6: invalid: exited field pid: expected a positive integer PID, got "x"',
    );
  });

  it('exits 2 naming a log that is not there', async () => {
    const r = await procreg('replay', '/nonexistent/events.jsonl');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('procreg replay: /nonexistent/events.jsonl: no such event log file');
  });
});
