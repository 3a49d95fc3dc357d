import { readdirSync, readFileSync } from 'node:fs';
import { readProcStat } from '../../src/shell/proc/proc-stat.js';

/** Poll `probe` until it returns a value that is not undefined, or fail after `ms` saying what was awaited. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Running, as opposed to gone or a zombie waiting for its (re)parent to reap it. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Kill whatever a test started, group and all, even when the test failed half-way. */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Processes of these process groups still running (zombies excluded), from /proc. */
export function groupMembers(pgids: Iterable<number>): number[] {
  const groups = new Set(pgids);
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && groups.has(Number(pgrp))) members.push(Number(entry));
  }
  return members;
}
