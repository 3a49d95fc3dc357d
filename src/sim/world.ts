import { assertNever } from '../events/assert-never.js';
import { timerId } from '../events/timer-id.js';
import type { NormalizedConfig } from '../config/types.js';
import type { Effect } from '../core/effects.js';
import { RELOAD_RULE } from '../core/reload.js';
import { initialState, type State } from '../core/state.js';
import { step } from '../core/step.js';
import { stamp } from '../events/codec.js';
import {
  type DecisionRecord,
  type Event,
  type EventBody,
  type InputEvent,
  type TimerKey,
} from '../events/types.js';

/**
 * A deterministic stand-in for the shell, for tests, benchmarks and examples: it executes
 * effects on a model of processes, timers and PID files, feeds their outcomes back as
 * events, and lets a driver inject what the outside world does (exits, signals, reloads,
 * crashes) and in what order queued inputs are delivered. It touches no OS resource.
 */
export interface WorldOptions {
  readonly configs: readonly NormalizedConfig[];
  readonly startTime?: number;
  /** Probability that a spawn fails (0..1), decided by the world's seeded PRNG. */
  readonly spawnFailure?: number;
  readonly seed?: number;
  /**
   * Probability that a spawned process starts children of its own in its group (0..1): when
   * it exits without having been signalled, they outlive it until its group is signalled.
   */
  readonly lingering?: number;
  /** Keep every event in `log` (default true). */
  readonly keepLog?: boolean;
  /** Told of every event as it is appended (to stream a log to disk). */
  readonly onEvent?: (event: Event) => void;
}

interface LiveProc {
  readonly pid: number;
  readonly kind: 'service' | 'check';
  /** It has children in its group that outlive it unless the group is signalled. */
  readonly children: boolean;
  signalled: string | null;
}

export class World {
  state: State = initialState();
  seq = 0;
  time: number;
  readonly log: Event[] = [];
  /** Inputs the shell has produced but not yet delivered, in order. */
  readonly pending: InputEvent[] = [];
  readonly timers = new Map<string, { key: TimerKey; at: number }>();
  readonly live = new Map<number, LiveProc>();
  /** Process groups whose leader is gone while other members live on; watched: group-exited is due. */
  readonly groups = new Map<number, { watched: boolean }>();
  readonly files = new Map<string, number>();
  /** Every exit already delivered, for injecting duplicates. */
  readonly exitedPids: number[] = [];
  readonly firedTimers: TimerKey[] = [];
  exitRequested = false;
  /** Effects and records of the last input delivered. */
  lastEffects: readonly Effect[] = [];
  lastRecords: readonly DecisionRecord[] = [];
  private nextPid = 100;
  private rand: () => number;
  private configIndex = 0;
  private readonly keepLog: boolean;

  constructor(readonly options: WorldOptions) {
    this.time = options.startTime ?? 1_700_000_000_000;
    this.rand = mulberry32(options.seed ?? 1);
    this.keepLog = options.keepLog ?? true;
  }

  /** Stamp, log and fold one input, then execute its effects. */
  deliver(body: InputEvent): void {
    const event = this.append(body);
    const res = step(this.state, event);
    this.state = res.state;
    this.lastEffects = res.effects;
    this.lastRecords = res.records;
    for (const r of res.records) this.append(r);
    for (const e of res.effects) this.execute(e);
  }

  /** Deliver the oldest queued input; false when none is queued. */
  deliverNext(): boolean {
    const next = this.pending.shift();
    if (!next) return false;
    this.deliver(next);
    return true;
  }

  drain(limit = 10_000): void {
    for (let i = 0; i < limit && this.deliverNext(); i++);
  }

  advance(ms: number): void {
    this.time += Math.max(0, Math.floor(ms));
  }

  start(): void {
    this.deliver({ type: 'supervisor-started', pid: 1, version: 'sim', bootId: 'sim-boot' });
    this.deliver({
      type: 'config-loaded',
      source: 'sim',
      config: this.nextConfig(),
      reloadRule: RELOAD_RULE,
    });
  }

  /** Fire the earliest armed timer, moving time forward to it. */
  fireNextTimer(): boolean {
    let best: { id: string; key: TimerKey; at: number } | null = null;
    for (const [id, t] of this.timers) if (!best || t.at < best.at) best = { id, ...t };
    if (!best) return false;
    this.timers.delete(best.id);
    this.time = Math.max(this.time, best.at);
    this.firedTimers.push(best.key);
    this.pending.push({ type: 'timer-fired', timer: best.key });
    return true;
  }

