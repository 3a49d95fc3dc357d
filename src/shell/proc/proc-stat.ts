import { readFileSync } from 'node:fs';

/** What procreg needs from /proc/<pid>/stat: state (field 3), parent (4), start time (22). */
export interface ProcStat {
  /** R, S, D, Z (zombie: exited, not yet reaped), T, ... */
  readonly state: string;
  readonly ppid: number;
  /** Clock ticks since boot. */
  readonly startTime: number;
}

/** /proc/<pid>/stat, or null when there is no such process or no /proc. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
  const ppid = Number(fields[1]);
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTime) || startTime < 0)
    return null;
  return { state: fields[0], ppid, startTime };
}

/**
 * A process's start time in clock ticks since boot, or null when there is no such process.
 * With the PID it names one process across PID reuse: crash recovery kills a predecessor's
 * child only if both still match.
 */
export function readProcStartTime(pid: number, procRoot = '/proc'): number | null {
  return readProcStat(pid, procRoot)?.startTime ?? null;
}
