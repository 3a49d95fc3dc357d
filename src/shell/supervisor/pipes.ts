// Real pipes for children's output: libuv's stdio pipes are Unix sockets, and a program that
// opens /dev/stdout (nginx's `access_log /dev/stdout`) gets ENXIO on a socket.
import { execFile, execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Both ends of one pipe: procreg reads `read` (non-blocking), the child gets `write` (blocking). */
export interface PipeEnds {
  readonly read: number;
  readonly write: number;
}

/** Pipes made per `mkfifo` run: one fork of mkfifo (~5 ms here) serves this many streams. */
const BATCH = 32;
/** Below this many ready pipes, the next batch is made in the background. */
const LOW = 12;

/**
 * Node cannot call pipe(2), so the pipes are FIFOs: `mkfifo` makes a batch in a fresh private
 * directory (mode 0700), both ends of each are opened, then every name is unlinked and the
 * directory removed — what the pool holds are open, nameless pipes. A procreg killed while a
 * batch is being made (a few ms of mkfifo) leaves its directory behind: it is named with the
 * PID, and the next procreg to make a batch removes those of dead PIDs (sweepStalePipeDirs). A FIFO's ends are pipe ends: the child can reopen /dev/stdout
 * (/proc/self/fd/1). Its inode is mode 0666 so a service running as another user can reopen
 * it too; nobody else can reach it: its name lived only in the private directory, and
 * /proc/<pid>/fd links are only followed by those who may ptrace that process.
 *
 * Taking a pipe never waits: batches are made in the background while enough are ready, and
 * synchronously (one fork of mkfifo) only when none is — so a spawn stays one synchronous
 * step, its PID known in the turn of the fork.
 */
class PipePool {
  private readonly ready: PipeEnds[] = [];
  private refilling = false;

  get readyCount(): number {
    return this.ready.length;
  }

  take(): PipeEnds {
    if (this.ready.length === 0) this.ready.push(...makeBatch(null));
    const p = this.ready.shift() as PipeEnds;
    if (this.ready.length < LOW) this.refillInBackground();
    return p;
  }

  /**
   * After this turn, not in it: the take that ran low is a spawn under way, and its PID file is
   * written in this same turn. Starting mkfifo here put one more fork+exec (libuv waits for
   * the exec) on the path of every 10th restart: the restart bench's p99 tail (issue 15).
   */
  private refillInBackground(): void {
    if (this.refilling) return;
    this.refilling = true;
    setImmediate(() =>
      makeBatchAsync((made) => {
        this.refilling = false;
        if (!made) return;
        this.ready.push(...made);
        // A take that found none ready meanwhile made a batch synchronously (under load the
        // spawns can outrun mkfifo): the pool keeps at most one batch, the rest is closed.
        if (this.ready.length > BATCH) closePipes(this.ready.splice(BATCH));
      }),
    );
  }
}

/** A batch of pipes; `mkfifo` is run synchronously unless `names` were made already. */
function makeBatch(made: { dir: string; names: string[] } | null): PipeEnds[] {
  const batch = made ?? namesForBatch();
  try {
    if (!made) execFileSync('mkfifo', ['-m', '0666', ...batch.names], { stdio: 'ignore' });
    return openBatch(batch.names);
  } finally {
    rmSync(batch.dir, { recursive: true, force: true });
  }
}

function makeBatchAsync(done: (made: PipeEnds[] | null) => void): void {
  let batch: { dir: string; names: string[] };
  try {
    batch = namesForBatch();
  } catch {
    return done(null); // the next synchronous take says why
  }
  execFile('mkfifo', ['-m', '0666', ...batch.names], (err) => {
    if (err) {
      rmSync(batch.dir, { recursive: true, force: true });
      return done(null);
    }
    try {
      done(makeBatch(batch));
    } catch {
      done(null);
    }
  });
}

const PREFIX = 'procreg-pipes-';
let swept = false;

/**
 * Removes the batch directories of procregs that died while making one: named
 * `procreg-pipes-<pid>-…`, that PID gone, and older than `minAgeMs` (a batch lives for
 * milliseconds; the age keeps a live procreg in another PID namespace sharing this temp
 * directory safe). Never throws: what it cannot remove stays.
 */
export function sweepStalePipeDirs(dir = tmpdir(), minAgeMs = 60_000, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^procreg-pipes-(\d+)-[^/]+$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (!st.isDirectory() || now - st.mtimeMs < minAgeMs || alive(Number(m[1]))) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function namesForBatch(): { dir: string; names: string[] } {
  if (!swept) {
    swept = true;
    sweepStalePipeDirs();
  }
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  return { dir, names: Array.from({ length: BATCH }, (_, i) => join(dir, String(i))) };
}

function openBatch(names: readonly string[]): PipeEnds[] {
  const made: PipeEnds[] = [];
  try {
    for (const name of names) {
      // The read end first and non-blocking, so opening the write end does not wait for a
      // reader (libuv opens every descriptor close-on-exec; spawn dup2s the one a child gets).
      const read = openSync(name, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        made.push({ read, write: openSync(name, constants.O_WRONLY) });
      } catch (e) {
        closeSync(read);
        throw e;
      }
      unlinkSync(name);
    }
    return made;
  } catch (e) {
    closePipes(made);
    throw e;
  }
}

const pool = new PipePool();

/** Pipes the pool holds ready (each two descriptors), at most one batch: for tests. */
export function readyPipes(): number {
  return pool.readyCount;
}

/** `n` pipes, now; throws when they cannot be made (mkfifo missing, out of descriptors). */
export function takePipes(n: number): PipeEnds[] {
  const got: PipeEnds[] = [];
  try {
    for (let i = 0; i < n; i++) got.push(pool.take());
    return got;
  } catch (e) {
    closePipes(got);
    const code = (e as NodeJS.ErrnoException).code;
    // Out of descriptors is said as such by whyNotStarted; anything else as it is.
    if (code === 'EMFILE' || code === 'ENFILE') throw e;
    throw new Error(`cannot make a pipe for its output: ${(e as Error).message}`);
  }
}

export function closePipes(pipes: readonly PipeEnds[]): void {
  for (const p of pipes) {
    closeQuietly(p.read);
    closeQuietly(p.write);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
