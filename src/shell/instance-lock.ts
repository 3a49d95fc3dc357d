// One supervisor per runDir and one writer per event log, by a lock the kernel holds.
//
// The lock is a listening unix socket bound to an abstract address (Linux: a name that is no
// file) derived from the resolved path it locks. bind(2) is atomic: of two processes binding
// the same name, exactly one succeeds. The kernel releases it when the holder dies, however
// it dies (SIGKILL included), and nothing on disk can make it stale: `rm -rf runDir` leaves
// it held. The holder answers every connection with one line of JSON naming itself, and
// whoever reads that line checks in /proc that the PID it claims really holds the socket.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { ProcregError } from './errors.js';
import { presence, type ProcessIdentity } from './proc/identity.js';
import { readProcStat } from './proc/proc-stat.js';
import { holdsSocket, listeningInode, socketHolders } from './proc/unix-sockets.js';

/** run: a runDir (one supervisor); log: an event log (one writer). */
export type LockKind = 'run' | 'log';

/** What a running procreg says about itself, on its lock sockets and its control socket. */
export interface InstanceInfo extends ProcessIdentity {
  readonly runDir: string;
  readonly eventLog: string;
  readonly config: string;
  readonly version: string;
  /** starting: replaying its log, nothing served yet; running; stopping. */
  readonly phase: 'starting' | 'running' | 'stopping';
  /** How long a stop may take: the longest stop timeout of what it runs, plus a margin. */
  readonly stopWithinMs: number;
}

/** The line a lock socket answers with. */
export interface LockHello extends InstanceInfo {
  readonly procreg: 'lock';
  readonly kind: LockKind;
  /** The resolved path the lock is named after. */
  readonly path: string;
}

/** Bytes of an abstract address after its leading NUL: sun_path is 108 bytes. */
const ADDRESS_BYTES = 107;
/** Longest hello line read. */
const HELLO_MAX = 4096;

/**
 * `path` made absolute, with every symlink resolved as far as the path exists: the same
 * string for every spelling of one directory, also once the directory itself is gone (its
 * parent still resolves), which is what a client needs after `rm -rf runDir`.
 */
export function resolveForLock(path: string): string {
  const rest: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(p), ...rest);
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.unshift(basename(p));
      p = parent;
    }
  }
}

/**
 * The abstract address of the lock on `resolvedPath`: `\0procreg/<kind>/<sha256 hex>`,
 * padded with `_` to fill sun_path exactly — Node binds abstract names with the whole of
 * sun_path, and a name that fills it is the same address whatever length a binder passes.
 */
export function lockAddress(kind: LockKind, resolvedPath: string): string {
  const base = `procreg/${kind}/${createHash('sha256').update(resolvedPath).digest('hex')}`;
  return `\0${base}${'_'.repeat(ADDRESS_BYTES - base.length)}`;
}

/** How the address shows in /proc/net/unix and `ss -x`: `@procreg/run/<hash>` (padding dropped). */
export function printableAddress(address: string): string {
  return `@${address.slice(1).replace(/_+$/, '')}`;
}

export type LockProbe =
  | { readonly state: 'free'; readonly kind: LockKind; readonly path: string }
  | {
      /** Held by the procreg its hello names, proven by /proc. */
      readonly state: 'held';
      readonly kind: LockKind;
      readonly path: string;
      readonly hello: LockHello;
    }
  | {
      /** Held, but the holder did not answer, or does not prove to be what it claims. */
      readonly state: 'unproven';
      readonly kind: LockKind;
      readonly path: string;
      readonly holders: readonly number[];
      readonly hello: LockHello | null;
      readonly why: string;
    };

const WHAT: Record<LockKind, string> = { run: 'runDir', log: 'event log' };

/** Who holds a lock, in words: `procreg pid 123 (version 0.1.0, config /etc/app.yaml, runDir /run/app, running)`. */
export function describeHolder(probe: LockProbe): string {
  switch (probe.state) {
    case 'free':
      return 'nobody';
    case 'held': {
      const h = probe.hello;
      return `procreg pid ${h.pid} (version ${h.version}, config ${h.config}, runDir ${h.runDir}, ${h.phase})`;
    }
    case 'unproven': {
      const who = probe.holders.length > 0 ? `pid ${probe.holders.join(', ')}` : 'an unknown process';
      return `${who}, which does not prove to be procreg: ${probe.why}`;
    }
  }
}

/** Ask whoever holds the lock on `path` who it is, and check the answer in /proc. Never throws. */
export async function probeLock(kind: LockKind, path: string, timeoutMs = 2000): Promise<LockProbe> {
  const resolved = resolveForLock(path);
  return probeAddress(kind, resolved, lockAddress(kind, resolved), timeoutMs);
}

