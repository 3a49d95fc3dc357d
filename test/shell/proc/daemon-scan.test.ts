import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { forkedAfter, leftBehind } from '../../../src/shell/proc/daemon-scan.js';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';

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
      const left = leftBehind(pid, started, null);
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
});
