/**
 * The supervisor on real processes, side by side with PM2 in the same run:
 *
 * - restart latency: SIGKILL a service, until its PID file names the new process;
 * - reload latency: add one service to the config and tell the supervisor, until it runs;
 * - idle cost with 100 children: RSS, CPU time and wake-ups of the supervisor process.
 *
 * Both supervisors run the same program (`sleep`, no interpreter), restart at once, never
 * give up, and write their own logs to files. procreg is the real CLI (`procreg run`) with
 * its production defaults otherwise (event log fsync'd per batch, pino JSON log).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile, ratioOf, type Result } from './util.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROCREG = join(ROOT, 'bin', 'procreg.js');
const PM2 = join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const BARE = join(ROOT, 'bench', 'bare-supervisor.js');
/** The bare loop spawning through procreg's own spawnChild (compiled beside this file). */
const BARE_SPAWN = join(dirname(fileURLToPath(import.meta.url)), 'bare-spawn-supervisor.js');
const BARE_NAME = 'bare Node loop';
const BARE_SPAWN_NAME = "bare loop with procreg's spawn options and output capture";
const SLEEP = ['sleep', '3600'] as const;
const TICKS_PER_S = 100; // USER_HZ on Linux: /proc/<pid>/stat times are in these

/** A supervisor under test: its own directory, its PID files, its own process. */
interface Peer {
  readonly name: string;
  /** Start supervising `services` (names), resolved once every one has a PID file. */
  start(services: readonly string[]): Promise<void>;
  pidFile(service: string): string;
  /**
   * Add one service and have the supervisor apply it. Returns once the request is made; the
   * promise settles when the requester is done (PM2's CLI run), so trials never overlap.
   */
  add(service: string): Promise<void>;
  /** The supervisor's own process (RSS, CPU). */
  pid(): number;
  stop(): Promise<void>;
}

function readPid(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/**
 * Resolves with the time (hrtime ns) at which `path` first names a PID other than `old`.
 * inotify on the directory wakes us; a 20 ms poll backs it up and is counted if it fires first.
 */
function awaitNewPid(
  path: string,
  old: number | null,
  timeoutMs = 10_000,
): Promise<{ at: bigint; polled: boolean }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (polled: boolean, err?: Error) => {
      if (done) return;
      done = true;
      watcher.close();
      clearInterval(poll);
      clearTimeout(limit);
      if (err) reject(err);
      else resolve({ at: process.hrtime.bigint(), polled });
    };
    const probe = (polled: boolean) => {
      const pid = readPid(path);
      if (pid !== null && pid !== old) finish(polled);
    };
    const name = basename(path);
    const watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === name) probe(false);
    });
    const poll = setInterval(() => probe(true), 20);
    const limit = setTimeout(
      () => finish(false, new Error(`${path}: no new PID (old ${old}) within ${timeoutMs}ms`)),
      timeoutMs,
    );
    probe(false);
  });
}

