import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialState } from '../../../src/core/state.js';
import { registryView } from '../../../src/core/view.js';
import { connectControl, locateSupervisor } from '../../../src/shell/control/client.js';
import { type ControlPort, type ControlServer, serveControl } from '../../../src/shell/control/server.js';
import { writePidFile } from '../../../src/shell/files/pidfile.js';
import {
  InstanceLock,
  type InstanceInfo,
  lockAddress,
  resolveForLock,
} from '../../../src/shell/instance-lock.js';
import { ownIdentity } from '../../../src/shell/proc/identity.js';
import { useLockHolders } from '../../support/lock-holder.js';
import { staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const holders = useLockHolders();
const servers: Server[] = [];
const controls: ControlServer[] = [];
const locks: InstanceLock[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  killAll(children.splice(0).map((c) => c.pid as number));
  for (const c of controls.splice(0)) await c.close(false);
  for (const l of locks.splice(0)) await l.close();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

const infoFor = (runDir: string, over: Partial<InstanceInfo> = {}): InstanceInfo => ({
  ...ownIdentity(),
  runDir,
  eventLog: join(runDir, 'events.jsonl'),
  config: '/srv/procreg.yaml',
  version: 'test',
  phase: 'running',
  stopWithinMs: 3000,
  ...over,
});

function portFor(info: InstanceInfo): ControlPort {
  return {
    info: () => info,
    status: () => registryView(initialState(), 42),
    reload: async () => ({ ok: true, gen: 2 }),
    stop: () => ({ pid: info.pid, withinMs: info.stopWithinMs, already: false }),
    operate: async () => [],
  };
}

async function control(path: string, info: InstanceInfo): Promise<void> {
  controls.push(await serveControl(path, portFor(info)));
}

/** A socket server answering every connection with `greeting` (or never, for null). */
async function fakeServer(path: string, greeting: string | null): Promise<void> {
  const server = createServer((conn) => {
    conn.on('error', () => {});
    conn.resume(); // read, so that the client's close is seen and the server can close
    if (greeting !== null) conn.write(greeting);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

/** The supervisor of `runDir` as this process: its lock and its control socket. */
async function selfSupervisor(runDir: string, over: Partial<InstanceInfo> = {}): Promise<InstanceInfo> {
  const info = infoFor(resolveForLock(runDir), over);
  const res = await InstanceLock.acquire('run', runDir, () => info);
  if (!res.ok) throw new Error('lock refused');
  locks.push(res.lock);
  return info;
}

describe('connectControl', () => {
  it('reads the handshake, then asks and gets answers', async () => {
    const path = join(tmp(), 'procreg.sock');
    const info = infoFor('/srv/run');
    await control(path, info);
    const c = await connectControl(path, 1000);
    if (!c.ok) throw new Error(c.why);
    expect(c.session.hello).toEqual({ procreg: 'control', ...info });
    expect(await c.session.request('status', 1000)).toEqual({
      ok: true,
      status: JSON.parse(JSON.stringify(registryView(initialState(), 42))),
    });
    expect(await c.session.request('reload', 1000)).toEqual({ ok: true, reload: { gen: 2 } });
    c.session.close();
  });

  it('says ENOENT without a socket, ECONNREFUSED with one nobody listens on', async () => {
    const dir = tmp();
    const none = join(dir, 'procreg.sock');
    expect(await connectControl(none, 1000)).toEqual({ ok: false, code: 'ENOENT', why: `${none}: ENOENT` });
    const stale = join(dir, 'stale.sock');
    await staleSocket(stale);
    expect(await connectControl(stale, 1000)).toEqual({
      ok: false,
      code: 'ECONNREFUSED',
      why: `${stale}: ECONNREFUSED`,
    });
  });

  it('part 4: says so when nothing answers within the timeout, or the answer is no procreg handshake', async () => {
    const dir = tmp();
    await fakeServer(join(dir, 'silent.sock'), null);
    expect(await connectControl(join(dir, 'silent.sock'), 100)).toEqual({
      ok: false,
      code: 'silent',
      why: `${join(dir, 'silent.sock')}: no handshake within 100 ms`,
    });
    await fakeServer(join(dir, 'garbage.sock'), 'garbage\n');
    expect(await connectControl(join(dir, 'garbage.sock'), 1000)).toMatchObject({
      ok: false,
      code: 'bad-hello',
      why: `${join(dir, 'garbage.sock')}: not a procreg handshake: garbage`,
    });
  });

  it('a session reports a request left unanswered: null at the timeout', async () => {
    const path = join(tmp(), 'procreg.sock');
    const info = infoFor('/srv/run');
    await fakeServer(path, `${JSON.stringify({ ok: true, hello: { procreg: 'control', ...info } })}\n`);
    const c = await connectControl(path, 1000);
    if (!c.ok) throw new Error(c.why);
    expect(await c.session.request('status', 50)).toBeNull();
    c.session.close();
  });
});

describe('locateSupervisor', () => {
  it('part 3: does not take a live process that is not procreg (a reused PID in procreg.pid) for the supervisor', async () => {
    const runDir = tmp();
    const other = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(other);
    writePidFile(join(runDir, 'procreg.pid'), other.pid as number);
    const found = await locateSupervisor(runDir, 1000);
    expect(found).toEqual({
      kind: 'none',
      runDir,
      why: `nothing holds its lock @procreg/run/${lockAddress('run', runDir).slice(13, 77)}`,
    });
    expect(alive(other.pid as number)).toBe(true);
  });

  it('part 3: finds the lock holder and its control socket, whose handshake names the same process', async () => {
    const runDir = tmp();
    const info = await selfSupervisor(runDir);
    await control(join(runDir, 'procreg.sock'), info);
    const found = await locateSupervisor(runDir, 1000);
    expect(found.kind).toBe('control');
    if (found.kind !== 'control') return;
    expect(found.lock).toMatchObject({ pid: process.pid, startTime: info.startTime, bootId: info.bootId });
    expect(found.session.hello.pid).toBe(process.pid);
    found.session.close();
  });

  it('part 3: a procreg whose control socket is gone (its runDir deleted) is still found by its lock', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(runDir);
    const h = holders.hold('run', runDir);
    expect(await h.said).toEqual({ held: true });
    expect(await locateSupervisor(runDir, 1000)).toMatchObject({
      kind: 'no-control',
      lock: { pid: h.pid },
      why: `its control socket ${join(runDir, 'procreg.sock')} is gone`,
    });
    const starting = holders.hold('run', join(dir, 'other'), 'starting');
    await starting.said;
    expect(await locateSupervisor(join(dir, 'other'), 1000)).toMatchObject({
      kind: 'no-control',
      lock: { pid: starting.pid, phase: 'starting' },
      why: `it is starting up (replaying its event log); ${join(dir, 'other', 'procreg.sock')} is not served yet`,
    });
  });

  it('part 3: a control socket served by another process than the lock holder is not used', async () => {
    const runDir = tmp();
    const h = holders.hold('run', runDir);
    await h.said;
    await control(join(runDir, 'procreg.sock'), infoFor(runDir)); // this process, not the holder
    expect(await locateSupervisor(runDir, 1000)).toMatchObject({
      kind: 'no-control',
      why: `${join(runDir, 'procreg.sock')} is served by pid ${process.pid}, not by the holder of the runDir lock`,
    });
  });

  it('part 2: a squatter on the lock is reported as such, never as a procreg', async () => {
    const runDir = tmp();
    const squatter = holders.squat(lockAddress('run', runDir), '{"procreg":"lock"}');
    await squatter.said;
    const found = await locateSupervisor(runDir, 1000);
    expect(found).toMatchObject({ kind: 'unproven', runDir });
    expect(found.kind === 'unproven' && found.why).toBe(
      `its lock is held by pid ${squatter.pid}, which does not prove to be procreg: its answer is not a procreg lock handshake: ${JSON.stringify('{"procreg":"lock"}')}`,
    );
  });
});
