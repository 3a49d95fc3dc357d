import type { CheckDef, NormalizedConfig, ServiceDef } from '../config/types.js';
import type { Gen, Pid, TimerKey } from '../events/types.js';
import { compareStrings, OrderedMap } from '../tree/ordered-map.js';
import { emptyPidTree, type PidTree } from '../tree/pid-tree.js';

/** A stop in progress: the signal sent and when SIGKILL follows. */
export interface Stopping {
  readonly signal: string;
  readonly since: number;
  readonly killAt: number;
}

/**
 * One live process in the PID tree. An entry carries everything needed to finish with its
 * process (PID file path, stop signal, timeouts), so nothing pending ever has to reach
 * back into a config generation that a reload may have replaced.
 */
export type Entry = ServiceEntry | CheckEntry;

export interface ServiceEntry {
  readonly kind: 'service';
  readonly pid: Pid;
  readonly name: string;
  readonly gen: Gen;
  readonly incarnation: number;
  /** Supervisor instance that spawned it; lower than the state's instance = left by a crashed predecessor. */
  readonly instance: number;
  readonly startedAt: number;
  readonly startTime: number | null;
  readonly pidFile: string | null;
  readonly stopSignal: string;
  readonly stopTimeoutMs: number;
  readonly stopping: Stopping | null;
}

export interface CheckEntry {
  readonly kind: 'check';
  readonly pid: Pid;
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  readonly instance: number;
  readonly startedAt: number;
  readonly startTime: number | null;
  readonly deadline: number;
  readonly killAfterMs: number;
  readonly timedOut: boolean;
  readonly stopping: Stopping | null;
}

export type ServicePhase =
  | 'starting'
  | 'running'
  | 'stopping'
  | 'backoff'
  | 'stopped'
  | 'given-up'
  | 'failed';

export interface ExitInfo {
  readonly pid: Pid | null;
  readonly code: number | null;
  readonly signal: string | null;
  readonly error: string | null;
  readonly time: number;
}

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
  readonly restartAfterExit: 'reload' | 'check-failed' | 'requested' | null;
  readonly restarts: number;
  /** Times of the restarts that still count towards maxRestarts. */
  readonly recentRestarts: readonly number[];
  /** Consecutive incarnations that died before backoff.resetAfter: the backoff exponent. */
  readonly quickFailures: number;
  readonly startedAt: number | null;
  readonly lastExit: ExitInfo | null;
  /** PID that the fold last told the shell to write into the PID file; null once removal was ordered. */
  readonly pidFilePid: Pid | null;
  /** The one timer armed for this service (backoff), if any. */
  readonly timer: TimerKey | null;
  /** Why the service is stopped, failed or given up. */
  readonly reason: string | null;
}

export interface CheckResult {
  readonly run: number;
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
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
}

export type SupervisorPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface State {
  /** Supervisor instances seen in the log (+1 per supervisor-started). */
  readonly instance: number;
  readonly phase: SupervisorPhase;
  /** Current generation; 0 before the first config. Never reused, also across instances. */
  readonly gen: Gen;
  readonly config: NormalizedConfig | null;
  /** idle, a config load under way, or under way with another request that came in meanwhile. */
  readonly reload: 'idle' | 'loading' | 'loading-again';
  readonly procs: PidTree<Entry>;
  readonly services: OrderedMap<string, ServiceStatus>;
  readonly checks: OrderedMap<string, CheckStatus>;
}

export function initialState(): State {
  return {
    instance: 0,
    phase: 'idle',
    gen: 0,
    config: null,
    reload: 'idle',
    procs: emptyPidTree<Entry>(),
    services: OrderedMap.empty<string, ServiceStatus>(compareStrings),
    checks: OrderedMap.empty<string, CheckStatus>(compareStrings),
  };
}
