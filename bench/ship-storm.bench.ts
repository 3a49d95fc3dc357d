/**
 * Issue 16: shipping under the 300-service crash storm of bench/storm.bench.ts. A real
 * `procreg run` with `ship:` to a local nats-server (started here, its store in a temp dir);
 * while the storm lasts the shipping lag is read from `procreg status` (the shipper's cursor),
 * and the storm's spawns per second, the crash-to-respawn latency they imply and procreg's CPU
 * per spawn are measured in windows that alternate between the shipper running and stopped
 * (`procreg stop procreg-ship`; with, without, without, with, …), in the same supervisor: "no supervision was delayed" is their
 * ratio.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHIP_SERVICE } from '../src/config/ship.js';
import type { RegistryView } from '../src/core/view.js';
import type { ShipLag } from '../src/shell/supervisor/supervisor.js';
import { startNats } from './ship.bench.js';
import { pause, startStorm, status as stormStatus, stopChild } from './storm.bench.js';
import { sample } from './supervisor.bench.js';
import { freePort, median, onInterrupt, percentile, ratioOf, type Result } from './util.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROCREG = join(ROOT, 'bin', 'procreg.js');
const CRASH_MS = 50;

type Status = RegistryView & { ship?: ShipLag };
const status = (runDir: string) => stormStatus<Status>(runDir);

/** Spawns of the storm's services (the shipper's own restarts not counted). */
const stormSpawns = (v: Status) =>
  v.services.reduce((n, s) => (s.name === SHIP_SERVICE ? n : n + s.restarts), 0);
const shipperPid = (v: Status) => v.services.find((s) => s.name === SHIP_SERVICE)?.pid ?? null;

interface Window {
  readonly shipping: boolean;
  readonly seconds: number;
  readonly spawns: number;
  readonly cpuMs: number;
  readonly shipperCpuMs: number;
  readonly natsCpuMs: number;
  readonly statusMs: number[];
}

