import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialState } from '../../../src/core/state.js';
import { registryView, type RegistryView } from '../../../src/core/view.js';
import {
  type ControlPort,
  type ControlServer,
  type ReloadAnswer,
  serveControl,
} from '../../../src/shell/control/server.js';
import type { OperateRequest } from '../../../src/shell/control/operate.js';
import type { InstanceInfo } from '../../../src/shell/instance-lock.js';
import { ownIdentity } from '../../../src/shell/proc/identity.js';
import { exchange, staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const servers: ControlServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close(false);
});

const INFO: InstanceInfo = {
  ...ownIdentity(),
  runDir: '/srv/run',
  eventLog: '/srv/run/events.jsonl',
  config: '/srv/procreg.yaml',
  version: 'test',
  phase: 'running',
  stopWithinMs: 7000,
};
const HELLO = JSON.parse(JSON.stringify({ ok: true, hello: { procreg: 'control', ...INFO } })) as unknown;

interface Fake {
  path: string;
  server: ControlServer;
  asked: () => number;
  stops: () => number;
  /** Once the server asks for a reload (at most 5 s), settle it with `a`. */
  settle: (a: ReloadAnswer) => Promise<void>;
  /** The start/stop/restart/signal requests the server passed on. */
  operated: OperateRequest[];
}

/** A server on a fresh socket whose status is the empty registry at seq 1, 2, 3... one per request. */
async function serve(path = join(tmp(), 'procreg.sock'), idleMs?: number): Promise<Fake> {
  let n = 0;
  let stops = 0;
  const pending: ((a: ReloadAnswer) => void)[] = [];
  let asked: (() => void) | null = null;
  const operated: OperateRequest[] = [];
  const port: ControlPort = {
    info: () => INFO,
    status: () => registryView(initialState(), ++n),
    reload: () =>
      new Promise((resolve) => {
        pending.push(resolve);
        asked?.();
      }),
    stop: () => ({ pid: INFO.pid, withinMs: INFO.stopWithinMs, already: stops++ > 0 }),
    operate: async (req) => {
      operated.push(req);
      return req.names.map((name) => ({
        name,
        target: 'service' as const,
        outcome: 'done' as const,
        message: `${name}: ${req.op}`,
        seq: 7,
      }));
    },
  };
  const server = await serveControl(path, port, { idleMs });
  servers.push(server);
  const settle = async (a: ReloadAnswer) => {
    if (pending.length === 0)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('timed out after 5000ms waiting for a reload request')),
          5000,
        );
        asked = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    asked = null;
    (pending.shift() as (a: ReloadAnswer) => void)(a);
  };
  return { path, server, asked: () => n, stops: () => stops, settle, operated };
}

const view = (seq: number): RegistryView => JSON.parse(JSON.stringify(registryView(initialState(), seq)));
const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as unknown);

/** A client connection whose lines (the handshake first) arrive in `lines`; `ended` once the server closed it. */
function client(path: string) {
  const conn = createConnection(path);
  sockets.push(conn);
  const lines: unknown[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  let ended = false;
  conn.setEncoding('utf8');
  conn.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  conn.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w();
  });
  const until = (what: string, done: () => boolean, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return {
    conn,
    lines,
    send: (text: string) => conn.write(text),
    /** Resolves once `n` lines have arrived. */
    lineCount: (n: number) => until(`${n} line(s) from ${path}`, () => lines.length >= n),
    closed: () => until(`${path} to close the connection`, () => ended),
    get ended() {
      return ended;
    },
  };
}

