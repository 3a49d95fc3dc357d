// Talking to a running supervisor from another process: its status, signals, verdicts, its exit.
import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { RegistryView } from '../../core/view.js';
import type { ReloadApplied, ReloadFailed } from '../../events/types.js';
import { readAppended } from '../event-log/tail.js';
import { readPidFile } from '../files/pidfile.js';

/** The PID of the live procreg that owns `runDir`, or why there is none. */
export function findSupervisor(runDir: string): { pid: number } | { none: string } {
  const path = join(runDir, 'procreg.pid');
  const pid = readPidFile(path);
  if (typeof pid !== 'number' || !isAlive(pid)) {
    const why = typeof pid === 'number' ? `pid ${pid} is not alive` : (pid ?? 'unreadable');
    return { none: `no procreg is running for this config (${path}: ${why})` };
  }
  return { pid };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalSupervisor(pid: number, signal: 'SIGHUP' | 'SIGTERM'): void {
  process.kill(pid, signal);
}

/** Current size of the log: a reader of what follows starts there. */
export function logOffset(path: string): number {
  return statSync(path).size;
}

export type ReloadVerdict = ReloadApplied | ReloadFailed;

/** Follow the event log past byte `from` for the first reload verdict; null after `timeoutMs`. */
export async function waitForReloadVerdict(
  path: string,
  from: number,
  timeoutMs: number,
): Promise<ReloadVerdict | null> {
  const deadline = Date.now() + timeoutMs;
  let offset = from;
  while (Date.now() < deadline) {
    const { events, next } = readAppended(path, offset);
    offset = next;
    for (const e of events) if (e.type === 'reload-applied' || e.type === 'reload-failed') return e;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

/** Wait until `pid` is gone; false when it still runs after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
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
      let res: { ok?: boolean; status?: RegistryView; error?: string };
      try {
        res = JSON.parse(buf.slice(0, nl)) as typeof res;
      } catch {
        reject(new Error(`${path}: the answer is not JSON`));
        return;
      }
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
