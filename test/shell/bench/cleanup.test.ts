// npm run bench (bench/run.ts, compiled to dist-bench/) on real supervisors: a SIGINT,
// SIGTERM or SIGKILL in the middle of the restart section leaves no procreg, no PM2 daemon,
// no service and no temp file behind (its watchdog cleans up); nor does a closed stdout.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killTagged, processesTagged, startBenchRun } from '../../support/bench-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const RUNNER = 'dist-bench/bench/run.js';
const tmp = useTmpDir();
const tags: string[] = [];
afterEach(() => {
  for (const tag of tags.splice(0)) killTagged(tag);
});
const newTag = () => {
  const tag = `bench-cleanup-${process.pid}-${Date.now()}`;
  tags.push(tag);
  return tag;
};

beforeAll(() => {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench.json'], {
    stdio: 'inherit',
  });
}, 180_000);

describe('npm run bench cleans up after itself', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGKILL'] as const)(
    '%s during the restart section stops procreg, PM2 and their children',
    async (signal) => {
      const TMPDIR = tmp();
      const tag = newTag();
      const run = startBenchRun(RUNNER, ['--only', 'restart', '--quick'], { TMPDIR, tag });
      // Both supervisors up, each with its service running.
      const started = await waitFor(
        'procreg, PM2 and their services',
        () => {
          const ps = processesTagged(tag);
          const has = (s: string) => ps.some((p) => p.cmd.includes(s));
          return has('procreg.js run') &&
            has('God Daemon') &&
            ps.filter((p) => p.cmd.startsWith('sleep')).length >= 2
            ? ps
            : undefined;
        },
        25_000,
      );
      run.proc.kill(signal);
      const end = await run.exit;
      expect(end.signal).toBe(signal); // the default action: at once, even inside a synchronous loop
      expect(end.stderr).toMatch(
        /procreg bench: the run ended before finishing \(a signal or a crash\): stopped the \d+ processes it had started and removed /,
      );
      const left = processesTagged(tag);
      expect(left).toEqual([]);
      expect(started.length).toBeGreaterThanOrEqual(4);
      expect(readdirSync(TMPDIR)).toEqual([]);
    },
  );

  it('refuses an unknown section before starting anything', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [RUNNER, '--only', 'trees'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      ({ status, stderr } = e as { status: number; stderr: string });
    }
    expect(status).toBe(2);
    expect(stderr).toContain(
      'npm run bench --: unknown section "trees" in --only; valid sections: tree, fold,',
    );
  });

  it('a closed stdout stops it, leaving nothing behind', async () => {
    const TMPDIR = tmp();
    const tag = newTag();
    const run = startBenchRun(RUNNER, ['--only', 'restart', '--quick'], { TMPDIR, tag });
    run.proc.stdout?.destroy(); // the reader is gone: its first line gets EPIPE
    const end = await run.exit;
    expect(end.code).toBe(0);
    expect(end.stderr).toContain('stdout closed (EPIPE)');
    expect(processesTagged(tag)).toEqual([]);
    expect(readdirSync(TMPDIR)).toEqual([]);
  });
});