export async function shipStormBench(o: {
  services: number;
  /** Each measured window, ms; `pairs` of them with the shipper and without, alternating. */
  windowMs: number;
  pairs: number;
}): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'procreg-ship-storm-'));
  const runDir = join(dir, 'run');
  const procs: ChildProcess[] = [];
  const stop = onInterrupt(async () => {
    for (const p of procs) p.kill('SIGKILL');
  });
  try {
    const port = await freePort();
    const nats = await startNats(join(dir, 'js'), port);
    procs.push(nats);
    const p = await startStorm(
      dir,
      o.services,
      procs,
      `host: bench\nship: { to: nats://127.0.0.1:${port} }\n`,
    );
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [PROCREG, ...args, '--run-dir', runDir], { stdio: 'ignore' });

    // Into the storm, with the shipper caught up (its backlog from start-up shipped).
    const caughtUp = async (maxMs: number) => {
      const until = Date.now() + maxMs;
      for (;;) {
        const s = await status(runDir);
        const lag = s.view?.ship;
        if (
          (lag && lag.shippedSeq > 0 && lag.lagSeconds !== null && lag.lagSeconds < 1) ||
          Date.now() > until
        )
          return;
        await pause(200);
      }
    };
    await caughtUp(60_000);

    const lagEvents: number[] = [];
    const lagSeconds: number[] = [];
    const windows: Window[] = [];
    // With, without, without, with, …: a machine whose load drifts during the run favours
    // neither.
    let running = true;
    for (let k = 0; k < 2 * o.pairs; k++) {
      const shipping = ((k + 1) >> 1) % 2 === 0;
      if (shipping) {
        if (!running) cli('start', SHIP_SERVICE);
        await caughtUp(30_000); // the backlog of the window without it: not a lag of the storm
      } else if (running) {
        cli('stop', SHIP_SERVICE);
        await pause(1000);
      }
      running = shipping;
      const before = await status(runDir);
      const shipper = before.view ? shipperPid(before.view) : null;
      const cpu0 = sample(p.pid as number).cpuMs;
      const scpu0 = shipping && shipper !== null ? sample(shipper).cpuMs : 0;
      const ncpu0 = sample(nats.pid as number).cpuMs;
      const t0 = Date.now();
      const statusMs: number[] = [];
      let last = before;
      while (Date.now() - t0 < o.windowMs) {
        last = await status(runDir);
        if (!Number.isNaN(last.ms)) statusMs.push(last.ms);
        const lag = last.view?.ship;
        if (shipping && lag && lag.lagSeconds !== null) {
          lagEvents.push(lag.lagEvents);
          lagSeconds.push(lag.lagSeconds);
        }
        await pause(100);
      }
      windows.push({
        shipping,
        seconds: (Date.now() - t0) / 1000,
        spawns: last.view && before.view ? stormSpawns(last.view) - stormSpawns(before.view) : NaN,
        cpuMs: sample(p.pid as number).cpuMs - cpu0,
        shipperCpuMs: shipping && shipper !== null ? sample(shipper).cpuMs - scpu0 : 0,
        natsCpuMs: sample(nats.pid as number).cpuMs - ncpu0,
        statusMs,
      });
    }
    await stopChild(p);

    const of = (shipping: boolean) => {
      const ws = windows.filter((w) => w.shipping === shipping);
      const seconds = ws.reduce((a, w) => a + w.seconds, 0);
      const spawns = ws.reduce((a, w) => a + w.spawns, 0);
      const rate = spawns / seconds;
      return {
        rate,
        // Each service cycles: runs 50 ms, exits, is restarted; the rest of the cycle is the restart.
        restartMs: (o.services / rate) * 1000 - CRASH_MS,
        cpuPerSpawn: ws.reduce((a, w) => a + w.cpuMs, 0) / spawns,
        shipperCpu: (100 * ws.reduce((a, w) => a + w.shipperCpuMs, 0)) / (seconds * 1000),
        natsCpu: (100 * ws.reduce((a, w) => a + w.natsCpuMs, 0)) / (seconds * 1000),
        statusMs: median(ws.flatMap((w) => w.statusMs)),
      };
    };
    const w = of(true);
    const wo = of(false);
    // Each pair's own ratio (its window with the shipper over its window without): the spread.
    const pairRatios: number[] = [];
    for (let k = 0; k + 1 < windows.length; k += 2) {
      const x = windows[k] as Window;
      const y = windows[k + 1] as Window;
      const [a, b] = x.shipping ? [x, y] : [y, x];
      pairRatios.push(a.spawns / a.seconds / (b.spawns / b.seconds));
    }
    const spread = `pairs ${Math.min(...pairRatios).toFixed(2)}-${Math.max(...pairRatios).toFixed(2)}`;
    const c = `${o.services} services exiting every 50 ms, ${o.pairs}+${o.pairs} windows of ${o.windowMs / 1000} s`;
    return [
      {
        bench: 'ship-storm',
        case: c,
        impl: `shipping lag median (${lagEvents.length} asked)`,
        value: median(lagEvents),
        unit: 'events',
      },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'shipping lag p99',
        value: percentile(lagEvents, 99),
        unit: 'events',
      },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'shipping lag median (age of the newest shipped event)',
        value: median(lagSeconds),
        unit: 's',
      },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'shipping lag p99',
        value: percentile(lagSeconds, 99),
        unit: 's',
      },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'spawns/s with the shipper',
        value: w.rate,
        unit: 'spawns/s',
        ratio: `${ratioOf(w.rate, wo.rate)} without (${spread})`,
      },
      { bench: 'ship-storm', case: c, impl: 'spawns/s without it', value: wo.rate, unit: 'spawns/s' },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'restart latency with the shipper (mean, from spawns/s)',
        value: w.restartMs,
        unit: 'ms',
        ratio: `${ratioOf(w.restartMs, wo.restartMs)} without`,
      },
      { bench: 'ship-storm', case: c, impl: 'restart latency without it', value: wo.restartMs, unit: 'ms' },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'procreg CPU per spawn with the shipper',
        value: w.cpuPerSpawn,
        unit: 'ms',
        ratio: `${ratioOf(w.cpuPerSpawn, wo.cpuPerSpawn)} without`,
      },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'procreg status median with the shipper',
        value: w.statusMs,
        unit: 'ms',
        ratio: `${ratioOf(w.statusMs, wo.statusMs)} without`,
      },
      { bench: 'ship-storm', case: c, impl: 'the shipper CPU', value: w.shipperCpu, unit: '% of a core' },
      {
        bench: 'ship-storm',
        case: c,
        impl: 'nats-server CPU with the shipper (same machine)',
        value: w.natsCpu,
        unit: '% of a core',
        ratio: `${wo.natsCpu.toFixed(1)} % without`,
      },
    ];
  } finally {
    for (const p of procs) await stopChild(p);
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
