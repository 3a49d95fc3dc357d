import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { SIGNALS, type SignalName } from '../../config/types.js';
import type { RegistryView } from '../../core/view.js';
import { LineSplitter } from '../../events/line-splitter.js';
import { ProcregError } from '../errors.js';
import type { InstanceInfo } from '../instance-lock.js';
import type { OperateRequest, OperateResult } from './operate.js';

/**
 * The supervisor's control socket, `<runDir>/procreg.sock` (mode 0600: the runDir's owner
 * only). On connect the server sends one line, the handshake:
 *   {"ok":true,"hello":{"procreg":"control","pid":...,"startTime":...,"bootId":...,"runDir":...,...}}
 * then answers one JSON request per line with one JSON line, in order:
 *   {"cmd":"status"} → {"ok":true,"status":<registry>}
 *   {"cmd":"reload"} → {"ok":true,"reload":{"gen":N}} once the new generation is applied, or
 *                      {"ok":false,"refused":<reason>,"error":...} when the config was refused, or
 *                      {"ok":false,"stopping":true,"error":...} at once while procreg stops
 *   {"cmd":"stop"}   → {"ok":true,"stop":{"pid":...,"withinMs":...,"already":false}}, and once
 *                      every service and check is gone {"ok":true,"stopped":true} before the close
 *   {"cmd":"hello"}  → the handshake again
 *   {"cmd":"start"|"stop"|"restart","names":[...]} and {"cmd":"signal","names":[name],"signal":"SIGUSR2"}
 *                    → {"ok":true,"results":[{name,target,outcome,message,seq}]} once each outcome
 *                      is known (operate.ts); "stop" without names stops the supervisor (above)
 * Anything else gets {"ok":false,"error":...} naming what is allowed; a bad request never
 * disturbs the supervisor. A connection idle for `idleMs` is closed, and at the stop every
 * connection is closed: no client keeps procreg alive.
 */

export interface ControlHello extends InstanceInfo {
  readonly procreg: 'control';
}

export type ReloadAnswer =
  | { readonly ok: true; readonly gen: number }
  | { readonly ok: false; readonly refused: string }
  | { readonly ok: false; readonly stopping: string }
  | { readonly ok: false; readonly error: string };

export interface StopAck {
  readonly pid: number;
  /** How long the stop may take (longest stop timeout plus a margin). */
  readonly withinMs: number;
  /** A stop was already under way. */
  readonly already: boolean;
}

/** What the socket can ask of the supervisor. */
export interface ControlPort {
  info(): InstanceInfo;
  status(): RegistryView;
  /** `services`: to send their reloadSignal once the config is applied (`reload --services`). */
  reload(services: readonly string[]): Promise<ReloadAnswer>;
  stop(): StopAck;
  /** Start, stop, restart or signal single services (or checks), each followed to its outcome. */
  operate(req: OperateRequest): Promise<readonly OperateResult[]>;
}

export interface ControlOptions {
  /** A connection with no request for this long is closed (default 60 s). */
  readonly idleMs?: number;
  /** Connections beyond this many are closed at once (default 32). */
  readonly maxConnections?: number;
  /** Told about a failure of the listening socket after it started (e.g. EMFILE on accept). */
  readonly onError?: (e: Error) => void;
}

export interface ControlServer {
  readonly path: string;
  /**
   * Stop serving: every connection is closed (after `{"ok":true,"stopped":true}` to those
   * that asked for the stop, when `stopped`), the socket file is removed. Resolves once done.
   */
  close(stopped: boolean): Promise<void>;
  /**
   * Listen again at the same path, e.g. after the runDir was removed and re-created: the old
   * socket file is gone with it. Connections already open keep being served.
   */
  relisten(): Promise<void>;
}

/** Longest request line accepted. */
const REQUEST_MAX = 64 * 1024;
/** Answers written and not yet read by the client beyond which its connection is dropped. */
const UNREAD_MAX = 16 * 1024 * 1024;
const ALLOWED = '"status", "reload", "stop", "hello", "start", "restart", "signal"';
/** Names in one request, at most. */
const MAX_NAMES = 256;