async function allRunning(peer: Peer, services: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!services.every((s) => readPid(peer.pidFile(s)) !== null)) {
    if (Date.now() > deadline)
      throw new Error(`${peer.name}: not every service started within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

class Procreg implements Peer {
  readonly name = 'procreg';
  private readonly dir = mkdtempSync(join(tmpdir(), 'procreg-bench-'));
  private readonly config = join(this.dir, 'procreg.yaml');
  private services: string[] = [];
  private proc: ChildProcess | null = null;

  private writeConfig(): void {
    const svc = (n: string) =>
      `  ${n}:\n    command: ${JSON.stringify(SLEEP)}\n    backoff: { initial: 0ms }\n` +
      `    maxRestarts: { count: 1000000, within: 1m }\n    stopTimeout: 2s\n`;
    writeAtomic(this.config, `runDir: ./run\nservices:\n${this.services.map(svc).join('')}`);
  }

  async start(services: readonly string[]): Promise<void> {
    this.services = [...services];
    this.writeConfig();
    const out = openSync(join(this.dir, 'procreg.out'), 'a');
    this.proc = spawn(process.execPath, [PROCREG, 'run', this.config, '--log-format', 'json'], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    await allRunning(this, services);
  }

  pidFile(service: string): string {
    return join(this.dir, 'run', `${service}.pid`);
  }

  async add(service: string): Promise<void> {
    this.services.push(service);
    this.writeConfig();
    this.proc?.kill('SIGHUP');
  }

  pid(): number {
    return this.proc?.pid ?? 0;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    killLeftovers(join(this.dir, 'run'));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class Pm2 implements Peer {
  readonly name = 'PM2 7';
  private readonly home = mkdtempSync(join(tmpdir(), 'pm2-bench-'));
  private readonly eco = join(this.home, 'ecosystem.json');
  private services: string[] = [];

  private cli(...args: string[]): void {
    execFileSync(process.execPath, [PM2, ...args], {
      env: { ...process.env, PM2_HOME: this.home },
      stdio: 'ignore',
      timeout: 60_000,
    });
  }

  private writeEco(): void {
    const apps = this.services.map((name) => ({
      name,
      script: SLEEP[0],
      args: SLEEP[1],
      interpreter: 'none',
      exec_mode: 'fork',
      autorestart: true,
      restart_delay: 0,
      max_restarts: 1_000_000,
      kill_timeout: 2000,
    }));
    writeAtomic(this.eco, JSON.stringify({ apps }));
  }

  async start(services: readonly string[]): Promise<void> {
    this.services = [...services];
    this.writeEco();
    this.cli('start', this.eco);
    await allRunning(this, services);
  }

  /** PM2 numbers apps in the order they are started: a service about to be added gets the next id. */
  pidFile(service: string): string {
    const known = this.services.indexOf(service);
    return join(this.home, 'pids', `${service}-${known >= 0 ? known : this.services.length}.pid`);
  }

  /** PM2's way to apply a changed ecosystem file: `pm2 reload` starts the apps it lacks. */
  add(service: string): Promise<void> {
    this.services.push(service);
    this.writeEco();
    const child = spawn(process.execPath, [PM2, 'reload', this.eco], {
      env: { ...process.env, PM2_HOME: this.home },
      stdio: 'ignore',
    });
    return new Promise((resolve) => {
      child.on('error', () => resolve());
      child.on('exit', () => resolve());
    });
  }

  pid(): number {
    return readPid(join(this.home, 'pm2.pid')) ?? 0;
  }

  async stop(): Promise<void> {
    try {
      this.cli('kill');
    } catch {
      // the daemon may already be gone; leftovers are killed below
    }
    killLeftovers(join(this.home, 'pids'));
    const god = this.pid();
    if (god) killQuietly(god);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/**
 * The physical limit: bench/bare-supervisor.js, respawn on `exit` + write and rename a PID file
 * (stdio ignored). With `spawnAsProcreg`, bench/bare-spawn-supervisor.ts: the same loop, each
 * spawn through procreg's spawnChild (own process group, whole environment, stdout and stderr
 * on pipes whose lines it reads): what of procreg's restart is output capture, not bookkeeping.
 */
class Bare implements Peer {
  readonly name: string;
  private readonly dir = mkdtempSync(join(tmpdir(), 'bare-bench-'));
  private readonly script: string;
  private services: string[] = [];
  private proc: ChildProcess | null = null;

  constructor(spawnAsProcreg = false) {
    this.name = spawnAsProcreg ? BARE_SPAWN_NAME : BARE_NAME;
    this.script = spawnAsProcreg ? BARE_SPAWN : BARE;
  }

  async start(services: readonly string[]): Promise<void> {
    this.services = [...services];
    this.proc = spawn(process.execPath, [this.script, this.dir, String(services.length), ...SLEEP], {
      stdio: 'ignore',
    });
    await allRunning(this, services);
  }

  pidFile(service: string): string {
    return join(this.dir, `s${this.services.indexOf(service)}.pid`);
  }

  add(): Promise<void> {
    return Promise.reject(new Error('the bare loop has no reload'));
  }

  pid(): number {
    return this.proc?.pid ?? 0;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    killLeftovers(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function killQuietly(pid: number, group = false): void {
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Whatever a PID file in `dir` still names is killed, so a failed run leaves nothing behind. */
function killLeftovers(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.pid')) continue;
    const pid = readPid(join(dir, f));
    if (pid !== null) {
      killQuietly(pid, true);
      killQuietly(pid);
    }
  }
}

/** utime + stime of the process, all threads, in ms; RSS in bytes; voluntary+involuntary switches. */
export function sample(pid: number): { cpuMs: number; rss: number; switches: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  let switches = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    switches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
    switches += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
  }
  return { cpuMs, rss, switches };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withPeers<T>(
  fn: (peers: Peer[]) => Promise<T>,
  bare: 'none' | 'bare' | 'both' = 'none',
): Promise<T> {
  const peers: Peer[] = [
    new Procreg(),
    new Pm2(),
    ...(bare === 'none' ? [] : [new Bare()]),
    ...(bare === 'both' ? [new Bare(true)] : []),
  ];
  try {
    return await fn(peers);
  } finally {
    for (const p of peers) await p.stop();
  }
}

/** SIGKILL → new PID file in place; trials alternate between the peers so drift hits both alike. */
export async function restartBench(opts: { trials: number }): Promise<Result[]> {
  return withPeers(async (peers) => {
    for (const p of peers) await p.start(['svc']);
    const ms = new Map<Peer, number[]>(peers.map((p) => [p, []]));
    const polled = new Map<Peer, number>(peers.map((p) => [p, 0]));
    const cpuBefore = peers.map((p) => sample(p.pid()).cpuMs);
    for (let i = 0; i < opts.trials; i++) {
      for (const p of peers) {
        const path = p.pidFile('svc');
        const old = readPid(path);
        if (old === null) throw new Error(`${p.name}: no PID file before trial ${i}`);
        const seen = awaitNewPid(path, old);
        const t0 = process.hrtime.bigint();
        process.kill(old, 'SIGKILL');
        const { at, polled: byPoll } = await seen;
        ms.get(p)?.push(Number(at - t0) / 1e6);
        if (byPoll) polled.set(p, (polled.get(p) ?? 0) + 1);
        await pause(100); // let the supervisor finish its bookkeeping before the next kill
      }
    }
    await pause(200); // the last restart's bookkeeping after its PID file
    // Each supervisor's CPU time (utime + stime) over all its trials, per restart: it includes
    // what comes after the PID file (the pipe readers, the rest of the log), not idle time.
    const cpu = peers.map((p, i) => (sample(p.pid()).cpuMs - (cpuBefore[i] as number)) / opts.trials);
    const cpuOf = (name: string) => cpu[peers.findIndex((p) => p.name === name)] ?? NaN;
    const med = (name: string) => median(ms.get(peers.find((p) => p.name === name) as Peer) ?? []);
    const ours = med('procreg');
    return peers.flatMap((p, i) => {
      const xs = ms.get(p) ?? [];
      const note = polled.get(p) ? ` (${polled.get(p)} seen by the 20 ms poll)` : '';
      const c = `SIGKILL → new PID file, ${xs.length} trials${note}`;
      const mine = p.name === 'procreg';
      const m = median(xs);
      const p99 = percentile(xs, 99);
      return [
        {
          bench: 'restart',
          case: c,
          impl: `${p.name} median`,
          value: m,
          unit: 'ms',
          ...(mine
            ? {
                target: '<= 1.3x bare, <= 0.6x PM2',
                ratio:
                  `${ratioOf(ours, med(BARE_NAME))} bare, ${ratioOf(ours, med('PM2 7'))} PM2, ` +
                  `${ratioOf(ours, med(BARE_SPAWN_NAME))} bare with procreg's spawn`,
              }
            : {}),
        },
        {
          bench: 'restart',
          case: c,
          impl: `${p.name} p99`,
          value: p99,
          unit: 'ms',
          ...(mine ? { target: '<= 3x own median', ratio: `${ratioOf(p99, m)} own median` } : {}),
        },
        {
          bench: 'restart',
          case: c,
          impl: `${p.name} CPU per restart`,
          value: cpu[i] as number,
          unit: 'ms',
          ...(mine
            ? {
                ratio:
                  `${ratioOf(cpu[i] as number, cpuOf(BARE_NAME))} bare, ` +
                  `${ratioOf(cpu[i] as number, cpuOf(BARE_SPAWN_NAME))} bare with procreg's spawn`,
              }
            : {}),
        },
      ];
    });
  }, 'both');
}

