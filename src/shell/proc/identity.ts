// Who a process is, across PID reuse and reboots: its PID, its start time and the boot it runs in.
import { readBootId, readProcStat } from './proc-stat.js';

/** A process named so that a reused PID or a later boot never passes for it. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly startTime: number;
  /** /proc/sys/kernel/random/boot_id of the boot it runs in; null where the kernel has none. */
  readonly bootId: string | null;
}

/** This process. */
export function ownIdentity(): ProcessIdentity {
  const stat = readProcStat(process.pid);
  if (stat === null) throw new Error(`cannot read /proc/${process.pid}/stat: procreg needs Linux /proc`);
  return { pid: process.pid, startTime: stat.startTime, bootId: readBootId() };
}

export type Presence =
  { readonly running: true; readonly state: string } | { readonly running: false; readonly why: string };

/**
 * Whether the process `id` names still runs. A zombie (exited, not yet reaped by its parent)
 * has stopped everything it will ever do and counts as gone; so does a process now holding
 * the PID with another start time, or anything named in another boot.
 */
export function presence(id: ProcessIdentity): Presence {
  const bootId = readBootId();
  if (id.bootId !== bootId)
    return {
      running: false,
      why: `it ran in boot ${id.bootId ?? 'unknown'}; this is boot ${bootId ?? 'unknown'}`,
    };
  const stat = readProcStat(id.pid);
  if (stat === null) return { running: false, why: `pid ${id.pid} is gone` };
  if (stat.startTime !== id.startTime)
    return {
      running: false,
      why: `pid ${id.pid} now belongs to a process started at tick ${stat.startTime}, not ${id.startTime}`,
    };
  if (stat.state === 'Z' || stat.state === 'X') return { running: false, why: `pid ${id.pid} is a zombie` };
  return { running: true, state: stat.state };
}

/**
 * Send `signal` to `id` only if it is still that very process (same PID, start time and boot).
 * There is no pidfd in Node: the check and the kill are two system calls, and the PID could
 * in theory be reused between them; the window is microseconds, against minutes for a PID file.
 */
export function signalIdentified(
  id: ProcessIdentity,
  signal: NodeJS.Signals,
): { sent: true } | { sent: false; why: string } {
  const p = presence(id);
  if (!p.running) return { sent: false, why: p.why };
  try {
    process.kill(id.pid, signal);
    return { sent: true };
  } catch (e) {
    return {
      sent: false,
      why: `kill(${id.pid}, ${signal}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    };
  }
}

/** Resolves true once `id` is gone (zombies count as gone), false if it still runs after `ms`. */
export async function waitGone(id: ProcessIdentity, ms: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (presence(id).running) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}
