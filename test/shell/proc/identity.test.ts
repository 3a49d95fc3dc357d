import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ownIdentity, presence, signalIdentified, waitGone } from '../../../src/shell/proc/identity.js';
import { readBootId, readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { killAll, waitFor } from '../../support/wait.js';

const children: ChildProcess[] = [];
afterEach(() => {
  killAll(children.splice(0).map((c) => c.pid as number));
});

function child(cmd: string, args: string[]): { pid: number; exited: Promise<NodeJS.Signals | null> } {
  const c = spawn(cmd, args, { stdio: 'ignore' });
  children.push(c);
  return {
    pid: c.pid as number,
    exited: new Promise((resolve) => c.on('exit', (_code, sig) => resolve(sig))),
  };
}

const idOf = (pid: number) => ({
  pid,
  startTime: readProcStat(pid)?.startTime as number,
  bootId: readBootId(),
});

describe('presence', () => {
  it('names this process by PID, start time and boot', () => {
    const me = ownIdentity();
    expect(me).toEqual({ pid: process.pid, startTime: expect.any(Number), bootId: readBootId() });
    expect(presence(me)).toEqual({ running: true, state: 'R' });
  });

  it('part 3: a reused PID (another start time), another boot, a gone PID: none is the process named', async () => {
    const c = child('sleep', ['300']);
    const id = idOf(c.pid);
    expect(presence(id).running).toBe(true);
    expect(presence({ ...id, startTime: id.startTime - 1 })).toEqual({
      running: false,
      why: `pid ${c.pid} now belongs to a process started at tick ${id.startTime}, not ${id.startTime - 1}`,
    });
    expect(presence({ ...id, bootId: 'another-boot' })).toMatchObject({ running: false });
    process.kill(c.pid, 'SIGKILL');
    await c.exited;
    expect(presence(id)).toEqual({ running: false, why: `pid ${c.pid} is gone` });
  });

  it('part 4: a zombie (exited, not reaped) counts as gone', async () => {
    // sh's child exits at once; sh sleeps in exec'd sleep and never reaps it.
    const sh = child('sh', ['-c', 'sh -c "exit 0" & exec sleep 300']);
    const zombie = await waitFor('the zombie', () => {
      for (const line of readFileSync(`/proc/${sh.pid}/task/${sh.pid}/children`, 'utf8').split(' ')) {
        const pid = Number(line);
        if (pid && readProcStat(pid)?.state === 'Z') return pid;
      }
      return undefined;
    });
    expect(presence(idOf(zombie))).toEqual({ running: false, why: `pid ${zombie} is a zombie` });
    expect(await waitGone(idOf(zombie), 0)).toBe(true);
  });
});

describe('signalIdentified', () => {
  it('part 3: signals the process named, and not whatever holds its PID now', async () => {
    const c = child('sleep', ['300']);
    const id = idOf(c.pid);
    expect(signalIdentified({ ...id, startTime: id.startTime + 1 }, 'SIGTERM')).toMatchObject({
      sent: false,
    });
    expect(presence(id).running).toBe(true);
    expect(signalIdentified(id, 'SIGTERM')).toEqual({ sent: true });
    expect(await c.exited).toBe('SIGTERM');
    expect(await waitGone(id, 5000)).toBe(true);
  });

  it('waitGone is false while the process still runs at the deadline', async () => {
    const c = child('sleep', ['300']);
    expect(await waitGone(idOf(c.pid), 50)).toBe(false);
  });
});