export async function serveControl(
  path: string,
  port: ControlPort,
  options: ControlOptions = {},
): Promise<ControlServer> {
  const idleMs = options.idleMs ?? 60_000;
  try {
    removeStaleSocket(path);
  } catch (e) {
    throw new ProcregError('ECONTROL', `cannot serve the control socket ${path}: ${(e as Error).message}`);
  }
  const conns = new Map<Socket, { stopper: boolean; busy: boolean }>();
  const onConnection = (conn: Socket) => {
    const meta = { stopper: false, busy: false };
    conns.set(conn, meta);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => {}); // a client that goes away is not our problem
    const send = (answer: object) => {
      if (conn.destroyed || !conn.writable) return;
      // A client that asks and never reads would make procreg buffer its answers without end.
      if (conn.writableLength > UNREAD_MAX) conn.destroy();
      else conn.write(`${JSON.stringify(answer)}\n`);
    };
    conn.setTimeout(idleMs);
    conn.on('timeout', () => {
      if (meta.stopper) return; // waits for the stop to finish, however long the services take
      if (meta.busy) {
        conn.setTimeout(idleMs); // a request in flight is not idleness
        return;
      }
      conn.end(`${JSON.stringify({ ok: false, error: `idle for ${idleMs} ms; closing` })}\n`, () =>
        conn.destroy(),
      );
    });
    send({ ok: true, hello: hello(port) });
    let chain = Promise.resolve();
    let tooLong = false;
    const lines = new LineSplitter((line, cut) => {
      if (tooLong) return;
      if (cut) {
        tooLong = true;
        conn.end(
          `${JSON.stringify({ ok: false, error: 'request too long (limit 64 KiB per line)' })}\n`,
          () => conn.destroy(),
        );
        return;
      }
      // One request at a time per connection: answers come back in the order asked.
      chain = chain.then(async () => {
        meta.busy = true;
        try {
          send(await answer(line, port, meta));
        } catch (e) {
          send({ ok: false, error: `internal error: ${(e as Error).message}` });
        } finally {
          meta.busy = false;
        }
      });
    }, REQUEST_MAX);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => lines.push(chunk));
  };
  const listen = async (): Promise<Server> => {
    const server = createServer(onConnection);
    server.maxConnections = options.maxConnections ?? 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new ProcregError('ECONTROL', `cannot serve the control socket ${path}: ${e.message}`)),
      );
      server.listen(path, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => options.onError?.(e));
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return server;
  };
  let server = await listen();
  return {
    path,
    relisten: async () => {
      const old = server;
      old.close(); // stops accepting; its connections stay in `conns`
      removeStaleSocket(path);
      server = await listen();
    },
    close: (stopped) =>
      new Promise<void>((resolve) => {
        for (const [conn, meta] of conns) {
          const farewell = meta.stopper && stopped ? `${JSON.stringify({ ok: true, stopped: true })}\n` : '';
          conn.end(farewell, () => conn.destroy());
          // A client that never reads cannot hold the close up either.
          setTimeout(() => conn.destroy(), 1000).unref();
        }
        server.close(() => {
          try {
            unlinkSync(path);
          } catch {
            // removed by someone else (the runDir deleted): nothing to clean
          }
          resolve();
        });
      }),
  };
}

function hello(port: ControlPort): ControlHello {
  return { procreg: 'control', ...port.info() };
}

async function answer(line: string, port: ControlPort, meta: { stopper: boolean }): Promise<object> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON; send one object per line, e.g. {"cmd":"status"}' };
  }
  const cmd = typeof req === 'object' && req !== null ? (req as { cmd?: unknown }).cmd : undefined;
  switch (cmd) {
    case 'status':
      return { ok: true, status: port.status() };
    case 'hello':
      return { ok: true, hello: hello(port) };
    case 'stop':
      if ((req as { names?: unknown }).names === undefined) {
        meta.stopper = true;
        return { ok: true, stop: port.stop() };
      }
      return operateAnswer(req as Record<string, unknown>, 'stop', port);
    case 'start':
    case 'restart':
    case 'signal':
      return operateAnswer(req as Record<string, unknown>, cmd, port);
    case 'reload': {
      const services = (req as { services?: unknown }).services ?? [];
      if (!Array.isArray(services) || !services.every((s) => typeof s === 'string'))
        return { ok: false, error: 'services: must be a list of service names' };
      const res = await port.reload(services as string[]);
      if (res.ok) return { ok: true, reload: { gen: res.gen } };
      if ('refused' in res)
        return { ok: false, refused: res.refused, error: `reload refused: ${res.refused}` };
      if ('stopping' in res) return { ok: false, stopping: true, error: res.stopping };
      return { ok: false, error: res.error };
    }
    default:
      return { ok: false, error: `unknown cmd ${JSON.stringify(cmd)}; allowed: ${ALLOWED}` };
  }
}

async function operateAnswer(
  req: Record<string, unknown>,
  op: OperateRequest['op'],
  port: ControlPort,
): Promise<object> {
  const names = req.names;
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    names.length > MAX_NAMES ||
    !names.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 256)
  )
    return { ok: false, error: `"names" must be a list of 1 to ${MAX_NAMES} service or check names` };
  if (op !== 'signal') return { ok: true, results: await port.operate({ op, names }) };
  const signal = req.signal;
  if (names.length !== 1 || typeof signal !== 'string' || !(SIGNALS as readonly string[]).includes(signal))
    return {
      ok: false,
      error: `"signal" takes one name in "names" and a "signal", one of ${SIGNALS.join(', ')}`,
    };
  return { ok: true, results: await port.operate({ op, names, signal: signal as SignalName }) };
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
