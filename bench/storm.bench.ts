/**
 * A crash storm (issue 15 target 5, issue 9 part 6): 300 services whose process exits every
 * 50 ms and is restarted at once. While it lasts, `procreg status` is asked again and again
 * over the control socket (what the CLI does once Node has started), and the supervisor's
 * spawns per second and CPU per spawn are measured; the bare Node loop
 * (bench/bare-supervisor.js) runs the same 300 services for the same time as the peer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, readFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryView } from '../src/core/view.js';
import { locateSupervisor } from '../src/shell/control/client.js';
import { sample } from './supervisor.bench.js';
import { median, percentile, ratioOf, type Result } from './util.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROCREG = join(ROOT, 'bin', 'procreg.js');
const BARE = join(ROOT, 'bench', 'bare-supervisor.js');
/** The storm's service: exits after 50 ms, restarted at once. */
export const CRASH = ['sleep', '0.05'] as const;
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function stopChild(p: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([exited, pause(timeoutMs)]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** One `procreg status` over the control socket: find the supervisor, ask, read the answer. */
export async function status<V extends RegistryView = RegistryView>(
  runDir: string,
): Promise<{ ms: number; view: V | null }> {
  const t0 = process.hrtime.bigint();
  const found = await locateSupervisor(runDir, 10_000);
  if (found.kind !== 'control') return { ms: NaN, view: null };
  const ans = await found.session.request('status', 10_000);
  found.session.close();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const view = ans && ans !== 'closed' && ans.ok ? (ans.status as V) : null;
  return { ms, view };
}

/**
 * `procreg run` of `services` storm services (runDir `<dir>/run`, `header` YAML lines before
 * `services:`), its output in `<dir>/procreg.out`; resolves once it answers status.
 */
export async function startStorm(
  dir: string,
  services: number,
  procs: ChildProcess[],
  header = '',
): Promise<ChildProcess> {
  const svc = (i: number) =>
    `  s${i}:\n    command: ${JSON.stringify(CRASH)}\n    backoff: { initial: 0ms }\n` +
    `    maxRestarts: { count: 1000000, within: 1s }\n`;
  const config = join(dir, 'procreg.yaml');
  writeFileSync(
    config,
    `runDir: ./run\n${header}services:\n${Array.from({ length: services }, (_, i) => svc(i)).join('')}`,
  );
  const out = openSync(join(dir, 'procreg.out'), 'a');
  const p = spawn(process.execPath, [PROCREG, 'run', config, '--log-format', 'json'], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  procs.push(p);
  const deadline = Date.now() + 240_000; // start-up under a storm on a loaded machine is slow
  while ((await status(join(dir, 'run'))).view === null) {
    if (p.exitCode !== null || Date.now() > deadline)
      throw new Error(`procreg run did not answer status: ${readFileSync(join(dir, 'procreg.out'), 'utf8')}`);
    await pause(200);
  }
  return p;
}

const restartsOf = (v: RegistryView) => v.services.reduce((n, s) => n + s.restarts, 0);

export async function stormBench(opts: { services: number; windowMs: number }): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'procreg-storm-'));
  const runDir = join(dir, 'run');
  const procs: ChildProcess[] = [];
  try {
    const p = await startStorm(dir, opts.services, procs);
    await pause(2000); // into the storm
    const before = await status(runDir);
    const cpu0 = sample(p.pid as number).cpuMs;
    const t0 = Date.now();
    const lat: number[] = [];
    let last = before;
    while (Date.now() - t0 < opts.windowMs) {
      last = await status(runDir);
      if (!Number.isNaN(last.ms)) lat.push(last.ms);
      await pause(50);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpu = sample(p.pid as number).cpuMs - cpu0;
    const spawns = last.view && before.view ? restartsOf(last.view) - restartsOf(before.view) : NaN;
    await stopChild(p);

    // The peer: the bare loop with the same services, for the same time.
    const bareDir = join(dir, 'bare');
    mkdirSync(bareDir);
    const b = spawn(process.execPath, [BARE, bareDir, String(opts.services), ...CRASH], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, BARE_COUNT: '1' },
    });
    procs.push(b);
    let said = '';
    b.stdout?.setEncoding('utf8').on('data', (s: string) => (said = (said + s).slice(-200)));
    // The bare loop prints its spawn count every 100 ms: the latest whole line.
    const count = (): number => Number(said.trimEnd().split('\n').pop());
    await pause(2000);
    const bs0 = count();
    const bcpu0 = sample(b.pid as number).cpuMs;
    const bt0 = Date.now();
    await pause(opts.windowMs);
    const bs = count() - bs0;
    const bcpu = sample(b.pid as number).cpuMs - bcpu0;
    const bseconds = (Date.now() - bt0) / 1000;
    await stopChild(b);

    const c = `${opts.services} services exiting every 50 ms, ${Math.round(seconds)} s`;
    const cpuPerSpawn = cpu / spawns;
    const bareCpuPerSpawn = bcpu / bs;
    return [
      {
        bench: 'storm',
        case: c,
        impl: `procreg status median (${lat.length} asked)`,
        value: median(lat),
        unit: 'ms',
        target: '<= 100',
      },
      { bench: 'storm', case: c, impl: 'procreg status p99', value: percentile(lat, 99), unit: 'ms' },
      {
        bench: 'storm',
        case: c,
        impl: 'procreg spawns/s',
        value: spawns / seconds,
        unit: 'spawns/s',
        ratio: `${ratioOf(spawns / seconds, bs / bseconds)} bare`,
      },
      { bench: 'storm', case: c, impl: 'bare Node loop spawns/s', value: bs / bseconds, unit: 'spawns/s' },
      {
        bench: 'storm',
        case: c,
        impl: 'procreg CPU per spawn',
        value: cpuPerSpawn,
        unit: 'ms',
        ratio: `${ratioOf(cpuPerSpawn, bareCpuPerSpawn)} bare`,
      },
      { bench: 'storm', case: c, impl: 'bare Node loop CPU per spawn', value: bareCpuPerSpawn, unit: 'ms' },
      {
        bench: 'storm',
        case: c,
        impl: 'procreg CPU',
        value: (100 * cpu) / (seconds * 1000),
        unit: '% of a core',
      },
    ];
  } finally {
    for (const p of procs) await stopChild(p);
    rmSync(dir, { recursive: true, force: true });
  }
}
