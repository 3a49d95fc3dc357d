import type { CheckDef, NormalizedConfig, ServiceDef } from '../config/types.js';
import type { Gen, LastWords, Pid, TimerKey } from '../events/types.js';
import { HashMap } from '../tree/hash-map.js';
import { emptyPidTree, type PidTree } from '../tree/pid-tree.js';

/** A stop in progress: the signal sent, and when SIGKILL follows (monotonic ms). */
export interface Stopping {
  readonly signal: string;
  readonly since: number;
  readonly killAt: number;
}

/** How a group leader ended while the rest of its group lived on: its status, kept until the group is gone. */
export interface LeaderExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly lastWords: LastWords | null;
}

/**
 * One live process in the PID tree, keyed by its PID. An entry carries everything needed to
 * finish with its process — a service entry holds its own (immutable) definition for the
 * PID file path and stop signal, a check entry its deadline and kill delay — so nothing
 * pending ever has to reach back into a config generation that a reload has replaced.
 *
 * Entries are kept lean on purpose (see BENCHMARKS.md, memory per live entry): the PID is
 * the key, whether an entry is an orphan follows from its generation, and a stop in progress
 * lives in `State.stopping`.
 */
export type Entry = ServiceEntry | CheckEntry;

export interface ServiceEntry {
  readonly kind: 'service';
  readonly name: string;
  readonly gen: Gen;
  readonly incarnation: number;
  /** Process start time as the OS reports it, to tell a reused PID apart during crash recovery. */
  readonly startTime: number | null;
  /** Its executable, to prove it is ours before crash recovery signals it. */
  readonly exe: string | null;
  /** The definition it was spawned with, or null when the registry did not want it. */
  readonly def: ServiceDef | null;
  /** The leader exited but its group lives on: the incarnation ends when the group is gone. */
  readonly leaderExit: LeaderExit | null;
}

export interface CheckEntry {
  readonly kind: 'check';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  /** Monotonic ms when the run started; its duration and deadline are measured from it. */
  readonly startedMono: number;
  readonly startTime: number | null;
  readonly exe: string | null;
  /** Monotonic ms after which the run times out. */
  readonly deadline: number;
  readonly killAfterMs: number;
  readonly timedOut: boolean;
  readonly leaderExit: LeaderExit | null;
}

/**
 * waiting: a predecessor's process of the same service is still being stopped (crash
 * recovery); the new incarnation starts once its process group is gone.
 */
export type ServicePhase =
  'waiting' | 'starting' | 'running' | 'stopping' | 'backoff' | 'stopped' | 'given-up' | 'failed';

export interface ExitInfo {
  readonly pid: Pid | null;
  readonly code: number | null;
  readonly signal: string | null;
  readonly error: string | null;
  /** Wall time (epoch ms), for people. */
  readonly time: number;
  /** Monotonic ms, for durations. */
  readonly mono: number;
  /** Its last output, or where its output file stood (see the `exited` event). */
  readonly lastWords: LastWords | null;
  /** How long the incarnation ran (monotonic); null when it never started or is unknown. */
  readonly uptimeMs: number | null;
}

/** Why a restart waits for the current incarnation to exit. */
export type RestartCause = 'reload' | 'check-failed' | 'requested' | 'dependency';

export interface ServiceStatus {
  readonly name: string;
  readonly def: ServiceDef;
  /** Generation that introduced `def`; an unchanged service keeps it across reloads. */
  readonly defGen: Gen;
  readonly desired: 'up' | 'down' | 'removed';
  readonly phase: ServicePhase;
  /** PID of the current incarnation while it lives. */
  readonly pid: Pid | null;
  /** Latest incarnation requested; 0 before the first. */
  readonly incarnation: number;
  /** Generation in which the latest incarnation was requested. */
  readonly spawnGen: Gen;
  /** Start a new incarnation as soon as the current one has exited, and why. */
  readonly restartAfterExit: RestartCause | null;
  readonly restarts: number;
  /** Monotonic times of the restarts that still count towards maxRestarts. */
  readonly recentRestarts: readonly number[];
  /** Consecutive incarnations that died before backoff.resetAfter: the backoff exponent. */
  readonly quickFailures: number;
  /** When the current incarnation started: wall time for people, monotonic for its uptime. */
  readonly startedAt: number | null;
  readonly startedMono: number | null;
  readonly lastExit: ExitInfo | null;
  /**
   * The PID file the fold last told the shell to write, and the PID in it; null once its
   * removal was ordered. The path is kept: a reload that moves the file removes the old one.
   */
  readonly pidFile: { readonly path: string; readonly pid: Pid } | null;
  /** The one timer armed for this service (backoff), if any. */
  readonly timer: TimerKey | null;
  /** Why the service is stopped, failed, given up or waiting. */
  readonly reason: string | null;
  /** Wall time it entered its current phase (0 before the first). */
  readonly phaseSince: number;
  /**
   * The current incarnation looks like it daemonized itself (daemon-suspected): what to do
   * about it, the reason it fails with once its main process is gone. Null otherwise.
   */
  readonly daemonized: string | null;
}

export interface CheckResult {
  readonly run: number;
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Wall time it finished. */
  readonly time: number;
}

export interface InFlightRun {
  readonly run: number;
  readonly gen: Gen;
  readonly pid: Pid | null;
  readonly timeoutMs: number;
  readonly killAfterMs: number;
}

