import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { LineSplitter } from '../../events/line-splitter.js';
import type { RegistryView } from '../../core/view.js';

/**
 * The supervisor's control socket: one JSON request per line, one JSON answer per line.
 * Requests: {"cmd":"status"}. Anything else gets {"ok":false,"error":...} naming what is
 * allowed; a bad request never disturbs the supervisor. Mode 0600: the runDir's owner only.
 */
/** Longest request line accepted. */
const REQUEST_MAX = 64 * 1024;

export function serveControl(path: string, status: () => RegistryView): Promise<Server> {
  removeStaleSocket(path);
  const server = createServer((conn) => {
    let tooLong = false;
    const lines = new LineSplitter((line, cut) => {
      if (tooLong) return;
      if (cut) {
        tooLong = true;
        conn.end(`${JSON.stringify({ ok: false, error: 'request too long (limit 64 KiB per line)' })}\n`);
        return;
      }
      conn.write(`${JSON.stringify(answer(line, status))}\n`);
    }, REQUEST_MAX);
    conn.setEncoding('utf8');
    conn.on('error', () => {}); // a client that goes away is not our problem
    conn.on('data', (chunk: string) => lines.push(chunk));
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