async function probeAddress(
  kind: LockKind,
  path: string,
  address: string,
  timeoutMs: number,
): Promise<LockProbe> {
  const answer = await readHello(address, timeoutMs);
  if (answer.kind === 'refused') return { state: 'free', kind, path };
  const inode = listeningInode(address.slice(1));
  // Who holds it, by a scan of every process's descriptors: only for a holder that does not
  // prove itself (a proven one is named by its handshake), and at most once.
  let scanned: number[] | null = null;
  const holders = () => (scanned ??= inode === null ? [] : socketHolders(inode));
  const unproven = (why: string, hello: LockHello | null = null): LockProbe => ({
    state: 'unproven',
    kind,
    path,
    holders: holders(),
    hello,
    why,
  });
  if (answer.kind === 'silent') {
    const states = holders().map((pid) => `pid ${pid} is in state ${readProcStat(pid)?.state ?? '?'}`);
    return unproven(
      `it did not answer on ${printableAddress(address)} within ${timeoutMs} ms${states.length ? ` (${states.join('; ')})` : ''}`,
    );
  }
  if (answer.kind === 'error') return unproven(answer.why);
  const hello = parseHello(answer.line);
  if (!hello)
    return unproven(
      `its answer is not a procreg lock handshake: ${JSON.stringify(answer.line.slice(0, 200))}`,
    );
  if (hello.kind !== kind || hello.path !== path)
    return unproven(`it claims to lock ${hello.kind} ${hello.path}, not ${kind} ${path}`, hello);
  if (inode === null)
    return unproven(`no socket listens on ${printableAddress(address)} in /proc/net/unix`, hello);
  const holds = holdsSocket(hello.pid, inode);
  if (holds !== true)
    return unproven(
      holds === 'unknown'
        ? `it claims to be pid ${hello.pid}, whose descriptors this user cannot read to check`
        : `it claims to be pid ${hello.pid}, which does not hold socket ${inode}`,
      hello,
    );
  const p = presence(hello);
  if (!p.running) return unproven(`it claims to be pid ${hello.pid}, but ${p.why}`, hello);
  return { state: 'held', kind, path, hello };
}

type HelloAnswer =
  { kind: 'line'; line: string } | { kind: 'refused' } | { kind: 'silent' } | { kind: 'error'; why: string };

function readHello(address: string, timeoutMs: number): Promise<HelloAnswer> {
  return new Promise((resolvePromise) => {
    const conn = createConnection(address);
    let buf = '';
    let settled = false;
    const done = (a: HelloAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolvePromise(a);
    };
    const timer = setTimeout(() => done({ kind: 'silent' }), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) done({ kind: 'line', line: buf.slice(0, nl) });
      else if (buf.length > HELLO_MAX) done({ kind: 'line', line: buf.slice(0, HELLO_MAX) });
    });
    conn.on('end', () =>
      done(
        buf ? { kind: 'line', line: buf } : { kind: 'error', why: 'it closed the connection without a word' },
      ),
    );
    conn.on('error', (e: NodeJS.ErrnoException) =>
      done(
        e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
          ? { kind: 'refused' }
          : e.code === 'EAGAIN'
            ? { kind: 'silent' } // its backlog is full: it does not accept
            : { kind: 'error', why: `connecting to it failed: ${e.code ?? e.message}` },
      ),
    );
  });
}

function parseHello(line: string): LockHello | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const h = v as Record<string, unknown>;
  const ints = [h.pid, h.startTime, h.stopWithinMs].every(
    (n) => Number.isSafeInteger(n) && (n as number) >= 0,
  );
  const strings = [h.path, h.runDir, h.eventLog, h.config, h.version].every((s) => typeof s === 'string');
  const ok =
    h.procreg === 'lock' &&
    (h.kind === 'run' || h.kind === 'log') &&
    ints &&
    strings &&
    (h.bootId === null || typeof h.bootId === 'string') &&
    (h.phase === 'starting' || h.phase === 'running' || h.phase === 'stopping');
  return ok ? (h as unknown as LockHello) : null;
}

/** A lock this process holds: released by close(), or by the kernel when the process ends. */
export class InstanceLock {
  private constructor(
    readonly kind: LockKind,
    /** The resolved path locked. */
    readonly path: string,
    readonly address: string,
    private readonly server: Server,
  ) {}

  /**
   * Take the lock on `path`, or say who holds it. `info` is asked afresh for every client
   * (its phase changes). Throws a ProcregError (ELOCK) only when binding fails for another
   * reason than the name being taken.
   */
  static async acquire(
    kind: LockKind,
    path: string,
    info: () => InstanceInfo,
    probeTimeoutMs = 2000,
  ): Promise<{ ok: true; lock: InstanceLock } | { ok: false; holder: LockProbe }> {
    const resolved = resolveForLock(path);
    const address = lockAddress(kind, resolved);
    let last: LockProbe | null = null;
    // A holder that exits between our bind and our probe frees the name: bind again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = createServer((conn) => {
        conn.on('error', () => {}); // a client gone early is not our problem
        const hello: LockHello = { procreg: 'lock', kind, path: resolved, ...info() };
        conn.end(`${JSON.stringify(hello)}\n`, () => conn.destroy());
      });
      server.maxConnections = 16; // anyone in the network namespace may connect: keep it cheap
      const err = await new Promise<NodeJS.ErrnoException | null>((done) => {
        server.once('error', done);
        server.listen(address, () => {
          server.off('error', done);
          done(null);
        });
      });
      if (err === null) {
        server.on('error', () => {}); // accept errors (EMFILE) must not take procreg down
        server.unref(); // it never keeps procreg alive: the process ending is what releases it
        return { ok: true, lock: new InstanceLock(kind, resolved, address, server) };
      }
      if (err.code !== 'EADDRINUSE')
        throw new ProcregError(
          'ELOCK',
          `cannot take the ${WHAT[kind]} lock ${printableAddress(address)} for ${resolved}: ${err.message}`,
        );
      last = await probeAddress(kind, resolved, address, probeTimeoutMs);
      if (last.state !== 'free') return { ok: false, holder: last };
    }
    return {
      ok: false,
      holder: {
        state: 'unproven',
        kind,
        path: resolved,
        holders: [],
        hello: null,
        why: `the lock ${printableAddress(address)} changed hands three times while procreg tried to take it`,
      },
    };
  }

  /** Release the lock (the kernel frees the name at once). */
  close(): Promise<void> {
    return new Promise((done) => {
      if (!this.server.listening) return done();
      this.server.close(() => done());
    });
  }
}
