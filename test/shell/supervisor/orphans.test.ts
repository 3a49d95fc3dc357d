import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fromEvent, scan } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStartTime } from '../../../src/shell/proc/proc-stat.js';
import { reapOrphan } from '../../../src/shell/supervisor/orphans.js';
import { firstMatch } from '../../support/events.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const pids = new Set<number>();
afterEach(() => {
  killAll(pids);
  pids.clear();
});

/**
 * A `sleep` leading its own process group, as a service procreg started, with a second
 * `sleep` in the group (a grandchild). Resolves once both run.
 */
async function orphan(): Promise<{
  child: ChildProcess;
  pid: number;
  grandchild: number;
  exit: Promise<NodeJS.Signals | null>;
}> {
  const child = spawn('sh', ['-c', 'sleep 300 & echo $!; exec sleep 301'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pid = child.pid as number;
  pids.add(pid);
  const exit = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  const out$ = fromEvent(child.stdout as NodeJS.ReadableStream, 'data').pipe(
    scan((acc, d) => acc + String(d), ''),
  );
  const grandchild = Number(await firstMatch(out$, (o) => o.endsWith('\n'), "the grandchild's PID"));
  pids.add(grandchild);
  // Once exec'd, the group leader is a real `sleep` (exec keeps its PID and start time).
  await waitFor('sleep 301', () => (cmdline(pid) === 'sleep\u0000301\u0000' ? true : undefined));
  return { child, pid, grandchild, exit };
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
};

describe('reapOrphan', () => {
  it('SIGKILLs the process group of a process whose PID and start time both match', async () => {
    const o = await orphan();
    const startTime = readProcStartTime(o.pid);
    expect(reapOrphan(o.pid, startTime)).toBe('killed');
    expect(await o.exit).toBe('SIGKILL');
    // the grandchild is not ours to wait for: the kernel says when it is gone
    await waitFor('the grandchild gone', () => (alive(o.grandchild) ? undefined : true), 5000);
  });

  it('leaves alone a process whose start time does not match (the PID was reused), or is unknown', async () => {
    const o = await orphan();
    const startTime = readProcStartTime(o.pid) as number;
    expect(reapOrphan(o.pid, startTime + 1)).toBe('pid-reused');
    expect(reapOrphan(o.pid, null)).toBe('pid-reused');
    // Had it been sent SIGKILL, that is the signal it would die of.
    process.kill(-o.pid, 'SIGTERM');
    expect(await o.exit).toBe('SIGTERM');
  });

  it('reports a process that no longer exists as gone', async () => {
    const o = await orphan();
    const startTime = readProcStartTime(o.pid);
    process.kill(-o.pid, 'SIGKILL');
    await o.exit; // exited and reaped: the PID names nothing
    expect(reapOrphan(o.pid, startTime)).toBe('gone');
  });
});
