// Fold throughput at 10k live processes: recorded inputs of a supervisor running 10k services
// (crash, backoff, respawn, PID files) folded through `step` in a plain loop and through the
// RxJS pipeline the shell uses (from -> scan), beside two peers: the raw PID tree alone, and
// the raw tree plus the least persistent per-service state a fold can keep. Also the cost of
// one Immer `produce` against a spread, which is why the per-event path does not use Immer.
import createRBTree, { type RBTree } from 'functional-red-black-tree';
import { produce } from 'immer';
import { from } from 'rxjs';
import { foldRegistry } from '../src/core/fold-operator.js';
import { normalizeConfig } from '../src/config/normalize.js';
import type { NormalizedConfig } from '../src/config/types.js';
import { copyService, type State } from '../src/core/state.js';
import { step } from '../src/core/step.js';
import { type Event, isDecision } from '../src/events/types.js';
import type { HashMap } from '../src/tree/hash-map.js';
import type { ServiceStatus } from '../src/core/state.js';
import { World } from '../src/sim/world.js';
import { median, ratioOf, type Result, rng } from './util.js';

export function manyServices(n: number): NormalizedConfig {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < n; i++)
    services[`svc${i}`] = {
      command: ['node', `svc${i}.js`],
      maxRestarts: { count: 1_000_000, within: '1s' },
    };
  const res = normalizeConfig({ runDir: '/run/bench', services }, { baseDir: '/srv' });
  if (!res.ok) throw new Error(JSON.stringify(res.problems.slice(0, 3)));
  return res.config;
}

/** A world with `live` services running, and `cycles` crash-restart cycles recorded after it. */
export function recordChurn(live: number, cycles: number, seed: number, onEvent?: (e: Event) => void) {
  const w = new World({
    configs: [manyServices(live)],
    seed,
    keepLog: !onEvent,
    ...(onEvent ? { onEvent } : {}),
  });
  w.start();
  w.drain(live * 4);
  const startState = w.state;
  const from = w.log.length;
  const r = rng(seed);
  const names = Object.keys(w.state.config?.services ?? {});
  for (let i = 0; i < cycles; i++) {
    const name = names[Math.floor(r() * names.length)] as string;
    const pid = w.state.services.get(name)?.pid;
    if (pid == null) continue;
    w.advance(5 + Math.floor(r() * 50));
    w.live.delete(pid);
    w.pending.push({
      type: 'exited',
      pid,
      code: null,
      signal: 'SIGKILL',
      groupAlive: false,
      lastWords: null,
    });
    w.drain();
    w.fireNextTimer();
    w.drain();
  }
  return { world: w, startState, events: w.log.slice(from) };
}

function foldLoop(s0: State, events: Event[]): number {
  let s = s0;
  let effects = 0;
  for (const e of events) {
    const r = step(s, e);
    s = r.state;
    effects += r.effects.length;
  }
  return effects;
}

interface RawEntry {
  readonly kind: 'service';
  readonly name: string;
  readonly gen: number;
  readonly incarnation: number;
  readonly startTime: number | null;
}

/** The entry the raw peers insert for a spawn, shaped like the fold's. */
function rawEntry(e: Omit<RawEntry, 'kind'>): RawEntry {
  return { kind: 'service', name: e.name, gen: e.gen, incarnation: e.incarnation, startTime: e.startTime };
}

/**
 * The peer of issue 15: a bare reducer over raw functional-red-black-tree doing the PID-tree
 * operations the fold does for the same events (an exit looks its PID up and removes it, a
 * spawn inserts an entry shaped like the fold's), and nothing else: no status map, no
 * decisions, no effects. What the fold costs on top of its tree.
 */
function rawTreeLoop(t0: RBTree<number, RawEntry>, events: Event[]): number {
  let t = t0;
  for (const e of events) {
    if (e.type === 'exited') {
      const it = t.find(e.pid);
      if (it.valid) t = it.remove();
    } else if (e.type === 'spawned') t = t.insert(e.pid, rawEntry(e));
  }
  return t.length;
}

/**
 * The floor for any fold that keeps a persistent status per service: the raw tree reducer
 * above plus, per event, one copy of the service's status (`copyService`, one field changed)
 * stored with one `HashMap.set` — the least a step can do to record what an event did to a
 * service. Outcomes that touch no service (PID files written, signals sent) change nothing here,
 * as in the fold.
 */
function rawTreeStatusLoop(
  t0: RBTree<number, RawEntry>,
  m0: HashMap<ServiceStatus>,
  events: Event[],
): number {
  let t = t0;
  let m = m0;
  for (const e of events) {
    let name: string | undefined;
    if (e.type === 'exited') {
      const it = t.find(e.pid);
      if (it.valid) {
        name = (it.value as RawEntry).name;
        t = it.remove();
      }
    } else if (e.type === 'spawned') {
      name = e.name;
      t = t.insert(e.pid, rawEntry(e));
    } else if (e.type === 'timer-fired') name = e.timer.name;
    if (name === undefined) continue;
    const s = m.get(name);
    if (s === undefined) continue;
    const c = copyService(s);
    c.restarts++;
    m = m.set(name, c);
  }
  return t.length + m.size;
}

