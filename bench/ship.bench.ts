// Issue 16: events/s `procreg ship` moves from a storm log's files to a local JetStream
// (nats-server -js on a free port, its store in a temp dir), side by side with the naive peer:
// the same lines published one at a time, each awaited. Both in one run, on one server.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SHIP_STREAM } from '../src/config/ship.js';
import { encodeEvent } from '../src/events/codec.js';
import type { Event } from '../src/events/types.js';
import { LogReader } from '../src/shell/debug/read-log.js';
import { allFiles, listLogFiles } from '../src/shell/event-log/segments.js';
import { JetStreamSink } from '../src/shell/fleet/jetstream-sink.js';
import { loadNats } from '../src/shell/fleet/nats.js';
import { shipLog } from '../src/shell/fleet/shipper.js';
import { stormConfig, stormServices, writeStormLog } from './storm-log.js';
import { sample } from './supervisor.bench.js';
import { benchTempDir, freePort, onInterrupt, ratioOf, type Result } from './util.js';

/** bin/procreg.js, from dist-bench/bench. */
const BIN = fileURLToPath(new URL('../../bin/procreg.js', import.meta.url));

export async function startNats(dir: string, port: number): Promise<ChildProcess> {
  const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (d) => {
      err += String(d);
      if (err.includes('Server is ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${err}`)));
  });
  proc.stderr?.resume();
  return proc;
}

/** Every event of the log on the stream, once: a fast shipper that loses events measures nothing. */
async function expectAllShipped(mods: Awaited<ReturnType<typeof loadNats>>, url: string, events: number) {
  const nc = await mods.transport.connect({ servers: url });
  try {
    const jsm = await mods.jetstream.jetstreamManager(nc);
    const info = await jsm.streams.info(DEFAULT_SHIP_STREAM, { subjects_filter: 'procreg.ev.>' });
    const held = Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
    if (held !== events) throw new Error(`ship bench: the stream holds ${held} events of ${events}`);
  } finally {
    await nc.close();
  }
}

export async function shipBench(o: { events: number; peerEvents: number }): Promise<Result[]> {
  const dir = benchTempDir('procreg-bench-ship-');
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  const config = stormConfig({ runDir, services: stormServices(300) }, dir);
  const written = await writeStormLog({
    config,
    events: o.events,
    policy: { segmentSize: 64 * 1024 ** 2, snapshotEvery: { events: 50_000, bytes: 16 * 1024 ** 2 } },
  });
  const port = await freePort();
  const nats = await startNats(join(dir, 'js'), port);
  const stop = onInterrupt(async () => void nats.kill('SIGKILL'));
  const url = `nats://127.0.0.1:${port}`;
  const mods = await loadNats();
  try {
    const natsCpu0 = sample(nats.pid as number).cpuMs;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await shipLog({
      live: config.eventLog,
      host: 'bench',
      to: url,
      stream: DEFAULT_SHIP_STREAM,
      once: true,
      signal: new AbortController().signal,
      openSink: () => JetStreamSink.open(mods, url, DEFAULT_SHIP_STREAM),
      io: { out: () => {}, err: (t) => process.stderr.write(`${t}\n`) },
    });
    const shipRate = written.events / ((performance.now() - t0) / 1000);
    // CPU per event, the shipper's and the broker's: what the machine's load does not change.
    const cpu = process.cpuUsage(cpu0);
    const shipCpuUs = (cpu.user + cpu.system) / written.events;
    const natsCpuUs = ((sample(nats.pid as number).cpuMs - natsCpu0) * 1000) / written.events;
    await expectAllShipped(mods, url, written.events);

    // The peer: the same lines, one publish at a time, each awaited before the next.
    const lines: string[] = [];
    for (const f of allFiles(listLogFiles(config.eventLog))) {
      for await (const e of new LogReader(f.path).events(true)) {
        lines.push(encodeEvent(e as Event));
        if (lines.length >= o.peerEvents) break;
      }
      if (lines.length >= o.peerEvents) break;
    }
    const nc = await mods.transport.connect({ servers: url });
    const js = mods.jetstream.jetstream(nc);
    const t1 = performance.now();
    for (const [i, line] of lines.entries())
      await js.publish('procreg.ev.peer.x', line, { msgID: `peer:${i}` });
    const peerRate = lines.length / ((performance.now() - t1) / 1000);
    await nc.close();
    // Reading it back: fleet status folds from the newest snapshot, replay the whole subject.
    const cli = (...args: string[]) => {
      const t = performance.now();
      execFileSync(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
      return performance.now() - t;
    };
    const statusMs = cli('fleet', 'status', url);
    const replayMs = cli('replay', url);
    const bytesPerEvent = written.bytes / written.events;
    return [
      {
        bench: 'ship',
        case: `${written.events} storm events, ${bytesPerEvent.toFixed(0)} bytes/event`,
        impl: 'procreg ship --once (a window in flight per 1 MB read)',
        value: shipRate,
        unit: 'events/s',
        target: '>= 100k/s',
        ratio: `${ratioOf(shipRate, peerRate)} awaited`,
      },
      {
        bench: 'ship',
        case: `${written.events} storm events, ${bytesPerEvent.toFixed(0)} bytes/event`,
        impl: 'procreg ship CPU per event',
        value: shipCpuUs,
        unit: 'µs',
      },
      {
        bench: 'ship',
        case: `${written.events} storm events, ${bytesPerEvent.toFixed(0)} bytes/event`,
        impl: 'nats-server CPU per event (storing them)',
        value: natsCpuUs,
        unit: 'µs',
      },
      {
        bench: 'ship',
        case: `reading ${written.events} events back (one host)`,
        impl: 'procreg fleet status (from the newest snapshot)',
        value: statusMs,
        unit: 'ms',
        ratio: `${ratioOf(statusMs, replayMs)} replay`,
      },
      {
        bench: 'ship',
        case: `reading ${written.events} events back (one host)`,
        impl: 'procreg replay nats://… (the whole subject)',
        value: replayMs,
        unit: 'ms',
      },
      {
        bench: 'ship',
        case: `first ${lines.length} of them`,
        impl: 'peer: one publish at a time, each awaited',
        value: peerRate,
        unit: 'events/s',
      },
    ];
  } finally {
    nats.kill('SIGKILL');
    stop();
  }
}
