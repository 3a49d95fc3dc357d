// One live procreg per runDir and one writer per event log: the kernel-held locks of
// instance-lock.ts, taken before anything in the runDir is read or written; then
// <runDir>/procreg.pid, for systemd's PIDFile= and people (never trusted on its own).
import { join } from 'node:path';
import {
  describeHolder,
  InstanceLock,
  type InstanceInfo,
  type LockProbe,
  lockAddress,
  printableAddress,
} from '../instance-lock.js';
import { readPidFile, removePidFileIfOwned, writePidFile } from './pidfile.js';

export interface RunDirClaim {
  readonly runLock: InstanceLock;
  readonly logLock: InstanceLock;
  /** <runDir>/procreg.pid, written with this process's PID. */
  readonly pidFile: string;
  /** The PID a predecessor's procreg.pid named (it cannot be running: the lock was free). */
  readonly stalePid: number | null;
  /** Remove procreg.pid (if it still names this process), then release both locks. */
  release(): Promise<void>;
}

export type ClaimResult =
  { readonly ok: true; readonly claim: RunDirClaim } | { readonly ok: false; readonly refused: string };

/**
 * Take the runDir lock, then the event log lock (both or neither), then write procreg.pid.
 * Refused, naming the holder, when either lock is held; throws a ProcregError when
 * procreg.pid cannot be written (then no lock stays held).
 */
export async function claimRunDir(
  runDir: string,
  eventLog: string,
  info: () => InstanceInfo,
  probeTimeoutMs?: number,
): Promise<ClaimResult> {
  const run = await InstanceLock.acquire('run', runDir, info, probeTimeoutMs);
  if (!run.ok) return { ok: false, refused: refusal(run.holder, runDir) };
  const log = await InstanceLock.acquire('log', eventLog, info, probeTimeoutMs);
  if (!log.ok) {
    await run.lock.close();
    return { ok: false, refused: refusal(log.holder, eventLog) };
  }
  const pidFile = join(runDir, 'procreg.pid');
  let stalePid: number | null = null;
  try {
    const before = readPidFile(pidFile);
    if (typeof before === 'number' && before !== process.pid) stalePid = before;
    writePidFile(pidFile, process.pid);
  } catch (e) {
    await log.lock.close();
    await run.lock.close();
    throw e;
  }
  return {
    ok: true,
    claim: {
      runLock: run.lock,
      logLock: log.lock,
      pidFile,
      stalePid,
      async release() {
        try {
          removePidFileIfOwned(pidFile, process.pid);
        } catch {
          // a PID file that cannot be removed (the runDir gone, a symlink put there) is not ours to fix
        }
        await log.lock.close();
        await run.lock.close();
      },
    },
  };
}

function refusal(holder: LockProbe, path: string): string {
  const lock = ` (lock ${printableAddress(lockAddress(holder.kind, holder.path))})`;
  if (holder.kind === 'run')
    return holder.state === 'held'
      ? `procreg: runDir ${path} is in use by ${describeHolder(holder)}${lock}; stop it first`
      : `procreg: runDir ${path} is locked by ${describeHolder(holder)}${lock}; procreg will not start while it holds the lock`;
  return holder.state === 'held'
    ? `procreg: event log ${path} is written by ${describeHolder(holder)}${lock}; an event log has one writer: give this config its own eventLog (or runDir)`
    : `procreg: event log ${path} is locked by ${describeHolder(holder)}${lock}; procreg will not start while it holds the lock`;
}
