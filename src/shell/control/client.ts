// Talking to a running supervisor from another process: find it by its runDir lock, check who
// it is, then ask over its control socket.
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  describeHolder,
  type LockHello,
  type LockProbe,
  lockAddress,
  printableAddress,
  probeLock,
  resolveForLock,
} from '../instance-lock.js';
import type { ProcessIdentity } from '../proc/identity.js';
import type { ControlHello } from './server.js';

/** One answer line from the control socket, parsed. */
export type Answer = { readonly ok: boolean; readonly error?: string } & Record<string, unknown>;

/** An open connection to a supervisor's control socket, past its handshake. */
export class ControlSession {
  private buf = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(
    private readonly conn: Socket,
    readonly path: string,
    readonly hello: ControlHello,
  ) {
    conn.on('data', (chunk: string) => this.take(chunk));
    conn.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** @internal the bytes read with the handshake, already past it */
  take(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      this.lines.push(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
    }
    this.wake();
  }

  /** Send `{"cmd":...}` and wait for its answer: 'closed' when the supervisor hung up, null after `timeoutMs`. */
  async request(
    cmd: string,
    timeoutMs: number,
    args: Readonly<Record<string, unknown>> = {},
  ): Promise<Answer | 'closed' | null> {
    if (!this.ended) this.conn.write(`${JSON.stringify({ cmd, ...args })}\n`);
    return this.next(timeoutMs);
  }

  /** The next line the supervisor sends: 'closed' when it hung up, null after `timeoutMs`. */
  async next(timeoutMs: number): Promise<Answer | 'closed' | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        try {
          const v = JSON.parse(line) as unknown;
          if (typeof v === 'object' && v !== null && typeof (v as Answer).ok === 'boolean')
            return v as Answer;
        } catch {
          // falls through
        }
        return {
          ok: false,
          error: `${this.path}: the answer is not a procreg answer: ${line.slice(0, 200)}`,
        };
      }
      if (this.ended) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  close(): void {
    this.conn.destroy();
  }

  private wake(): void {
    this.waiter?.();
  }
}

export type Connect =
  | { readonly ok: true; readonly session: ControlSession }
  | {
      readonly ok: false;
      readonly code: 'ENOENT' | 'ECONNREFUSED' | 'silent' | 'bad-hello' | 'error';
      readonly why: string;
    };

/** Connect to a control socket and read its handshake, within `timeoutMs`. */
export function connectControl(path: string, timeoutMs: number): Promise<Connect> {
  return new Promise((resolve) => {
    const conn = createConnection(path);
    conn.setEncoding('utf8');
    let buf = '';
    let settled = false;
    const done = (c: Connect) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.removeListener('data', onData);
      if (!c.ok) conn.destroy();
      resolve(c);
    };
    const timer = setTimeout(
      () => done({ ok: false, code: 'silent', why: `${path}: no handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 64 * 1024)
          done({ ok: false, code: 'bad-hello', why: `${path}: the handshake is too long` });
        return;
      }
      const hello = parseControlHello(buf.slice(0, nl));
      if (!hello) {
        done({
          ok: false,
          code: 'bad-hello',
          why: `${path}: not a procreg handshake: ${buf.slice(0, Math.min(nl, 200))}`,
        });
        return;
      }
      const session = new ControlSession(conn, path, hello);
      const rest = buf.slice(nl + 1);
      done({ ok: true, session });
      if (rest) session.take(rest);
    };
    conn.on('data', onData);
    conn.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
        done({ ok: false, code: e.code, why: `${path}: ${e.code}` });
      else done({ ok: false, code: 'error', why: `${path}: ${e.message}` });
    });
    conn.on('close', () =>
      done({ ok: false, code: 'bad-hello', why: `${path}: closed before its handshake` }),
    );
  });
}

function parseControlHello(line: string): ControlHello | null {
  try {
    const v = JSON.parse(line) as { ok?: unknown; hello?: Record<string, unknown> };
    const h = v.hello;
    if (v.ok !== true || typeof h !== 'object' || h === null || h.procreg !== 'control') return null;
    if (![h.pid, h.startTime, h.stopWithinMs].every((n) => Number.isSafeInteger(n))) return null;
    if (typeof h.runDir !== 'string') return null;
    return h as unknown as ControlHello;
  } catch {
    return null;
  }
}

const sameProcess = (a: ProcessIdentity, b: ProcessIdentity) =>
  a.pid === b.pid && a.startTime === b.startTime && a.bootId === b.bootId;

/** Where the supervisor of a runDir stands, as far as the CLI can tell. */
export type Located =
  | {
      /** Nothing holds the runDir lock: no procreg runs for it (a procreg.pid says nothing). */
      readonly kind: 'none';
      readonly runDir: string;
      readonly why: string;
    }
  | {
      /** The lock is held by something that does not prove to be procreg, or does not answer. */
      readonly kind: 'unproven';
      readonly runDir: string;
      readonly why: string;
    }
  | {
      /** A proven procreg holds the lock, but its control socket cannot be used. */
      readonly kind: 'no-control';
      readonly runDir: string;
      readonly lock: LockHello;
      readonly why: string;
    }
  | {
      /** Connected to the lock holder's control socket. */
      readonly kind: 'control';
      readonly runDir: string;
      readonly lock: LockHello;
      readonly session: ControlSession;
    };

/**
 * Find the procreg running `runDir`: the holder of its lock (proven in /proc), then its
 * control socket, whose handshake must name that same process. Never signals anything.
 */
export async function locateSupervisor(runDir: string, timeoutMs: number): Promise<Located> {
  const resolved = resolveForLock(runDir);
  const probe: LockProbe = await probeLock('run', resolved, timeoutMs);
  if (probe.state === 'free')
    return {
      kind: 'none',
      runDir: resolved,
      why: `nothing holds its lock ${printableAddress(lockAddress('run', resolved))}`,
    };
  if (probe.state === 'unproven')
    return { kind: 'unproven', runDir: resolved, why: `its lock is held by ${describeHolder(probe)}` };
  const lock = probe.hello;
  const sock = join(lock.runDir, 'procreg.sock');
  if (lock.phase === 'starting')
    return {
      kind: 'no-control',
      runDir: resolved,
      lock,
      why: `it is starting up (replaying its event log); ${sock} is not served yet`,
    };
  const c = await connectControl(sock, timeoutMs);
  if (!c.ok) {
    const why =
      c.code === 'ENOENT'
        ? `its control socket ${sock} is gone`
        : c.code === 'ECONNREFUSED'
          ? `nothing listens on its control socket ${sock}`
          : c.code === 'silent'
            ? `it did not answer on its control socket ${sock} within ${timeoutMs} ms`
            : `its control socket cannot be used (${c.why})`;
    return { kind: 'no-control', runDir: resolved, lock, why };
  }
  if (!sameProcess(c.session.hello, lock)) {
    c.session.close();
    return {
      kind: 'no-control',
      runDir: resolved,
      lock,
      why: `${sock} is served by pid ${c.session.hello.pid}, not by the holder of the runDir lock`,
    };
  }
  return { kind: 'control', runDir: resolved, lock, session: c.session };
}