export interface CheckStatus {
  readonly name: string;
  readonly def: CheckDef;
  readonly defGen: Gen;
  /** Removed by a reload while a run was in flight: kept until that run exits. */
  readonly removed: boolean;
  /** Latest run requested; runs are numbered across definitions so keys never repeat. */
  readonly run: number;
  readonly inFlight: InFlightRun | null;
  readonly healthy: boolean | null;
  readonly successes: number;
  readonly failures: number;
  readonly lastResult: CheckResult | null;
  /** The interval timer armed for the next run, if any. */
  readonly timer: TimerKey | null;
  /** Paused by an operator: no new runs until resumed (or its definition changes on reload). */
  readonly paused: boolean;
  /**
   * When its `startPeriod` began (monotonic ms): runs started within startPeriodMs of it do not
   * count a failure. START_PERIOD_AT_FIRST_RUN: begins at its next run; null: none, or ended
   * by a success.
   */
  readonly startPeriodFrom: number | null;
}

/** A check's start period that begins with its first run (it reports on no service). */
export const START_PERIOD_AT_FIRST_RUN = -1;

export type SupervisorPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface State {
  /** seq of the last event folded into this state (0 for the initial state). */
  readonly seq: number;
  /** The boot the current instance runs in (see supervisor-started); null before one or where unknown. */
  readonly bootId: string | null;
  /** Supervisor instances seen in the log (+1 per supervisor-started). */
  readonly instance: number;
  /**
   * First generation of the current instance: a process whose entry carries an older
   * generation was left by a predecessor (an orphan).
   */
  readonly instanceGen: Gen;
  readonly phase: SupervisorPhase;
  /** Current generation; 0 before the first config. Never reused, also across instances. */
  readonly gen: Gen;
  readonly config: NormalizedConfig | null;
  /** idle, a config load under way, or under way with another request that came in meanwhile. */
  readonly reload: 'idle' | 'loading' | 'loading-again';
  /** Services the reload under way sends their reloadSignal once applied (`reload --services`). */
  readonly reloadSignals: readonly string[];
  readonly procs: PidTree<Entry>;
  /**
   * How many entries of `procs` a predecessor left (gen < instanceGen): kept by addProc /
   * removeProc and recounted when an instance starts or a snapshot is read, so asking "is a
   * predecessor's process of this service still here?" costs nothing when none is (it was a
   * walk of the whole tree on every spawn). Derived, not written in snapshots.
   */
  readonly orphans: number;
  /** Processes sent a stop signal and not yet exited, with when SIGKILL follows. */
  readonly stopping: PidTree<Stopping>;
  /** Per-service status by name (hash order; views sort by name). */
  readonly services: HashMap<ServiceStatus>;
  readonly checks: HashMap<CheckStatus>;
}

export function initialState(): State {
  return {
    seq: 0,
    bootId: null,
    instance: 0,
    instanceGen: 1,
    phase: 'idle',
    gen: 0,
    config: null,
    reload: 'idle',
    reloadSignals: [],
    procs: emptyPidTree<Entry>(),
    orphans: 0,
    stopping: emptyPidTree<Stopping>(),
    services: HashMap.empty<ServiceStatus>(),
    checks: HashMap.empty<CheckStatus>(),
  };
}

/** Left running by a crashed predecessor of this supervisor instance. */
export function isOrphan(state: Pick<State, 'instanceGen'>, entry: Entry): boolean {
  return entry.gen < state.instanceGen;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The one idiom for changing a status: `withService(s, patch)` / `withCheck(c, patch)`, a
 * copy from one literal listing every field, then the patch. Not immer (measured at 5x the
 * cost of this copy per field changed, see BENCHMARKS.md) and not object spread: a
 * spread of objects whose hidden classes vary (a field null here, a number there) falls off V8's fast clone
 * path; one literal listing every field gives every status one shape (measured in
 * BENCHMARKS.md: the fold ran 3-10x slower with spreads).
 */
export function copyService(s: ServiceStatus): Mutable<ServiceStatus> {
  return {
    name: s.name,
    def: s.def,
    defGen: s.defGen,
    desired: s.desired,
    phase: s.phase,
    pid: s.pid,
    incarnation: s.incarnation,
    spawnGen: s.spawnGen,
    restartAfterExit: s.restartAfterExit,
    restarts: s.restarts,
    recentRestarts: s.recentRestarts,
    quickFailures: s.quickFailures,
    startedAt: s.startedAt,
    startedMono: s.startedMono,
    lastExit: s.lastExit,
    pidFile: s.pidFile,
    timer: s.timer,
    reason: s.reason,
    phaseSince: s.phaseSince,
    daemonized: s.daemonized,
  };
}

export function withService(s: ServiceStatus, patch: Partial<ServiceStatus>): ServiceStatus {
  return Object.assign(copyService(s), patch);
}

export function copyCheck(c: CheckStatus): Mutable<CheckStatus> {
  return {
    name: c.name,
    def: c.def,
    defGen: c.defGen,
    removed: c.removed,
    run: c.run,
    inFlight: c.inFlight,
    healthy: c.healthy,
    successes: c.successes,
    failures: c.failures,
    lastResult: c.lastResult,
    timer: c.timer,
    paused: c.paused,
    startPeriodFrom: c.startPeriodFrom,
  };
}

export function withCheck(c: CheckStatus, patch: Partial<CheckStatus>): CheckStatus {
  return Object.assign(copyCheck(c), patch);
}
