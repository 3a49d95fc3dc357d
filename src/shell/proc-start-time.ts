import { readFileSync } from 'node:fs';

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or null
 * when there is no such process or no /proc. With the PID it names one process across PID
 * reuse: crash recovery kills a predecessor's child only if both still match.
 */
export function readProcStartTime(pid: number, procRoot = '/proc'): number | null {
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
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) && start >= 0 ? start : null;
}
