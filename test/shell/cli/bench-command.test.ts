import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../../src/shell/bench/results.js';
import { CHECKOUT_SECTIONS } from '../../../src/shell/bench/sections.js';
import { killTagged, processesTagged, startBenchRun } from '../../support/bench-run.js';
import { procreg } from '../../support/cli.js';
import { withClosedStdout } from '../../support/closed-stdout.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const tags: string[] = [];
afterEach(() => {
  for (const tag of tags.splice(0)) killTagged(tag);
});
const newTag = () => {
  const tag = `bench-cli-${process.pid}-${Date.now()}`;
  tags.push(tag);
  return tag;
};
const EXAMPLE = 'examples/bench-adapter-sorted-array.js';

describe('procreg bench', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await procreg('bench', '--help');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: procreg bench \[section\.\.\.\]/);
    expect(r.stdout).toContain('--impl <file>');
    expect((await procreg('help', 'bench')).stdout).toBe(r.stdout);
  });

  it.each([
    [
      ['--bogus'],
      'unknown option "--bogus"; valid options: --json, --quick, --help, -h, --only, --impl, --compare',
    ],
    [
      ['--only', 'trees'],
      `unknown section "trees" in --only; valid sections: ${CHECKOUT_SECTIONS.join(', ')}`,
    ],
    [['--only=tree,trees'], 'unknown section "trees" in --only'],
    [['trees'], 'unknown section "trees"; valid sections: tree,'],
    [['tree', '--impl'], '--impl needs the path of an adapter module'],
  ])('refuses %j with exit 2, running nothing', async (args, message) => {
    const r = await procreg('bench', ...args);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toContain(`procreg bench: ${message}`);
  });

  it('refuses a bad adapter with exit 2, naming the file and what an adapter is', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'half.js'),
      "export default { name: 'half', persistent: false, create: () => [] };",
    );
    const r = await procreg('bench', 'tree', '--quick', '--impl', join(dir, 'half.js'));
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toContain(
      `--impl ${join(dir, 'half.js')}: missing or not of the right type: insert(map, key, value)`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('runs the tree workloads with the example adapter beside the peers (--quick --json)', async () => {
    const r = await procreg('bench', 'tree', '--quick', '--json', '--impl', EXAMPLE);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report.machine).toMatchObject({
      node: process.version,
      cores: expect.any(Number),
      cpu: expect.any(String),
    });
    expect(new Date(report.date).toISOString()).toBe(report.date);
    expect(report.command).toBe(`procreg bench tree --quick --json --impl ${EXAMPLE}`);
    for (const workload of ['pid-wrap', 'burst', 'crash-loop', 'uniform']) {
      const rows = report.results.filter((x) => x.case === `${workload}, 10k live`);
      const of = (impl: string, unit: string) => rows.find((x) => x.impl === impl && x.unit === unit);
      expect(of('functional-red-black-tree', 'ops/s')?.ratio).toBe('1.00x raw');
      for (const impl of ['procreg PidTree', 'sorted array (mutable)', 'native Map (mutable, unordered)']) {
        expect(of(impl, 'ops/s')?.value).toBeGreaterThan(0);
        expect(of(impl, 'ops/s')?.ratio).toMatch(/^\d+\.\d\dx raw$/);
        expect(of(impl, 'ns p99/op')?.value).toBeGreaterThan(0);
        expect(of(impl, 'bytes/entry')?.value).toBeGreaterThan(0);
      }
    }
    // --compare: the same run against itself with the PidTree twice as fast
    const dir = tmp();
    const faster = {
      ...report,
      results: report.results.map((x) => (x.impl === 'procreg PidTree' ? { ...x, value: x.value * 2 } : x)),
    };
    writeFileSync(join(dir, 'old.json'), r.stdout);
    writeFileSync(join(dir, 'new.json'), JSON.stringify(faster));
    const c = await procreg('bench', '--compare', join(dir, 'old.json'), join(dir, 'new.json'));
    expect(c).toMatchObject({ code: 0, stderr: '' });
    expect(c.stdout).toMatch(/tree: uniform, 10k live +procreg PidTree .* 2\.00x +better/);
    expect(c.stdout).toMatch(/tree: uniform, 10k live +functional-red-black-tree .* 1\.00x +same/);
  });

  it('--compare refuses a file that is not a result, exit 2', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.json'), '{"rows": []}');
    const r = await procreg('bench', '--compare', join(dir, 'x.json'), join(dir, 'x.json'));
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toContain(`${join(dir, 'x.json')}: not a benchmark result`);
  });

  it('SIGINT stops the run, its measuring child included, and removes its temp files', async () => {
    const TMPDIR = tmp();
    const tag = newTag();
    const run = startBenchRun('bin/procreg.js', ['bench', 'tree'], { TMPDIR, tag });
    const child = await waitFor('the bytes-per-entry child', () =>
      processesTagged(tag).find((p) => p.cmd.includes('memory-child')),
    );
    run.proc.kill('SIGINT');
    const end = await run.exit; // once the watchdog, which holds its stderr too, is done
    expect(end.signal).toBe('SIGINT');
    expect(end.stderr).toMatch(
      /procreg bench: the run ended before finishing \(a signal or a crash\): stopped the \d+ processes it had started and removed /,
    );
    expect(processesTagged(tag).map((p) => p.pid)).not.toContain(child.pid);
    expect(processesTagged(tag)).toEqual([]);
    expect(readdirSync(TMPDIR)).toEqual([]);
  });

  it('a closed stdout (| head -1) ends the run at once, leaving nothing behind', async () => {
    const [TMPDIR, fifoDir] = [tmp(), tmp()];
    const before = process.env.TMPDIR;
    process.env.TMPDIR = TMPDIR; // the run's temp root goes here
    try {
      const end = await withClosedStdout(fifoDir, 'bench', 'tree');
      expect(end.code).toBe(0);
      expect(end.stderr).toContain(
        'procreg bench: stdout closed (EPIPE): stopping every process the run started',
      );
    } finally {
      process.env.TMPDIR = before;
    }
    expect(readdirSync(TMPDIR)).toEqual([]);
  });
});
