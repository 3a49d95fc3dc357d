import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  forkedAfter,
  INVOCATION_VAR,
  leftBehind,
  newInvocationId,
} from '../../../src/shell/proc/daemon-scan.js';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { killAll, waitFor } from '../../support/wait.js';

const escapedPids = new Set<number>();
afterEach(() => {
  killAll(escapedPids);
  escapedPids.clear();
});

/**
 * A leader that starts `program` (a shell command that prints its own PID first) in a session
 * of its own (setsid -f: re-parented to init) with `env`, and exits 0 at once — what daemon(3)
 * leaves: the leader's PID and start time, and the escaped process's PID.
 */
async function escapedFrom(program: string, env: Record<string, string>) {
  const leader = spawn('sh', ['-c', `setsid -f ${program}; exit 0`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...env },
  });
  const pid = leader.pid as number;
  const started = readProcStat(pid)?.startTime ?? null;
  let out = '';
  leader.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => leader.stdout.on('close', resolve));
  const escaped = Number(out.trim());
  if (!Number.isInteger(escaped) || escaped <= 0) throw new Error(`no escaped PID: ${JSON.stringify(out)}`);
  escapedPids.add(escaped);
  return { pid, started, escaped };
}

/** escapedFrom for `sleep 30`, once the leader is gone and the sleeper exec'd and re-parented. */
async function escapedSleeper(env: Record<string, string>) {
  const {
    pid,
    started,
    escaped: sleeper,
  } = await escapedFrom(`sh -c 'echo $$; exec sleep 30 >/dev/null 2>&1 </dev/null'`, env);
  await waitFor("the leader gone and the sleeper exec'd, re-parented", () =>
    readProcStat(pid) === null && readProcStat(sleeper)?.ppid === 1 && realExe(sleeper) === SLEEP
      ? true
      : undefined,
  );
  return { pid, started, sleeper };
}

const SLEEP = realpathSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim());
const realExe = (pid: number) => {
  try {
    return realpathSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
};

describe('daemon detection looks only at PIDs handed out after the leader', () => {
  it('without a wrap: (leader, last]', () => {
    const since = forkedAfter(1000, 1200);
    expect([999, 1000, 1001, 1200, 1201, 5].map(since)).toEqual([false, false, true, true, false, false]);
  });

  it('after a wrap at pid_max: above the leader, or up to last', () => {
    const since = forkedAfter(32_000, 400);
    expect([32_001, 32_767, 300, 400, 401, 31_999, 32_000].map(since)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('an unreadable or nonsensical last PID admits every PID, as the full census did', () => {
    for (const last of [Number.NaN, 0, -1, 1.5]) expect(forkedAfter(1000, last)(5)).toBe(true);
  });

  it('finds a real group member left behind by an exited leader', async () => {
    // The leader forks a sleeper into its own process group and exits 0 at once.
    const leader = spawn('sh', ['-c', 'sleep 30 & exit 0'], { detached: true, stdio: 'ignore' });
    const pid = leader.pid as number;
    const started = readProcStat(pid)?.startTime ?? null;
    await new Promise((resolve) => leader.on('exit', resolve));
    try {
      const left = leftBehind(pid, started, null, null);
      expect(left).toMatchObject({ escaped: false });
      expect(left?.left).toHaveLength(1);
      expect(left?.left[0]).toBeGreaterThan(0);
    } finally {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it("finds a copy of its program escaped into a session of its own only when it carries the incarnation's ID", async () => {
    const id = newInvocationId();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const ours = await escapedSleeper({ [INVOCATION_VAR]: id });
    expect(leftBehind(ours.pid, ours.started, SLEEP, id)).toEqual({ left: [ours.sleeper], escaped: true });
    // The same escaped process, asked about for another incarnation (or with no ID): not its.
    expect(leftBehind(ours.pid, ours.started, SLEEP, newInvocationId())).toBeNull();
    expect(leftBehind(ours.pid, ours.started, SLEEP, null)).toBeNull();
  });

  it('an unrelated copy of the program that started meanwhile in a session of its own is not blamed on the leader', async () => {
    // Another unit's sleep, or one a killed supervisor left: same program, started since,
    // session leader, re-parented to init — everything but the ID (none, or another one).
    const leader = await escapedSleeper({});
    const other = await escapedSleeper({ [INVOCATION_VAR]: newInvocationId() });
    expect(other.sleeper).toBeGreaterThan(0);
    expect(leftBehind(leader.pid, leader.started, SLEEP, newInvocationId())).toBeNull();
  });

  it('a copy whose environment was written over by its process title is judged by program, start and session, as before', async () => {
    // Like redis, nginx or postgres setting their title: perl's $0 overwrites /proc/<pid>/environ.
    const perl = realpathSync(execFileSync('sh', ['-c', 'command -v perl'], { encoding: 'utf8' }).trim());
    const id = newInvocationId();
    const { pid, started, escaped } = await escapedFrom(
      `perl -e 'print "$$\\n"; close STDOUT; close STDERR; $0 = "x" x 4000; sleep 30'`,
      { [INVOCATION_VAR]: id },
    );
    await waitFor('its environment written over', () => {
      const env = readFileSync(`/proc/${escaped}/environ`, 'latin1');
      return !env.includes('=') && readProcStat(pid) === null ? true : undefined;
    });
    expect(leftBehind(pid, started, perl, id)).toEqual({ left: [escaped], escaped: true });
    expect(leftBehind(pid, started, perl, newInvocationId())).toEqual({ left: [escaped], escaped: true });
  });
});
