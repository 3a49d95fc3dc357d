import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { RegistryView } from '../core/view.js';

/**
 * The supervisor's control socket: one JSON request per line, one JSON answer per line.
 * Requests: {"cmd":"status"}. Anything else gets {"ok":false,"error":...} naming what is
 * allowed; a bad request never disturbs the supervisor. Mode 0600: the runDir's owner only.
 */
export function serveControl(path: string, status: () => RegistryView): Promise<Server> {
  removeStaleSocket(path);
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => {}); // a client that goes away is not our problem
    conn.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 64 * 1024) {
        conn.end(`${JSON.stringify({ ok: false, error: 'request too long (limit 64 KiB per line)' })}\n`);
        return;
      }
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        conn.write(`${JSON.stringify(answer(line, status))}\n`);
        nl = buf.indexOf('\n');
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

function answer(line: string, status: () => RegistryView): object {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' };
  }
  const cmd = typeof req === 'object' && req !== null ? (req as { cmd?: unknown }).cmd : undefined;
  if (cmd === 'status') return { ok: true, status: status() };
  return { ok: false, error: `unknown cmd ${JSON.stringify(cmd)}; allowed: "status"` };
}

/** A socket file left by a dead supervisor is replaced; anything else in its place is refused. */
function removeStaleSocket(path: string): void {
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Ask a running supervisor for its status; rejects with a message a person can act on. */
export function requestStatus(path: string, timeoutMs = 5000): Promise<RegistryView> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write('{"cmd":"status"}\n'));
    conn.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      conn.end();
      const res = JSON.parse(buf.slice(0, nl)) as { ok: boolean; status?: RegistryView; error?: string };
      if (res.ok && res.status) resolve(res.status);
      else reject(new Error(res.error ?? 'bad answer'));
    });
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? `no procreg is running here (${path}: ${e.code})`
            : `${path}: ${e.message}`,
        ),
      );
    });
  });
}