/** A world with `live` services running, then stopped: the stop's inputs and outcomes. */
function recordStop(live: number): { startState: State; events: Event[] } {
  const w = new World({ configs: [manyServices(live)], seed: 3 });
  w.start();
  w.drain(live * 4);
  const startState = w.state;
  const from = w.log.length;
  w.deliver({ type: 'supervisor-stopping', reason: 'bench' });
  w.drain(live * 4);
  for (const pid of [...w.live.keys()]) {
    w.live.delete(pid);
    w.deliver({ type: 'exited', pid, code: null, signal: 'SIGTERM', groupAlive: false, lastWords: null });
  }
  w.drain(live * 4);
  if (!w.exitRequested) throw new Error('the stop did not finish');
  return { startState, events: w.log.slice(from).filter((e) => !isDecision(e)) };
}

function foldRx(s0: State, events: Event[]): number {
  let effects = 0;
  from(events)
    .pipe(foldRegistry(s0))
    .subscribe((r) => {
      effects += r.effects.length;
    });
  return effects;
}

export function foldBench(opts: { rounds: number; quick: boolean }): Result[] {
  const { startState, events: all } = recordChurn(10_000, opts.quick ? 20_000 : 100_000, 7);
  // Inputs only: every event is a decision (the strict figure). Inputs + outcomes: what the
  // live shell's stream carries through `step` (decision records are produced, not folded).
  const inputs = all.filter(
    (e) =>
      !isDecision(e) &&
      e.type !== 'pidfile-written' &&
      e.type !== 'pidfile-removed' &&
      e.type !== 'signal-sent',
  );
  const stream = all.filter((e) => !isDecision(e));
  if (startState.procs.size !== 10_000) throw new Error(`expected 10k live, got ${startState.procs.size}`);
  const rate = (events: Event[], fold: (s: State, e: Event[]) => number): number[] => {
    fold(startState, events); // warm-up
    const xs: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      const t0 = process.hrtime.bigint();
      fold(startState, events);
      xs.push(events.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    return xs;
  };
  let raw = createRBTree<number, RawEntry>((a, b) => a - b);
  for (const [pid, e] of startState.procs.entries())
    if (e.kind === 'service') raw = raw.insert(pid, rawEntry(e));
  const folds: Result[] = [];
  for (const [label, events] of [
    [`10k live, inputs only (${inputs.length})`, inputs],
    [`10k live, inputs + outcomes (${stream.length})`, stream],
  ] as const) {
    const peer = median(rate(events, (_s, es) => rawTreeLoop(raw, es)));
    const floor = median(rate(events, (s, es) => rawTreeStatusLoop(raw, s.services, es)));
    for (const [impl, fold] of [
      ['step() loop', foldLoop],
      ['RxJS from+scan', foldRx],
    ] as const) {
      const value = median(rate(events, fold));
      folds.push({
        bench: 'fold',
        case: label,
        impl,
        value,
        unit: 'events/s',
        target: '>= 500k/s, >= 0.8x raw tree',
        ratio: `${ratioOf(value, peer)} raw tree, ${ratioOf(value, floor)} tree+status`,
      });
    }
    folds.push({
      bench: 'fold',
      case: label,
      impl: 'raw functional-red-black-tree reducer (PID-tree ops only)',
      value: peer,
      unit: 'events/s',
    });
    folds.push({
      bench: 'fold',
      case: label,
      impl: 'raw tree + persistent status map (one status copy + HashMap.set per event)',
      value: floor,
      unit: 'events/s',
    });
  }

  // A whole stop at 10k live: supervisor-stopping, then every process's exit. Each exit looks
  // for services held back for their dependents; that was a walk of every service per exit.
  const stop = recordStop(10_000);
  const stopRates: number[] = [];
  foldLoop(stop.startState, stop.events); // warm-up
  for (let i = 0; i < opts.rounds; i++) {
    const t0 = process.hrtime.bigint();
    foldLoop(stop.startState, stop.events);
    stopRates.push(stop.events.length / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  folds.push({
    bench: 'fold',
    case: `stop of 10k live services (${stop.events.length} inputs + outcomes)`,
    impl: 'step() loop',
    value: median(stopRates),
    unit: 'events/s',
  });

  // One status update: Immer produce vs object spread.
  const status = startState.services.get('svc1');
  if (!status) throw new Error('no svc1');
  const n = 200_000;
  const immer: number[] = [];
  const spread: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    let t0 = process.hrtime.bigint();
    for (let j = 0; j < n; j++) {
      produce(status, (d) => {
        d.restarts = j;
      });
    }
    immer.push(Number(process.hrtime.bigint() - t0) / n);
    t0 = process.hrtime.bigint();
    let x = status;
    for (let j = 0; j < n; j++) x = { ...status, restarts: j };
    spread.push(Number(process.hrtime.bigint() - t0) / n + (x.restarts > n ? 1 : 0));
  }
  return [
    ...folds,
    {
      bench: 'status update',
      case: 'one ServiceStatus field',
      impl: 'immer produce',
      value: median(immer),
      unit: 'ns/op',
    },
    {
      bench: 'status update',
      case: 'one ServiceStatus field',
      impl: 'object spread',
      value: median(spread),
      unit: 'ns/op',
    },
  ];
}
