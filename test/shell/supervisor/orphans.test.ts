import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fromEvent, scan } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcExe, readProcStartTime, readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { reapOrphan } from '../../../src/shell/supervisor/orphans.js';
import { firstMatch } from '../../support/next-event.js';
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

describe('reapOrphan: crash recovery signals only what provably is its own', () => {
  const record = (pid: number) => ({
    pid,
    startTime: readProcStartTime(pid),
    exe: readProcExe(pid),
  });

  it('signals the whole group of a process whose PID, start time, group, session and executable match', async () => {
    const o = await orphan();
    expect(reapOrphan(record(o.pid), 'SIGTERM')).toEqual({ outcome: 'signalled', detail: null });
    expect(await o.exit).toBe('SIGTERM');
    // the grandchild is not ours to wait for: the kernel says when it is gone
    await waitFor('the grandchild gone', () => (alive(o.grandchild) ? undefined : true), 5000);
  });

  it('follows the stop signal with SIGCONT: a stopped orphan acts on it at once', async () => {
    const o = await orphan();
    process.kill(-o.pid, 'SIGSTOP');
    await waitFor('stopped', () => (readProcStat(o.pid)?.state === 'T' ? true : undefined));
    expect(reapOrphan(record(o.pid), 'SIGTERM').outcome).toBe('signalled');
    expect(await o.exit).toBe('SIGTERM');
  });

  it.each([
    [
      'start time',
      (r: ReturnType<typeof record>) => ({ ...r, startTime: (r.startTime as number) + 1 }),
      /^started at tick \d+, procreg's started at tick \d+$/,
    ],
    [
      'start time unknown',
      (r: ReturnType<typeof record>) => ({ ...r, startTime: null }),
      /^the log holds no start time to prove it$/,
    ],
    [
      'executable',
      (r: ReturnType<typeof record>) => ({ ...r, exe: '/usr/sbin/sshd' }),
      /^runs \S+sleep, procreg started \/usr\/sbin\/sshd$/,
    ],
  ])('leaves alone a process whose %s does not match, saying what differs', async (_what, tamper, detail) => {
    const o = await orphan();
    const res = reapOrphan(tamper(record(o.pid)), 'SIGKILL');
    expect(res.outcome).toBe('not-ours');
    expect(res.detail).toMatch(detail);
    // Had it been signalled, it would have died of SIGKILL.
    process.kill(-o.pid, 'SIGTERM');
    expect(await o.exit).toBe('SIGTERM');
  });

  it('leaves alone a process that is not the leader of its own group and session (not started by procreg)', async () => {
    // A planted log names a process of someone else's session, e.g. a shell's child.
    const c = spawn('sleep', ['300'], { stdio: 'ignore' }); // not detached: the test runner's group
    pids.add(c.pid as number);
    const exit = new Promise<NodeJS.Signals | null>((resolve) => c.on('exit', (_c, sig) => resolve(sig)));
    const res = reapOrphan(record(c.pid as number), 'SIGKILL');
    expect(res).toEqual({
      outcome: 'not-ours',
      detail: expect.stringMatching(/^in process group \d+ and session \d+, not its own$/),
    });
    expect(alive(c.pid as number)).toBe(true);
    c.kill('SIGTERM');
    expect(await exit).toBe('SIGTERM');
  });

  it('reports a process that no longer exists as gone', async () => {
    const o = await orphan();
    const r = record(o.pid);
    process.kill(-o.pid, 'SIGKILL');
    await o.exit; // exited and reaped: the PID names nothing
    expect(reapOrphan(r, 'SIGTERM')).toEqual({ outcome: 'gone', detail: null });
  });
});
