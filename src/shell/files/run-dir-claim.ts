// One live procreg per runDir, through <runDir>/procreg.pid.
import { readFileSync } from 'node:fs';
import { readPidFile, writePidFile } from './pidfile.js';

/** Refuse if another live procreg owns the runDir; replace a dead one's PID file. */
export function claimRunDir(path: string, runDir: string): { refused?: string; stale?: number } {
  const current = readPidFile(path);
  if (typeof current === 'number' && current !== process.pid && isProcreg(current)) {
    return { refused: `procreg: ${runDir} is in use by procreg pid ${current} (${path}); stop it first` };
  }
  writePidFile(path, process.pid);
  return typeof current === 'number' && current !== process.pid ? { stale: current } : {};
}

function isProcreg(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('procreg');
  } catch {
    return false;
  }
}
