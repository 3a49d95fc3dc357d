import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPidFile, writePidFile } from '../../../src/shell/files/pidfile.js';
import { claimRunDir } from '../../../src/shell/files/run-dir-claim.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const children: ChildProcess[] = [];
afterEach(() => {
  killAll(children.splice(0).map((c) => c.pid as number));
});

/** A running `sleep`, shown in /proc/<pid>/cmdline as `argv0 300`. */
function sleeper(argv0 = 'sleep'): { pid: number; exited: Promise<void> } {
  const c = spawn('sleep', ['300'], { argv0, stdio: 'ignore' });
  children.push(c);
  return { pid: c.pid as number, exited: new Promise((resolve) => c.on('exit', () => resolve())) };
}

function setup(): { runDir: string; path: string } {
  const runDir = tmp();
  return { runDir, path: join(runDir, 'procreg.pid') };
}

describe('claimRunDir', () => {
  it('claims a runDir nobody owns: writes its own PID to <runDir>/procreg.pid', () => {
    const { runDir, path } = setup();
    expect(claimRunDir(path, runDir)).toEqual({});
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    expect(claimRunDir(path, runDir)).toEqual({}); // its own claim again: nothing stale
    expect(readPidFile(path)).toBe(process.pid);
  });

  it('refuses while another live procreg owns it, and leaves its PID file alone', () => {
    const { runDir, path } = setup();
    const other = sleeper('procreg');
    writePidFile(path, other.pid);
    expect(claimRunDir(path, runDir)).toEqual({
      refused: `procreg: ${runDir} is in use by procreg pid ${other.pid} (${path}); stop it first`,
    });
    expect(readPidFile(path)).toBe(other.pid);
  });

  it('replaces the PID file of a procreg that is dead, and reports the stale PID', async () => {
    const { runDir, path } = setup();
    const dead = sleeper('procreg');
    process.kill(dead.pid, 'SIGKILL');
    await dead.exited;
    writePidFile(path, dead.pid);
    expect(claimRunDir(path, runDir)).toEqual({ stale: dead.pid });
    expect(readPidFile(path)).toBe(process.pid);
  });

  it('replaces a PID file whose PID now belongs to a process that is not procreg (a reused PID)', () => {
    const { runDir, path } = setup();
    const other = sleeper();
    writePidFile(path, other.pid);
    expect(claimRunDir(path, runDir)).toEqual({ stale: other.pid });
    expect(readPidFile(path)).toBe(process.pid);
  });

  it('replaces a PID file that does not hold one PID, with nothing stale to report', () => {
    const { runDir, path } = setup();
    writeFileSync(path, 'garbage');
    expect(claimRunDir(path, runDir)).toEqual({});
    expect(readPidFile(path)).toBe(process.pid);
  });
});