describe('serveControl', () => {
  it('part 3: greets each connection with a handshake naming PID, start time, boot id and runDir', async () => {
    const { path } = await serve();
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const c = client(path);
    await c.lineCount(1);
    expect(c.lines[0]).toEqual(HELLO);
    expect(c.lines[0]).toMatchObject({
      hello: {
        pid: process.pid,
        startTime: expect.any(Number),
        bootId: expect.any(String),
        runDir: '/srv/run',
      },
    });
    c.send('{"cmd":"hello"}\n');
    await c.lineCount(2);
    expect(c.lines[1]).toEqual(HELLO);
  });

  it('answers {"cmd":"status"} with the registry as status() gives it at that moment', async () => {
    const { path, asked } = await serve();
    const a = await exchange(path, '{"cmd":"status"}\n', 2);
    expect(parsed(a.lines)).toEqual([HELLO, { ok: true, status: view(1) }]);
    const b = await exchange(path, '{"cmd":"status"}\n', 2);
    expect(parsed(b.lines)).toEqual([HELLO, { ok: true, status: view(2) }]);
    expect(asked()).toBe(2);
  });

  it('answers several requests on one connection in order, a request sent in pieces included', async () => {
    const { path } = await serve();
    const r = await exchange(
      path,
      ['{"cmd":"status"}\nnot json\n{"cmd":"sta', 'tus"}\n{"cmd":"status"}\n'],
      5,
    );
    expect(parsed(r.lines)).toEqual([
      HELLO,
      { ok: true, status: view(1) },
      { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' },
      { ok: true, status: view(2) },
      { ok: true, status: view(3) },
    ]);
    expect(r.ended).toBe(false); // the connection stays open for more
  });

  it('answers an unknown or missing cmd naming what is allowed', async () => {
    const { path, asked } = await serve();
    const r = await exchange(path, '{"cmd":"pause"}\n{}\n[1]\nnull\n{"cmd":7}\n', 6);
    const allowed = 'allowed: "status", "reload", "stop", "hello", "start", "restart", "signal"';
    expect(parsed(r.lines)).toEqual([
      HELLO,
      { ok: false, error: `unknown cmd "pause"; ${allowed}` },
      { ok: false, error: `unknown cmd undefined; ${allowed}` },
      { ok: false, error: `unknown cmd undefined; ${allowed}` },
      { ok: false, error: `unknown cmd undefined; ${allowed}` },
      { ok: false, error: `unknown cmd 7; ${allowed}` },
    ]);
    expect(asked()).toBe(0);
  });

  it('passes start, restart, signal, and stop with names on to operate(); stop without names stops procreg', async () => {
    const { path, operated, stops } = await serve();
    const r = await exchange(
      path,
      [
        '{"cmd":"start","names":["web","alive"]}\n',
        '{"cmd":"restart","names":["web"]}\n',
        '{"cmd":"stop","names":["web"]}\n',
        '{"cmd":"signal","names":["web"],"signal":"SIGUSR2"}\n',
      ].join(''),
      5,
    );
    const result = (name: string, op: string) => ({
      name,
      target: 'service',
      outcome: 'done',
      message: `${name}: ${op}`,
      seq: 7,
    });
    expect(parsed(r.lines)).toEqual([
      HELLO,
      { ok: true, results: [result('web', 'start'), result('alive', 'start')] },
      { ok: true, results: [result('web', 'restart')] },
      { ok: true, results: [result('web', 'stop')] },
      { ok: true, results: [result('web', 'signal')] },
    ]);
    expect(operated).toEqual([
      { op: 'start', names: ['web', 'alive'] },
      { op: 'restart', names: ['web'] },
      { op: 'stop', names: ['web'] },
      { op: 'signal', names: ['web'], signal: 'SIGUSR2' },
    ]);
    expect(stops()).toBe(0); // a stop with names is not a stop of procreg
  });

  it('refuses malformed names or signals, naming what it takes, and passes nothing on', async () => {
    const { path, operated, stops } = await serve();
    const names = { ok: false, error: '"names" must be a list of 1 to 256 service or check names' };
    const signal = {
      ok: false,
      error: expect.stringMatching(/^"signal" takes one name in "names" and a "signal", one of SIGHUP, /),
    };
    const r = await exchange(
      path,
      [
        '{"cmd":"start"}\n',
        '{"cmd":"start","names":[]}\n',
        '{"cmd":"restart","names":"web"}\n',
        '{"cmd":"stop","names":[7]}\n',
        '{"cmd":"signal","names":["web"],"signal":"SIGNOPE"}\n',
        '{"cmd":"signal","names":["web","db"],"signal":"SIGHUP"}\n',
      ].join(''),
      7,
    );
    expect(parsed(r.lines)).toEqual([HELLO, names, names, names, names, signal, signal]);
    expect(operated).toEqual([]);
    expect(stops()).toBe(0);
  });

  it('refuses a request line over 64 KiB and closes that connection, without waiting for its end', async () => {
    const { path, asked } = await serve();
    const limit = await exchange(path, `${'x'.repeat(64 * 1024)}\n`, 2);
    expect(parsed(limit.lines)).toEqual([
      HELLO,
      { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' },
    ]);
    const over = await exchange(path, ['{"cmd":"status"}\n', 'x'.repeat(64 * 1024 + 1)], 4);
    expect(parsed(over.lines)).toEqual([
      HELLO,
      { ok: true, status: view(1) },
      { ok: false, error: 'request too long (limit 64 KiB per line)' },
    ]);
    expect(over.ended).toBe(true);
    expect(asked()).toBe(1);
    expect(parsed((await exchange(path, '{"cmd":"status"}\n', 2)).lines)[1]).toEqual({
      ok: true,
      status: view(2),
    });
  });

  it('part 3: answers a reload with its verdict once there is one, and keeps the order of the answers', async () => {
    const fake = await serve();
    const c = client(fake.path);
    c.send('{"cmd":"reload"}\n{"cmd":"status"}\n');
    await c.lineCount(1);
    expect(c.lines).toHaveLength(1); // the status waits behind the reload
    await fake.settle({ ok: true, gen: 4 });
    await c.lineCount(3);
    expect(c.lines.slice(1)).toEqual([
      { ok: true, reload: { gen: 4 } },
      { ok: true, status: view(1) },
    ]);
    for (const [verdict, answer] of [
      [
        { ok: false, refused: 'app.yaml: bad' },
        { ok: false, refused: 'app.yaml: bad', error: 'reload refused: app.yaml: bad' },
      ],
      [
        { ok: false, stopping: 'procreg is stopping' },
        { ok: false, stopping: true, error: 'procreg is stopping' },
      ],
      [
        { ok: false, error: 'no verdict within 5 ms' },
        { ok: false, error: 'no verdict within 5 ms' },
      ],
    ] as const) {
      const n = c.lines.length;
      c.send('{"cmd":"reload"}\n');
      await fake.settle(verdict);
      await c.lineCount(n + 1);
      expect(c.lines[n]).toEqual(answer);
    }
  });

  it('part 3: acknowledges a stop at once, and tells the one who asked that everything stopped before closing', async () => {
    const fake = await serve();
    const stopper = client(fake.path);
    stopper.send('{"cmd":"stop"}\n');
    await stopper.lineCount(2);
    expect(stopper.lines[1]).toEqual({
      ok: true,
      stop: { pid: process.pid, withinMs: 7000, already: false },
    });
    const other = client(fake.path);
    await other.lineCount(1);
    await fake.server.close(true);
    servers.splice(0);
    await stopper.closed();
    await other.closed();
    expect(stopper.lines.slice(2)).toEqual([{ ok: true, stopped: true }]);
    expect(other.lines).toEqual([HELLO]);
    expect(existsSync(fake.path)).toBe(false);
  });

  it('part 4: closing it closes every connection, an idle one included, so none keeps procreg alive', async () => {
    const fake = await serve();
    const idle = client(fake.path);
    await idle.lineCount(1);
    const closing = fake.server.close(false);
    servers.splice(0);
    await idle.closed();
    await closing;
    expect(idle.ended).toBe(true);
  });

  it('part 4: closes a connection idle for idleMs, but not one waiting for a verdict or for the stop', async () => {
    const fake = await serve(undefined, 150);
    const idle = client(fake.path);
    const waiting = client(fake.path);
    const stopper = client(fake.path);
    waiting.send('{"cmd":"reload"}\n');
    stopper.send('{"cmd":"stop"}\n');
    await idle.closed();
    expect(idle.lines).toEqual([HELLO, { ok: false, error: 'idle for 150 ms; closing' }]);
    // One more idle period, measured by a connection opened now: the others are still open.
    const later = client(fake.path);
    await later.closed();
    expect(waiting.ended || stopper.ended).toBe(false);
    await fake.settle({ ok: true, gen: 2 });
    await waiting.lineCount(2);
    expect(waiting.lines[1]).toEqual({ ok: true, reload: { gen: 2 } });
    await waiting.closed(); // idle again after its answer
  });

  it('drops a client that asks and never reads, once 16 MiB of answers wait for it', async () => {
    const fake = await serve();
    const c = client(fake.path);
    c.conn.pause(); // does not read
    c.conn.on('error', () => {}); // EPIPE: what it still sends once the server dropped it
    // 300k requests: 5 MiB sent, 30 MiB of answers. The server drops the connection once 16
    // MiB of answers wait, while the requests still arrive.
    c.send('{"cmd":"status"}\n'.repeat(300_000));
    await c.closed();
    expect(fake.asked()).toBeGreaterThan(100_000);
    expect(fake.asked()).toBeLessThan(300_000);
    const other = client(fake.path); // the server itself is fine
    await other.lineCount(1);
  });

  it('replaces a socket file a dead supervisor left behind', async () => {
    const path = join(tmp(), 'procreg.sock');
    await staleSocket(path);
    await expect(exchange(path, '{"cmd":"status"}\n', 1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await serve(path);
    expect(parsed((await exchange(path, '{"cmd":"status"}\n', 2)).lines)).toEqual([
      HELLO,
      { ok: true, status: view(1) },
    ]);
  });

  it('refuses to replace anything in its place that is not a socket, leaving it untouched', async () => {
    const dir = tmp();
    const file = join(dir, 'procreg.sock');
    writeFileSync(file, 'precious\n');
    await expect(serve(file)).rejects.toThrow(`${file} exists and is not a socket; refusing to replace it`);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    const sub = join(dir, 'sub.sock');
    mkdirSync(sub);
    await expect(serve(sub)).rejects.toThrow(`${sub} exists and is not a socket; refusing to replace it`);
    expect(statSync(sub).isDirectory()).toBe(true);
  });
});
