// What interval snapshots cost the fold (issue 11), on the storm workload (bench/storm-log.ts):
// - live: the supervisor's per-event work — fold each input through `step`, encode every
//   line — with and without a snapshot of the registry (snapshotState + encode) at the policy's
//   points, the same events in the same run;
// - replay: read + decode + fold a log file with interval snapshots against the same events
//   without them (a reader folds every snapshot it meets: it replaces the registry).
// The cost is the ratio of the two throughputs, counted on the events both have.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EventLogPolicy } from '../src/config/types.js';
import { EVENT_LOG_POLICY_DEFAULT } from '../src/config/types.js';
import { Replayer } from '../src/core/replay.js';
import { snapshotState } from '../src/core/snapshot.js';
import type { State } from '../src/core/state.js';
import { step } from '../src/core/step.js';
import { encodeEvent, stamp } from '../src/events/codec.js';
import { type Event, isDecision } from '../src/events/types.js';
import { readLogBatches } from '../src/shell/event-log/reader.js';
import { World } from '../src/sim/world.js';
import { stormConfig, stormServices, writeStormLog } from './storm-log.js';
import { benchTempDir, median, type Result } from './util.js';

type Every = EventLogPolicy['snapshotEvery'];
const NEVER: Every = { events: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER };

/**
 * CPU seconds of this process (user + system): on a machine shared with other jobs, the
 * work done, where wall time would also count the waits for a core.
 */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The storm's events in memory, and the registry before the first. */
function recordStorm(dir: string, events: number): { s0: State; events: Event[] } {
  const config = stormConfig({ runDir: join(dir, 'run'), services: stormServices(300) }, dir);
  const w = new World({ configs: [config], seed: 5, keepLog: true });
  const s0 = w.state;
  w.start();
  w.drain();
  let k = 0;
  const names = Object.keys(config.services);
  while (w.seq < events) {
    w.advance(k++ % 7);
    const pid = w.state.services.get(names[(k * 7919) % names.length] as string)?.pid;
    if (pid != null && w.live.delete(pid)) {
      w.pending.push({ type: 'exited', pid, code: 1, signal: null, groupAlive: false, lastWords: null });
      w.drain();
    }
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const t of w.timers.values()) if (t.at < next) next = t.at;
      if (next > w.time) break;
      w.fireNextTimer();
      w.drain();
    }
  }
  return { s0, events: w.log };
}

/** The supervisor's work per event: fold inputs, encode every line; a snapshot where the policy says. Returns seconds. */
function live(s0: State, events: readonly Event[], every: Every): { seconds: number; snapshots: number } {
  const t0 = cpuSeconds();
  let s = s0;
  let sinceEvents = 0;
  let sinceBytes = 0;
  let bytes = 0;
  let snapshots = 0;
  for (const e of events) {
    const decision = isDecision(e);
    // Between two inputs (the sink's checkpoint): a snapshot once enough was written since the last.
    if (!decision && (sinceEvents >= every.events || sinceBytes >= every.bytes)) {
      const snap = stamp(
        { type: 'snapshot', logId: 'bench', cause: 'interval', state: snapshotState(s, s.seq) },
        e.seq,
        e.time,
        e.mono,
      );
      bytes += encodeEvent(snap).length;
      snapshots++;
      sinceEvents = 0;
      sinceBytes = 0;
    }
    if (!decision) s = step(s, e).state;
    const n = encodeEvent(e).length + 1;
    bytes += n;
    sinceEvents++;
    sinceBytes += n;
  }
  if (bytes === 0) throw new Error('nothing encoded');
  return { seconds: cpuSeconds() - t0, snapshots };
}

async function replay(path: string): Promise<{ seconds: number; events: number; snapshots: number }> {
  const t0 = cpuSeconds();
  const r = new Replayer();
  let snapshots = 0;
  for await (const batch of readLogBatches(path)) {
    if (batch.problems.length > 0) throw new Error(`${path}: ${batch.problems[0]?.message}`);
    for (const e of batch.events) {
      if (e.type === 'snapshot' && e.cause === 'interval') snapshots++;
      r.push(e);
    }
  }
  const res = r.result();
  return { seconds: cpuSeconds() - t0, events: res.events - snapshots, snapshots };
}

/** The default before issue 11 measured it: a snapshot of a 300-service storm every 10k events cost 15-25 %. */
export const OLD_DEFAULT: Every = { events: 10_000, bytes: 4 * 1024 ** 2 };

