import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InstanceLock,
  type InstanceInfo,
  lockAddress,
  printableAddress,
  probeLock,
  resolveForLock,
} from '../../src/shell/instance-lock.js';
import { ownIdentity } from '../../src/shell/proc/identity.js';
import { listeningInode } from '../../src/shell/proc/unix-sockets.js';
import { useLockHolders } from '../support/lock-holder.js';
import { useTmpDir } from '../support/tmp.js';

const tmp = useTmpDir();
const holders = useLockHolders();
const locks: InstanceLock[] = [];
afterEach(async () => {
  for (const l of locks.splice(0)) await l.close();
});

const info = (runDir: string, phase: InstanceInfo['phase'] = 'running'): (() => InstanceInfo) => {
  const me = ownIdentity();
  return () => ({
    ...me,
    runDir,
    eventLog: join(runDir, 'events.jsonl'),
    config: '/etc/test.yaml',
    version: 'test',
    phase,
    stopWithinMs: 5000,
  });
};

async function take(kind: 'run' | 'log', path: string): Promise<InstanceLock> {
  const res = await InstanceLock.acquire(kind, path, info(path));
  if (!res.ok) throw new Error(`lock on ${path} refused: ${JSON.stringify(res.holder)}`);
  locks.push(res.lock);
  return res.lock;
}

describe('lockAddress and resolveForLock', () => {
  it('names an abstract address that fills sun_path, one per kind and resolved path', () => {
    const a = lockAddress('run', '/srv/app/run');
    expect(a.startsWith('\0procreg/run/')).toBe(true);
    expect(Buffer.byteLength(a)).toBe(108);
    expect(printableAddress(a)).toMatch(/^@procreg\/run\/[0-9a-f]{64}$/);
    expect(lockAddress('run', '/srv/app/run')).toBe(a);
    expect(lockAddress('log', '/srv/app/run')).not.toBe(a);
    expect(lockAddress('run', '/srv/app/run2')).not.toBe(a);
  });

  it('gives every spelling of one directory the same path, also once the directory is gone', () => {
    const dir = tmp();
    const real = join(dir, 'real', 'run');
    mkdirSync(real, { recursive: true });
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    const resolved = resolveForLock(real);
    expect(resolveForLock(join(dir, 'link', 'run'))).toBe(resolved);
    expect(resolveForLock(`${real}/./`)).toBe(resolved);
    rmSync(real, { recursive: true });
    expect(resolveForLock(join(dir, 'link', 'run'))).toBe(resolved); // the parent still resolves
  });
});

describe('InstanceLock', () => {
  it('part 2: exactly one of two takers of a lock gets it; the other is told who holds it, proven by /proc', async () => {
    const runDir = tmp();
    const lock = await take('run', runDir);
    const inode = listeningInode(lock.address.slice(1));
    expect(inode).toEqual(expect.any(Number));
    const again = await InstanceLock.acquire('run', runDir, info(runDir));
    expect(again.ok).toBe(false);
    expect(again.ok ? null : again.holder).toMatchObject({
      state: 'held',
      kind: 'run',
      path: resolveForLock(runDir),
      hello: { procreg: 'lock', pid: process.pid, startTime: ownIdentity().startTime, version: 'test' },
    });
    await lock.close();
    expect(listeningInode(lock.address.slice(1))).toBeNull();
    expect((await probeLock('run', runDir)).state).toBe('free');
  });

  it('part 2: is held by another process until the kernel releases it, at its death by SIGKILL', async () => {
    const runDir = tmp();
    const h = holders.hold('run', runDir);
    expect(await h.said).toEqual({ held: true });
    const refused = await InstanceLock.acquire('run', runDir, info(runDir));
    expect(refused.ok ? null : refused.holder).toMatchObject({
      state: 'held',
      hello: { pid: h.pid, config: '/test/holder.yaml' },
    });
    h.proc.kill('SIGKILL');
    await h.exited;
    await take('run', runDir); // nothing to clean up: nothing was left on disk
  });

  it('part 2: survives rm -rf of the directory it locks: a new taker of the same path is refused', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(runDir);
    const h = holders.hold('run', runDir);
    expect(await h.said).toEqual({ held: true });
    rmSync(runDir, { recursive: true });
    expect(await probeLock('run', runDir)).toMatchObject({ state: 'held', hello: { pid: h.pid } });
    mkdirSync(runDir);
    expect((await InstanceLock.acquire('run', runDir, info(runDir))).ok).toBe(false);
  });

  it('part 2: a squatter answering with a procreg handshake that names another process is not believed', async () => {
    const runDir = tmp();
    const resolved = resolveForLock(runDir);
    const address = lockAddress('run', resolved);
    const me = ownIdentity();
    // It claims to be this very process (a live procreg-looking PID), which does not hold its socket.
    const lie = JSON.stringify({
      procreg: 'lock',
      kind: 'run',
      path: resolved,
      ...me,
      runDir: resolved,
      eventLog: '',
      config: '/etc/app.yaml',
      version: '0.1.0',
      phase: 'running',
      stopWithinMs: 0,
    });
    const squatter = holders.squat(address, lie);
    await squatter.said;
    const probe = await probeLock('run', runDir);
    expect(probe).toMatchObject({
      state: 'unproven',
      holders: [squatter.pid],
      why: `it claims to be pid ${process.pid}, which does not hold socket ${listeningInode(address.slice(1))}`,
    });
    // What it can still do: keep procreg from starting on that runDir.
    const res = await InstanceLock.acquire('run', runDir, info(runDir));
    expect(res.ok ? null : res.holder).toMatchObject({ state: 'unproven', holders: [squatter.pid] });
  });

  it('part 2: a holder that does not answer is named from /proc, with its state', async () => {
    const runDir = tmp();
    const h = holders.hold('run', runDir);
    await h.said;
    process.kill(h.pid, 'SIGSTOP');
    try {
      const probe = await probeLock('run', runDir, 200);
      expect(probe).toMatchObject({
        state: 'unproven',
        holders: [h.pid],
        why: expect.stringContaining(`did not answer on @procreg/run/`),
      });
      expect(probe.state === 'unproven' && probe.why).toContain(`pid ${h.pid} is in state T`);
    } finally {
      process.kill(h.pid, 'SIGCONT');
    }
  });

  it('part 2: is per network namespace (the README says so): a holder in another one is not seen', async () => {
    const runDir = tmp();
    const h = holders.hold('run', runDir, 'running', ['unshare', '--net']);
    expect(await h.said).toEqual({ held: true });
    // unshare execs node: the holder is that process, in a network namespace of its own.
    expect(readlinkSync(`/proc/${h.pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect((await probeLock('run', runDir)).state).toBe('free');
    await take('run', runDir);
  });

  it('part 2: the lock on an event log is its own: two runDirs, one log, one writer', async () => {
    const dir = tmp();
    const log = join(dir, 'events.jsonl');
    const h = holders.hold('log', log);
    expect(await h.said).toEqual({ held: true });
    const res = await InstanceLock.acquire('log', log, info(join(dir, 'b')));
    expect(res.ok ? null : res.holder).toMatchObject({
      state: 'held',
      kind: 'log',
      path: log,
      hello: { pid: h.pid },
    });
    await take('run', log); // a run lock on the same path is another lock
  });
});
