/**
 * One benchmark run's footprint, and its removal. A run starts supervisors (procreg, PM2's
 * daemon and its 100 children, a bare Node loop) and writes GBs of generated logs; Ctrl-C,
 * SIGTERM, a reader gone from stdout (`| head -1`: EPIPE) or a crash must leave none of it.
 *
 * Two marks find everything without each benchmark having to register what it starts:
 * - TMPDIR points into one temp root of the run, so every `mkdtemp(tmpdir())` of a benchmark
 *   (and of the processes it starts, which inherit it) lands there, and one rm removes it;
 * - PROCREG_BENCH_SESSION is in the environment of every process started, and stays there
 *   when one detaches and is re-parented (PM2's daemon outlives the CLI that started it):
 *   /proc/<pid>/environ names them, their descendants are found by parent PID.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProcStat } from '../proc/proc-stat.js';

export const SESSION_ENV = 'PROCREG_BENCH_SESSION';

export interface BenchSession {
  /** The run's temp root (also TMPDIR of this process and of every process it starts). */
  readonly tempRoot: string;
  /** The temp dir from before the session (os.tmpdir()): for inputs cached between runs. */
  readonly cacheDir: string;
  /** A fresh directory inside the temp root. */
  tempDir(prefix: string): string;
  /** Run `hook` (bounded) before processes are killed when stdout closes, e.g. a graceful stop. */
  onInterrupt(hook: () => Promise<void>): () => void;
  /** The normal end: kill whatever is left, remove the temp root, drop the handlers. */
  close(): void;
}

let current: BenchSession | null = null;

/** The session this process runs, if any (bench/util.ts hands its temp dirs and hooks to it). */
export function currentSession(): BenchSession | null {
  return current;
}

/** How long the interrupt hooks get before everything is killed anyway. */
const HOOKS_MS = 3000;
const WATCHDOG = fileURLToPath(new URL('./watchdog.js', import.meta.url));

/**
 * Start a session: the temp root, the environment mark, the watchdog, and the handler of
 * EPIPE on stdout. `say` reports an interruption (stderr).
 *
 * SIGINT and SIGTERM keep their default action: the runner dies at once, even in the middle
 * of a synchronous benchmark loop (a JavaScript handler would wait for the loop to end), and
 * its watchdog — a small process of its own, which outlives it and ignores those signals —
 * sees its end of a pipe close and stops everything the run started. It does the same after
 * a crash or a SIGKILL.
 */
export function startBenchSession(say: (line: string) => void): BenchSession {
  const cacheDir = tmpdir();
  const tempRoot = mkdtempSync(join(cacheDir, 'procreg-bench-'));
  const id = `${process.pid}-${tempRoot.slice(-6)}`;
  process.env.TMPDIR = tempRoot;
  process.env[SESSION_ENV] = id;
  const watchdog = spawn(process.execPath, [WATCHDOG, id, tempRoot], {
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  watchdog.unref();
  (watchdog.stdin as Socket).unref();
  const spare = new Set(watchdog.pid === undefined ? [] : [watchdog.pid]);
  const hooks = new Set<() => Promise<void>>();
  let stopping = false;

  const cleanUp = () => {
    killSession(id, spare);
    rmSync(tempRoot, { recursive: true, force: true });
  };
  // The reader of stdout is gone: nobody reads the results, so the run stops; as every
  // procreg command whose reader left, with the exit code it would have had.
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' || stopping) return;
    stopping = true;
    say(
      `procreg bench: stdout closed (EPIPE): stopping every process the run started and removing ${tempRoot}`,
    );
    const bounded = new Promise<void>((r) => setTimeout(r, HOOKS_MS).unref());
    void Promise.race([Promise.allSettled([...hooks].map((h) => h())), bounded]).finally(() =>
      process.exit(0),
    );
  };
  const onExit = () => {
    cleanUp();
    watchdog.stdin?.end('done\n');
  };
  process.stdout.on('error', onStdoutError);
  process.on('exit', onExit);

  const session: BenchSession = {
    tempRoot,
    cacheDir,
    tempDir: (prefix) => mkdtempSync(join(tempRoot, prefix)),
    onInterrupt(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    close() {
      onExit();
      process.stdout.off('error', onStdoutError);
      process.off('exit', onExit);
      if (current === session) current = null;
    },
  };
  current = session;
  return session;
}

/**
 * Kill every process of session `id` and every descendant of them or of this process.
 * They are stopped first (SIGSTOP), found again until no new one appears (a supervisor
 * cannot respawn while stopped), then killed together; then looked for once more.
 */
export function killSession(id: string, spare: ReadonlySet<number> = new Set()): number {
  let killed = 0;
  for (let sweep = 0; sweep < 5; sweep++) {
    const stopped = new Set<number>();
    for (let pass = 0; pass < 20; pass++) {
      const found = sessionProcesses(id).filter((pid) => !stopped.has(pid) && !spare.has(pid));
      if (found.length === 0) break;
      for (const pid of found) {
        signal(pid, 'SIGSTOP');
        stopped.add(pid);
      }
      // A process stops on its way back from the kernel: a fork in progress completes first,
      // and its child must be in the next pass.
      waitUntilStopped(found);
    }
    if (stopped.size === 0) break;
    for (const pid of stopped) signal(pid, 'SIGKILL');
    killed += stopped.size;
  }
  return killed;
}

function waitUntilStopped(pids: readonly number[]): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 500; waited++) {
    const running = pids.some((pid) => {
      const state = readProcStat(pid)?.state;
      return state !== undefined && state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X';
    });
    if (!running) return;
    Atomics.wait(pause, 0, 0, 1);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Live processes (not zombies) carrying the session mark, and their descendants; never this one. */
export function sessionProcesses(id: string): number[] {
  const mark = `${SESSION_ENV}=${id}\0`;
  const parentOf = new Map<number, number>();
  const roots = new Set<number>([process.pid]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readProcStat(pid);
    if (stat === null || stat.state === 'Z' || pid === process.pid) continue;
    parentOf.set(pid, stat.ppid);
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) roots.add(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  const inSession = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (roots.has(p)) return true;
      p = parentOf.get(p);
    }
    return false;
  };
  return [...parentOf.keys()].filter(inSession);
}

/**
 * The watchdog's work once its runner is gone (watchdog.ts): true if anything was left, i.e.
 * the runner did not end normally.
 */
export function cleanUpAfter(id: string, tempRoot: string): { killed: number; removed: boolean } {
  const killed = killSession(id);
  const removed = existsSync(tempRoot);
  rmSync(tempRoot, { recursive: true, force: true });
  return { killed, removed };
}
