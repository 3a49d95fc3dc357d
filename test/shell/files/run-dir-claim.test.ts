import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimRunDir, type RunDirClaim } from '../../../src/shell/files/run-dir-claim.js';
import { readPidFile, writePidFile } from '../../../src/shell/files/pidfile.js';
import { type InstanceInfo, probeLock } from '../../../src/shell/instance-lock.js';
import { ownIdentity } from '../../../src/shell/proc/identity.js';
import { useLockHolders } from '../../support/lock-holder.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const holders = useLockHolders();
const children: ChildProcess[] = [];
const claims: RunDirClaim[] = [];
afterEach(async () => {
  for (const c of claims.splice(0)) await c.release();
  killAll(children.splice(0).map((c) => c.pid as number));
});

/** A running `sleep`, shown in /proc/<pid>/cmdline as `argv0 300`. */
function sleeper(argv0 = 'sleep'): number {
  const c = spawn('sleep', ['300'], { argv0, stdio: 'ignore' });
  children.push(c);
  return c.pid as number;
}

const info = (runDir: string) => (): InstanceInfo => ({
  ...ownIdentity(),
  runDir,
  eventLog: join(runDir, 'events.jsonl'),
  config: '/etc/test.yaml',
  version: 'test',
  phase: 'starting',
  stopWithinMs: 1000,
});

async function claim(runDir: string, eventLog = join(runDir, 'events.jsonl')) {
  const res = await claimRunDir(runDir, eventLog, info(runDir));
  if (res.ok) claims.push(res.claim);
  return res;
}

describe('claimRunDir', () => {
  it('takes the runDir and event log locks, then writes its own PID to <runDir>/procreg.pid', async () => {
    const runDir = tmp();
    const res = await claim(runDir);
    expect(res).toMatchObject({ ok: true, claim: { pidFile: join(runDir, 'procreg.pid'), stalePid: null } });
    expect(readFileSync(join(runDir, 'procreg.pid'), 'utf8')).toBe(`${process.pid}\n`);
    expect((await probeLock('run', runDir)).state).toBe('held');
    expect((await probeLock('log', join(runDir, 'events.jsonl'))).state).toBe('held');
    await claims.splice(0)[0]?.release();
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe('absent');
    expect((await probeLock('run', runDir)).state).toBe('free');
    expect((await probeLock('log', join(runDir, 'events.jsonl'))).state).toBe('free');
  });

  it('part 2: refuses while another procreg holds the runDir, naming it, and leaves its procreg.pid alone', async () => {
    const runDir = tmp();
    const h = holders.hold('run', runDir);
    await h.said;
    writePidFile(join(runDir, 'procreg.pid'), h.pid);
    const res = await claimRunDir(runDir, join(runDir, 'events.jsonl'), info(runDir));
    expect(res.ok).toBe(false);
    expect(res.ok ? '' : res.refused).toMatch(
      new RegExp(
        `^procreg: runDir ${runDir} is in use by procreg pid ${h.pid} \\(version holder, config /test/holder.yaml, runDir ${runDir}, running\\) \\(lock @procreg/run/[0-9a-f]{64}\\); stop it first$`,
      ),
    );
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(h.pid);
    expect((await probeLock('log', join(runDir, 'events.jsonl'))).state).toBe('free'); // neither lock kept
  });

  it('part 2: refuses a second writer of one event log, from another runDir, and keeps neither lock', async () => {
    const dir = tmp();
    const log = join(dir, 'shared.jsonl');
    mkdirSync(join(dir, 'a'));
    const first = await claim(join(dir, 'a'), log);
    expect(first.ok).toBe(true);
    mkdirSync(join(dir, 'b'));
    symlinkSync(dir, join(dir, 'link')); // the same log by another path is the same lock
    const second = await claimRunDir(join(dir, 'b'), join(dir, 'link', 'shared.jsonl'), info(join(dir, 'b')));
    expect(second.ok ? '' : second.refused).toMatch(
      new RegExp(
        `^procreg: event log ${join(dir, 'link', 'shared.jsonl')} is written by procreg pid ${process.pid} \\(version test, config /etc/test.yaml, runDir ${join(dir, 'a')}, starting\\) \\(lock @procreg/log/[0-9a-f]{64}\\); an event log has one writer: give this config its own eventLog \\(or runDir\\)$`,
      ),
    );
    expect((await probeLock('run', join(dir, 'b'))).state).toBe('free');
    expect(readPidFile(join(dir, 'b', 'procreg.pid'))).toBe('absent');
  });

  it('part 3: starts over a procreg.pid naming a live process whose command line says procreg (a reused PID)', async () => {
    const runDir = tmp();
    const other = sleeper('procreg');
    expect(readFileSync(`/proc/${other}/cmdline`, 'latin1')).toContain('procreg');
    writePidFile(join(runDir, 'procreg.pid'), other);
    expect(await claim(runDir)).toMatchObject({ ok: true, claim: { stalePid: other } });
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(process.pid);
    expect(alive(other)).toBe(true); // and it is left alone
  });

  it('replaces a procreg.pid that does not hold one PID, with nothing stale to report', async () => {
    const runDir = tmp();
    writeFileSync(join(runDir, 'procreg.pid'), 'garbage');
    expect(await claim(runDir)).toMatchObject({ ok: true, claim: { stalePid: null } });
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(process.pid);
  });

  it('releases both locks when procreg.pid cannot be written', async () => {
    const runDir = tmp();
    symlinkSync('/etc/passwd', join(runDir, 'procreg.pid'));
    await expect(claimRunDir(runDir, join(runDir, 'events.jsonl'), info(runDir))).rejects.toThrow(
      `PID file ${join(runDir, 'procreg.pid')} is a symbolic link`,
    );
    expect((await probeLock('run', runDir)).state).toBe('free');
    expect((await probeLock('log', join(runDir, 'events.jsonl'))).state).toBe('free');
  });
});
