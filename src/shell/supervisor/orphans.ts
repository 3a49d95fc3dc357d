// Crash recovery: stop what a crashed predecessor left running, but only what provably is its own.
import type { OrphanReaped } from '../../events/types.js';
import { readProcExe, readProcStat } from '../proc/proc-stat.js';

export interface OrphanRecord {
  readonly pid: number;
  /** As recorded when it was started; null in logs too old to say. */
  readonly startTime: number | null;
  readonly exe: string | null;
}

/**
 * Send `signal` (then SIGCONT) to an orphan's process group, but only if it is provably the
 * process procreg started: same PID and start time, still the leader of its own process group
 * and session (procreg starts every child with setsid), same executable. A log planted or
 * edited by someone else can name any PID; this is what keeps it from making procreg signal
 * an unrelated process.
 */
export function reapOrphan(
  o: OrphanRecord,
  signal: string,
): { outcome: OrphanReaped['outcome']; detail: string | null } {
  const stat = readProcStat(o.pid);
  if (stat === null) return { outcome: 'gone', detail: null };
  const notOurs = (detail: string) => ({ outcome: 'not-ours' as const, detail });
  if (o.startTime === null) return notOurs('the log holds no start time to prove it');
  if (stat.startTime !== o.startTime)
    return notOurs(`started at tick ${stat.startTime}, procreg's started at tick ${o.startTime}`);
  if (stat.pgrp !== o.pid || stat.session !== o.pid)
    return notOurs(`in process group ${stat.pgrp} and session ${stat.session}, not its own`);
  if (o.exe !== null) {
    const exe = readProcExe(o.pid);
    if (exe !== o.exe) return notOurs(`runs ${exe ?? 'an unreadable executable'}, procreg started ${o.exe}`);
  }
  for (const s of signal === 'SIGKILL' || signal === 'SIGCONT' ? [signal] : [signal, 'SIGCONT']) {
    try {
      process.kill(-o.pid, s as NodeJS.Signals);
    } catch {
      // the group is already gone; group-exited will say so
    }
  }
  return { outcome: 'signalled', detail: null };
}
