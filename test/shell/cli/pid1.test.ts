import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const started: ChildProcess[] = [];
afterEach(() => {
  // unshare's child is procreg, PID 1 of the namespace: killing it kills the whole namespace.
  for (const u of started.splice(0)) {
    killAll(childrenOf(u.pid as number));
    u.kill('SIGKILL');
  }
});

const BIN = join(process.cwd(), 'bin', 'procreg.js');

/** Whether this machine lets us make a PID namespace (root, or unprivileged user namespaces). */
const unshareWorks =
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => readProcStat(pid)?.ppid === ppid);
}

/** The command name of a process, or null once it is gone (these live for 10 ms). */
function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

const zombiesOf = (ppid: number) => childrenOf(ppid).filter((pid) => readProcStat(pid)?.state === 'Z');

describe.skipIf(!unshareWorks)('procreg as PID 1 (unshare --pid --fork --mount-proc)', () => {
  it('reaps the zombies of re-parented grandchildren, and stops everything on SIGTERM', async () => {
    const dir = tmp();
    // Every 20 ms a short-lived `sleep` is orphaned: its parent shell exits at once, so it is
    // re-parented to PID 1 — procreg — and becomes its zombie when it ends 10 ms later.
    writeFileSync(
      join(dir, 'procreg.yaml'),
      `runDir: ./run\nservices:\n  orphans:\n    command: [sh, -c, 'while :; do sh -c "sleep 0.01 &"; sleep 0.02; done']\n    stopTimeout: 2s\n`,
    );
    const u = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        process.execPath,
        BIN,
        'run',
        'procreg.yaml',
        '--log-format',
        'json',
      ],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    started.push(u);
    let out = '';
    u.stdout?.on('data', (d) => (out += String(d)));
    u.stderr?.on('data', (d) => (out += String(d)));
    const exit = new Promise<number | null>((resolve) => u.on('exit', (code) => resolve(code)));
    const procreg = await waitFor('procreg inside the namespace', () => childrenOf(u.pid as number)[0]);
    await waitFor('procreg running', () => (out.includes('procreg running') ? true : undefined));
    expect(out).toContain('procreg runs as PID 1: it reaps orphaned processes of its PID namespace');
    // Orphans do reach procreg: a `sleep` whose parent is procreg itself.
    await waitFor('a re-parented sleep', () => childrenOf(procreg).find((pid) => commOf(pid) === 'sleep'));
    // Over 3 s about 150 orphans end; none piles up as a zombie (the sweep runs at every SIGCHLD).
    let most = 0;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      most = Math.max(most, zombiesOf(procreg).length);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(most).toBeLessThan(10);
    // SIGTERM (docker stop) to PID 1: a clean stop, exit 0, the namespace empty.
    process.kill(procreg, 'SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toContain('procreg stopped: every service and check is gone');
  }, 20_000);
});