export async function snapshotsBench(opts: {
  rounds: number;
  quick: boolean;
  /** Other intervals to measure beside the default (and the default before issue 11). */
  candidates?: Every[];
}): Promise<Result[]> {
  const tmp = benchTempDir('procreg-bench-snapshots-');
  const n = opts.quick ? 100_000 : 400_000;
  const named: [string, Every][] = [
    ['none', NEVER],
    ['default', EVENT_LOG_POLICY_DEFAULT.snapshotEvery],
    ...(sameEvery(EVENT_LOG_POLICY_DEFAULT.snapshotEvery, OLD_DEFAULT)
      ? []
      : [['default before issue 11', OLD_DEFAULT] as [string, Every]]),
    ...(opts.candidates ?? []).map((e): [string, Every] => ['candidate', e]),
  ];
  const policies = named.map(([name, every]) => ({
    label: name === 'none' ? 'no interval snapshots' : `${name}: ${fmtEvery(every)}`,
    every,
    live: [] as number[],
    liveSnapshots: 0,
    replay: [] as number[],
    replaySnapshots: 0,
    replayEvents: 0,
    path: '',
    bytes: 0,
  }));
  const out: Result[] = [];

  // Live: the same recorded events, folded with and without snapshots, interleaved.
  const { s0, events } = recordStorm(tmp, n);
  live(s0, events, NEVER); // warm-up
  for (let i = 0; i < opts.rounds; i++)
    for (const p of policies) {
      const r = live(s0, events, p.every);
      p.live.push(r.seconds);
      p.liveSnapshots = r.snapshots;
    }
  const liveBase = median((policies[0] as (typeof policies)[0]).live);
  for (const p of policies) {
    const m = median(p.live);
    out.push({
      bench: 'snapshots',
      case: `live: fold inputs + encode lines, ${events.length} storm events`,
      impl: `${p.label}${p.liveSnapshots ? ` (${p.liveSnapshots} snapshots)` : ''}`,
      value: events.length / m,
      unit: 'events/s',
      ...(p.every === NEVER ? {} : { target: `cost ${pct(m / liveBase - 1)}; < 5 %` }),
    });
  }

  // Replay: a log file with interval snapshots against the same events without.
  for (const [k, p] of policies.entries()) {
    const dir = join(tmp, `replay-${k}`);
    mkdirSync(join(dir, 'run'), { recursive: true, mode: 0o700 });
    const config = stormConfig({ runDir: join(dir, 'run'), services: stormServices(300) }, dir);
    // One segment (no rotation): only the interval snapshots differ.
    await writeStormLog({
      config,
      events: n,
      policy: { segmentSize: Number.MAX_SAFE_INTEGER, snapshotEvery: p.every },
    });
    p.path = config.eventLog;
    p.bytes = statSync(p.path).size;
  }
  await replay((policies[0] as (typeof policies)[0]).path); // warm-up
  for (let i = 0; i < opts.rounds; i++)
    for (const p of policies) {
      const r = await replay(p.path);
      p.replay.push(r.seconds);
      p.replaySnapshots = r.snapshots;
      p.replayEvents = r.events;
    }
  const base = policies[0] as (typeof policies)[0];
  const baseRate = base.replayEvents / median(base.replay);
  for (const p of policies) {
    const rate = p.replayEvents / median(p.replay);
    out.push({
      bench: 'snapshots',
      case: `replay: read + decode + fold, ${base.replayEvents} storm events`,
      impl: `${p.label}${p.replaySnapshots ? ` (${p.replaySnapshots} snapshots)` : ''}`,
      value: rate,
      unit: 'events/s',
      ...(p === base ? {} : { target: `cost ${pct(baseRate / rate - 1)}; < 5 %` }),
    });
  }
  // Size: the same files, bytes per event of the workload (snapshot lines are overhead, not events).
  for (const p of policies)
    out.push({
      bench: 'size',
      case: `${base.replayEvents} storm events`,
      impl: `${p.label}${p.replaySnapshots ? ` (${p.replaySnapshots} snapshots)` : ''}`,
      value: p.bytes / p.replayEvents,
      unit: 'bytes/event',
      target: p === base ? fmtMB(p.bytes) : `${fmtMB(p.bytes)}, snapshots ${pct(p.bytes / base.bytes - 1)}`,
    });
  return out;
}

function sameEvery(a: Every, b: Every): boolean {
  return a.events === b.events && a.bytes === b.bytes;
}

function fmtEvery(e: Every): string {
  return `${e.events} events / ${fmtMB(e.bytes)}`;
}
function fmtMB(b: number): string {
  return `${(b / 1024 ** 2).toFixed(b < 10 * 1024 ** 2 ? 1 : 0)} MB`;
}
function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