/** Add one service and tell the supervisor (procreg: SIGHUP; PM2: `pm2 reload <ecosystem>`). */
export async function reloadBench(opts: { trials: number }): Promise<Result[]> {
  return withPeers(async (peers) => {
    for (const p of peers) await p.start(['base']);
    const ms = new Map<Peer, number[]>(peers.map((p) => [p, []]));
    for (let i = 0; i < opts.trials; i++) {
      for (const p of peers) {
        const name = `added${i}`;
        const seen = awaitNewPid(p.pidFile(name), null, 30_000);
        const t0 = process.hrtime.bigint();
        const requested = p.add(name);
        const { at } = await seen;
        ms.get(p)?.push(Number(at - t0) / 1e6);
        await requested;
        await pause(100);
      }
    }
    return peers.map((p) => ({
      bench: 'reload',
      case: `add one service → it runs, ${opts.trials} trials`,
      impl: p.name === 'procreg' ? 'procreg (SIGHUP)' : `${p.name} (pm2 reload, a CLI run)`,
      value: median(ms.get(p) ?? []),
      unit: 'ms',
      ...(p.name === 'procreg' ? { target: '<= 50' } : {}),
    }));
  });
}

/** 100 idle children each; RSS at the end, CPU time and context switches over the window. */
export async function idleBench(opts: {
  children: number;
  windowMs: number;
  quietMs: number;
  settleMaxMs: number;
}): Promise<Result[]> {
  return withPeers(async (peers) => {
    const names = Array.from({ length: opts.children }, (_, i) => `s${i}`);
    for (const p of peers) await p.start(names);
    // After start-up V8 keeps collecting for a while (its memory reducer): the window starts once
    // neither supervisor has used any CPU for `quietMs` running (12 s; waiting at most
    // `settleMaxMs`, 120 s), so it measures idling — and not before a minute after the start
    // (at most settleMaxMs): the reducer's last GC came ~25 s after start-up, after 12 quiet
    // seconds (strace of procreg: one timer wake-up, then GC threads, nothing else), and was
    // counted as 50 ms of idle CPU.
    const settleDeadline = Date.now() + opts.settleMaxMs;
    const earliest = Date.now() + Math.min(60_000, opts.settleMaxMs);
    let last = peers.map((p) => sample(p.pid()).cpuMs);
    let quietSince = Date.now();
    while ((Date.now() - quietSince < opts.quietMs || Date.now() < earliest) && Date.now() < settleDeadline) {
      await pause(500);
      const now = peers.map((p) => sample(p.pid()).cpuMs);
      if (now.some((v, i) => v !== last[i])) quietSince = Date.now();
      last = now;
    }
    const before = peers.map((p) => sample(p.pid()));
    await pause(opts.windowMs);
    const after = peers.map((p) => sample(p.pid()));
    const s = opts.windowMs / 1000;
    const rssOf = (name: string) => (after[peers.findIndex((p) => p.name === name)]?.rss ?? NaN) / 2 ** 20;
    const ours = rssOf('procreg');
    return peers.flatMap((p, i) => {
      const a = after[i] as ReturnType<typeof sample>;
      const b = before[i] as ReturnType<typeof sample>;
      const c = `${opts.children} children, idle ${s} s`;
      const mine = p.name === 'procreg';
      return [
        {
          bench: 'idle',
          case: c,
          impl: `${p.name} RSS`,
          value: a.rss / 2 ** 20,
          unit: 'MB',
          ...(mine
            ? {
                target: '<= 50',
                ratio: `${ratioOf(ours, rssOf(BARE_NAME))} bare, ${ratioOf(ours, rssOf('PM2 7'))} PM2`,
              }
            : {}),
        },
        {
          bench: 'idle',
          case: c,
          impl: `${p.name} CPU`,
          value: a.cpuMs - b.cpuMs,
          unit: `ms / ${s} s`,
          ...(mine ? { target: '~0' } : {}),
        },
        {
          bench: 'idle',
          case: c,
          impl: `${p.name} context switches`,
          value: a.switches - b.switches,
          unit: `/ ${s} s`,
        },
      ];
    });
  }, 'bare');
}
