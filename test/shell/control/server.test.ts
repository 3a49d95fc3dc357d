import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialState } from '../../../src/core/state.js';
import { registryView, type RegistryView } from '../../../src/core/view.js';
import { serveControl } from '../../../src/shell/control/server.js';
import { exchange, staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** A server on a fresh socket whose status is the empty registry at seq 1, 2, 3... one per request. */
async function serve(path = join(tmp(), 'procreg.sock')): Promise<{ path: string; asked: () => number }> {
  let n = 0;
  servers.push(await serveControl(path, () => registryView(initialState(), ++n)));
  return { path, asked: () => n };
}

const view = (seq: number): RegistryView => JSON.parse(JSON.stringify(registryView(initialState(), seq)));
const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as unknown);

describe('serveControl', () => {
  it('answers {"cmd":"status"} with the registry as status() gives it at that moment, on a socket only its owner may use', async () => {
    const { path, asked } = await serve();
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const a = await exchange(path, '{"cmd":"status"}\n', 1);
    expect(parsed(a.lines)).toEqual([{ ok: true, status: view(1) }]);
    const b = await exchange(path, '{"cmd":"status"}\n', 1);
    expect(parsed(b.lines)).toEqual([{ ok: true, status: view(2) }]);
    expect(asked()).toBe(2);
  });

  it('answers several requests on one connection in order, a request sent in pieces included', async () => {
    const { path } = await serve();
    const r = await exchange(
      path,
      ['{"cmd":"status"}\nnot json\n{"cmd":"sta', 'tus"}\n{"cmd":"status"}\n'],
      4,
    );
    expect(parsed(r.lines)).toEqual([
      { ok: true, status: view(1) },
      { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' },
      { ok: true, status: view(2) },
      { ok: true, status: view(3) },
    ]);
    expect(r.ended).toBe(false); // the connection stays open for more
  });

  it('answers malformed JSON with what to send, and goes on serving', async () => {
    const { path, asked } = await serve();
    const r = await exchange(path, 'this is not json\n', 1);
    expect(parsed(r.lines)).toEqual([
      { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' },
    ]);
    expect(asked()).toBe(0);
    expect(parsed((await exchange(path, '{"cmd":"status"}\n', 1)).lines)).toEqual([
      { ok: true, status: view(1) },
    ]);
  });

  it('answers an unknown or missing cmd naming what is allowed', async () => {
    const { path, asked } = await serve();
    const r = await exchange(path, '{"cmd":"reload"}\n{}\n[1]\nnull\n{"cmd":7}\n', 5);
    expect(parsed(r.lines)).toEqual([
      { ok: false, error: 'unknown cmd "reload"; allowed: "status"' },
      { ok: false, error: 'unknown cmd undefined; allowed: "status"' },
      { ok: false, error: 'unknown cmd undefined; allowed: "status"' },
      { ok: false, error: 'unknown cmd undefined; allowed: "status"' },
      { ok: false, error: 'unknown cmd 7; allowed: "status"' },
    ]);
    expect(asked()).toBe(0);
  });

  it('refuses a request line over 64 KiB and closes that connection, without waiting for its end', async () => {
    const { path, asked } = await serve();
    // Exactly 64 KiB is still a request (not JSON, but read whole)...
    const limit = await exchange(path, `${'x'.repeat(64 * 1024)}\n`, 1);
    expect(parsed(limit.lines)).toEqual([
      { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' },
    ]);
    // ...one character more is refused, even before its newline arrives, and the connection ends.
    const over = await exchange(path, ['{"cmd":"status"}\n', 'x'.repeat(64 * 1024 + 1)], 3);
    expect(parsed(over.lines)).toEqual([
      { ok: true, status: view(1) },
      { ok: false, error: 'request too long (limit 64 KiB per line)' },
    ]);
    expect(over.ended).toBe(true);
    expect(asked()).toBe(1);
    // Other clients are still served.
    expect(parsed((await exchange(path, '{"cmd":"status"}\n', 1)).lines)).toEqual([
      { ok: true, status: view(2) },
    ]);
  });

  it('replaces a socket file a dead supervisor left behind', async () => {
    const path = join(tmp(), 'procreg.sock');
    await staleSocket(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    await expect(exchange(path, '{"cmd":"status"}\n', 1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await serve(path);
    expect(parsed((await exchange(path, '{"cmd":"status"}\n', 1)).lines)).toEqual([
      { ok: true, status: view(1) },
    ]);
  });

  it('refuses to replace anything in its place that is not a socket, leaving it untouched', async () => {
    const dir = tmp();
    const file = join(dir, 'procreg.sock');
    writeFileSync(file, 'precious\n');
    const refused = (path: string) => (async () => serveControl(path, () => view(1)))();
    await expect(refused(file)).rejects.toThrow(`${file} exists and is not a socket; refusing to replace it`);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    const sub = join(dir, 'sub.sock');
    mkdirSync(sub);
    await expect(refused(sub)).rejects.toThrow(`${sub} exists and is not a socket; refusing to replace it`);
    expect(statSync(sub).isDirectory()).toBe(true);
  });
});