  /** A live process dies on its own (or from the signal it was sent). */
  exitProcess(pick: number, how: 'clean' | 'fail' | 'signal'): boolean {
    const pids = [...this.live.keys()];
    if (pids.length === 0) return false;
    const pid = pids[pick % pids.length] as number;
    const p = this.live.get(pid) as LiveProc;
    this.live.delete(pid);
    const signal =
      p.signalled ?? (how === 'signal' ? (['SIGKILL', 'SIGSEGV', 'SIGTERM'][pick % 3] as string) : null);
    const groupAlive = p.children && p.signalled === null;
    if (groupAlive) this.groups.set(pid, { watched: false });
    this.pending.push({
      type: 'exited',
      pid,
      code: signal ? null : how === 'clean' ? 0 : 1 + (pick % 3),
      signal,
      groupAlive,
      lastWords: null,
    });
    this.exitedPids.push(pid);
    return true;
  }

  /** A process group's last members are gone: reported if the fold asked to watch it. */
  private groupGone(pid: number): void {
    const g = this.groups.get(pid);
    if (!g) return;
    this.groups.delete(pid);
    if (g.watched) this.pending.push({ type: 'group-exited', pid });
  }

  nextConfig(): NormalizedConfig {
    const c = this.options.configs[this.configIndex % this.options.configs.length] as NormalizedConfig;
    this.configIndex++;
    return c;
  }

  /** The shell's half: carry out one effect on the model and queue its outcome. */
  execute(e: Effect): void {
    switch (e.do) {
      case 'spawn':
        if (this.rand() < (this.options.spawnFailure ?? 0)) {
          this.pending.push({
            type: 'spawn-failed',
            name: e.name,
            gen: e.gen,
            incarnation: e.incarnation,
            error: 'ENOENT (simulated)',
          });
        } else {
          const pid = this.newPid('service');
          this.pending.push({
            type: 'spawned',
            name: e.name,
            gen: e.gen,
            incarnation: e.incarnation,
            pid,
            startTime: pid * 10,
            exe: '/usr/bin/sim',
          });
        }
        return;
      case 'run-check': {
        const pid = this.newPid('check');
        this.pending.push({
          type: 'check-started',
          name: e.name,
          gen: e.gen,
          run: e.run,
          pid,
          startTime: pid * 10,
          exe: '/usr/bin/sim',
        });
        return;
      }
      case 'signal-group': {
        const p = this.live.get(e.pid);
        // SIGCONT wakes a process, it does not end it.
        if (p && e.signal !== 'SIGCONT') p.signalled = e.signal;
        const lingering = this.groups.has(e.pid);
        if (lingering && e.signal !== 'SIGCONT') this.groupGone(e.pid);
        const error = p || lingering ? null : 'ESRCH';
        this.appendOutcome({ type: 'signal-sent', pid: e.pid, signal: e.signal, error });
        return;
      }
      case 'watch-group': {
        const g = this.groups.get(e.pid);
        if (g) g.watched = true;
        else this.pending.push({ type: 'group-exited', pid: e.pid });
        return;
      }
      case 'write-pidfile':
        this.files.set(e.path, e.pid);
        this.appendOutcome({ type: 'pidfile-written', path: e.path, pid: e.pid, error: null });
        return;
      case 'remove-pidfile': {
        const cur = this.files.get(e.path);
        const outcome = cur === undefined ? 'absent' : cur === e.ifPid ? 'removed' : 'not-owner';
        if (outcome === 'removed') this.files.delete(e.path);
        this.appendOutcome({ type: 'pidfile-removed', path: e.path, pid: e.ifPid, outcome, error: null });
        return;
      }
      case 'arm-timer':
        this.timers.set(timerId(e.timer), { key: e.timer, at: e.at });
        return;
      case 'cancel-timer':
        this.timers.delete(timerId(e.timer));
        return;
      case 'load-config':
        this.pending.push({
          type: 'config-loaded',
          source: 'sim',
          config: this.nextConfig(),
          reloadRule: RELOAD_RULE,
        });
        return;
      case 'reap-orphan': {
        // Not our child: its exit is never reported; the signal ends it and its group.
        const alive = this.live.delete(e.pid);
        this.groups.delete(e.pid);
        this.pending.push({
          type: 'orphan-reaped',
          pid: e.pid,
          outcome: alive ? 'signalled' : 'gone',
          detail: null,
        });
        return;
      }
      case 'exit':
        this.exitRequested = true;
        return;
      default:
        return assertNever(e);
    }
  }

  private newPid(kind: 'service' | 'check'): number {
    const pid = this.nextPid++;
    const lingering = this.options.lingering ?? 0;
    const children = lingering > 0 && this.rand() < lingering; // no draw otherwise: seeds keep their meaning
    this.live.set(pid, { pid, kind, children, signalled: null });
    return pid;
  }

  private appendOutcome(body: EventBody): void {
    // Outcomes change nothing in the fold; stepping them keeps the model honest all the same.
    const ev = this.append(body);
    this.state = step(this.state, ev).state;
  }

  private append(body: EventBody): Event {
    // Virtual time is both clocks at once: the world has no wall clock to step.
    const event = stamp(body, ++this.seq, this.time, this.time);
    if (this.keepLog) this.log.push(event);
    this.options.onEvent?.(event);
    return event;
  }
}

/** Small seeded PRNG: the world must be reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
