// The storm workload of issue 11 — 300 services crashing as fast as their backoff lets them —
// simulated by src/sim's World and written as procreg writes it: a segmented log (closed
// segments named by their first seq, each headed by a snapshot, interval snapshots within
// the live segment, per the event log policy) or one flat file as procreg before segments
// wrote it. The records are the library's own (stamp, encodeEvent, snapshotState), and the
// snapshots are delivered through the fold like any line, so the seq chain, `ref`s and
// snapshots are exactly what `replay --check` expects.
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { normalizeConfig } from '../src/config/normalize.js';
import { segmentName } from '../src/config/run-dir.js';
import type { EventLogPolicy, NormalizedConfig } from '../src/config/types.js';
import { snapshotState } from '../src/core/snapshot.js';
import { encodeEvent } from '../src/events/codec.js';
import type { Event, InputEvent, SnapshotCause } from '../src/events/types.js';
import { World } from '../src/sim/world.js';
import { rng } from './util.js';

/** The storm's services, as a config file would say them (JSON is YAML). */
export function stormServices(n: number): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < n; i++)
    services[`s${String(i).padStart(3, '0')}`] = {
      command: ['sleep', '3600'],
      backoff: { initial: '10ms', max: '50ms' },
      maxRestarts: { count: 1_000_000, within: '1s' },
    };
  return services;
}

export function stormConfig(raw: Record<string, unknown>, baseDir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems.slice(0, 3)));
  return res.config;
}

export interface StormLogOptions {
  readonly config: NormalizedConfig;
  /** Stop making events once this many are written (the clean stop at the end adds a few hundred). */
  readonly events: number;
  /** Segmented as procreg writes it (rotation, interval snapshots); null: one flat file, no snapshot (procreg before segments). */
  readonly policy: Pick<EventLogPolicy, 'segmentSize' | 'snapshotEvery'> | null;
  readonly logId?: string;
  readonly seed?: number;
}

export interface StormLogWritten {
  readonly events: number;
  readonly bytes: number;
  readonly segments: number;
  readonly snapshots: number;
}

/**
 * Writes a storm log to the config's eventLog path: procreg started, the storm, a clean stop.
 * 1M events take about 6 s of CPU.
 */
export async function writeStormLog(o: StormLogOptions): Promise<StormLogWritten> {
  const live = o.config.eventLog;
  const logId = o.logId ?? '00000000-0000-4000-8000-00000000b0b0';
  let fd = openSync(live, 'wx', 0o600);
  let buf = '';
  let segBytes = 0;
  let headEnd = 0;
  let firstSeq = 1;
  let sinceEvents = 0;
  let sinceBytes = 0;
  let totalBytes = 0;
  let segments = 1;
  let snapshots = 0;
  const flush = () => {
    if (buf.length > 0) writeSync(fd, buf);
    buf = '';
  };
  const w = new World({
    configs: [o.config],
    seed: o.seed ?? 11,
    keepLog: false,
    startTime: 1_790_000_000_000,
    onEvent: (e: Event) => {
      const line = `${encodeEvent(e)}\n`;
      const n = Buffer.byteLength(line);
      buf += line;
      if (buf.length > 1 << 20) flush();
      segBytes += n;
      totalBytes += n;
      sinceEvents++;
      sinceBytes += n;
    },
  });
  const snapshot = (cause: SnapshotCause) => {
    snapshots++;
    // Through the fold like any line: it replaces the registry with the very same one.
    w.deliver({
      type: 'snapshot',
      logId,
      cause,
      state: snapshotState(w.state, w.state.seq),
    } as unknown as InputEvent);
    sinceEvents = 0;
    sinceBytes = 0;
  };
  if (o.policy) snapshot('start');
  headEnd = segBytes;
  w.start();
  w.drain();
  const r = rng(o.seed ?? 11);
  const names = Object.keys(o.config.services);
  const between = () => {
    if (!o.policy) return;
    const { segmentSize, snapshotEvery } = o.policy;
    if (segBytes - headEnd >= segmentSize) {
      flush();
      closeSync(fd);
      renameSync(live, join(dirname(live), segmentName(basename(live), firstSeq)));
      fd = openSync(live, 'wx', 0o600);
      segments++;
      segBytes = 0;
      firstSeq = w.seq + 1;
      snapshot('rotation');
      headEnd = segBytes;
    } else if (sinceEvents >= snapshotEvery.events || sinceBytes >= snapshotEvery.bytes) {
      snapshot('interval');
    }
  };
  let yieldAt = 0;
  while (w.seq < o.events) {
    if (w.seq >= yieldAt) {
      // Now and then a turn of the event loop: a SIGINT handler (the temp dir's removal) can run.
      await new Promise((resolve) => setImmediate(resolve));
      yieldAt = w.seq + 50_000;
    }
    w.advance(Math.floor(r() * 7));
    const name = names[Math.floor(r() * names.length)] as string;
    const pid = w.state.services.get(name)?.pid;
    if (pid != null && w.live.delete(pid)) {
      w.pending.push({ type: 'exited', pid, code: 1, signal: null, groupAlive: false, lastWords: null });
      w.drain();
      between();
    }
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const t of w.timers.values()) if (t.at < next) next = t.at;
      if (next > w.time) break;
      w.fireNextTimer();
      w.drain();
      between();
    }
  }
  // A clean stop: every process ends on its stop signal, then procreg says it stopped.
  w.pending.push({ type: 'supervisor-stopping', reason: 'SIGTERM' });
  w.drain();
  while (w.live.size > 0 || w.pending.length > 0) {
    w.exitProcess(0, 'signal');
    w.drain();
  }
  if (!w.exitRequested) throw new Error(`storm log: the supervisor did not stop (${w.state.phase})`);
  w.deliver({ type: 'supervisor-stopped' });
  flush();
  closeSync(fd);
  return { events: w.seq, bytes: totalBytes, segments, snapshots };
}
