// Crash recovery: kill what a crashed predecessor left running, but only what provably is its own.
import type { OrphanReaped } from '../../events/types.js';
import { readProcStartTime } from '../proc/proc-stat.js';

/** SIGKILL the orphan's process group, but only if PID and start time prove it is still that process. */
export function reapOrphan(pid: number, startTime: number | null): OrphanReaped['outcome'] {
  const now = readProcStartTime(pid);
  if (now === null) return 'gone';
  if (startTime === null || now !== startTime) return 'pid-reused';
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // the group or the process is already gone
    }
  }
  return 'killed';
}
