import type { NormalizedConfig } from '../config/types.js';
import type { Pid } from '../tree/pid-tree.js';

export type { Pid };
/** Config generation: 1 for the first config an instance loads, +1 per applied reload. */
export type Gen = number;

/**
 * Version of the log line format written today. Readers also accept version 1 lines and
 * upgrade them as they decode (see codec.ts and docs/event-log.md); any other is refused.
 */
export const LOG_FORMAT_VERSION = 2;

/**
 * What a timer was armed for. Every key names the generation and the process, incarnation
 * or run it belongs to, so a timer that fires after its owner is gone is recognised as
 * stale by comparing the key with the state — the whole fix for keepalived #2468.
 */
export type TimerKey =
  | { readonly kind: 'backoff'; readonly name: string; readonly gen: Gen; readonly incarnation: number }
  | { readonly kind: 'check-interval'; readonly name: string; readonly gen: Gen; readonly run: number }
  | {
      readonly kind: 'check-timeout';
      readonly name: string;
      readonly gen: Gen;
      readonly run: number;
      readonly pid: Pid;
    }
  | {
      readonly kind: 'stop-timeout';
      readonly pid: Pid;
      readonly name: string;
      readonly gen: Gen;
      readonly serial: number;
    };

export type TimerKind = TimerKey['kind'];

// ---------------------------------------------------------------------------------------------
// Inputs: what happens to the supervisor. The fold changes state only on these.

export interface SupervisorStarted {
  readonly type: 'supervisor-started';
  readonly pid: Pid;
  readonly version: string;
  /**
   * The kernel's boot id (/proc/sys/kernel/random/boot_id), or null where there is none:
   * monotonic times and process start times only compare within one boot, so processes a
   * predecessor left in an earlier boot are gone, never reaped.
   */
  readonly bootId: string | null;
}
export interface SupervisorStopping {
  readonly type: 'supervisor-stopping';
  readonly reason: string;
}
export interface SupervisorStopped {
  readonly type: 'supervisor-stopped';
}
/** A config to install: the first of an instance, or a reload. The fold numbers its generation. */
/**
 * How a reload decides what a changed definition does: `restart-changed` restarts every
 * changed service and resets every changed check (procreg before reloads changed only what
 * changed); `policy-in-place` applies a change of policy only in place (src/core/reload.ts).
 */
export type ReloadRule = 'restart-changed' | 'policy-in-place';
export interface ConfigLoaded {
  readonly type: 'config-loaded';
  readonly source: string;
  readonly config: NormalizedConfig;
  /**
   * The rule this load is applied by, recorded so a log replays by the rule it was written
   * under. Absent in logs from before it was recorded, which hold either rule: the fold then
   * applies `policy-in-place`, and a replay takes the rule from the reload-applied logged
   * next (src/core/reload-rule.ts).
   */
  readonly reloadRule?: ReloadRule;
}
export interface ReloadRequested {
  readonly type: 'reload-requested';
  readonly source: string;
  /**
   * Services to send their `reloadSignal` once the config is applied, when the reload leaves
   * them running (`procreg reload --services`). Absent in logs from before it existed: none.
   */
  readonly services?: readonly string[];
}
export interface ReloadFailed {
  readonly type: 'reload-failed';
  readonly reason: string;
}
export interface Spawned {
  readonly type: 'spawned';
  readonly name: string;
  readonly gen: Gen;
  readonly incarnation: number;
  readonly pid: Pid;
  /** Process start time as the OS reports it (Linux: clock ticks since boot), to tell a reused PID apart. */
  readonly startTime: number | null;
  /** The executable the process runs (/proc/<pid>/exe), to prove it is ours before reaping it. */
  readonly exe: string | null;
}
export interface SpawnFailed {
  readonly type: 'spawn-failed';
  readonly name: string;
  readonly gen: Gen;
  readonly incarnation: number;
  readonly error: string;
}
export interface CheckStarted {
  readonly type: 'check-started';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  readonly pid: Pid;
  readonly startTime: number | null;
  readonly exe: string | null;
}
export interface CheckStartFailed {
  readonly type: 'check-start-failed';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  readonly error: string;
}
export interface Exited {
  readonly type: 'exited';
  readonly pid: Pid;
  readonly code: number | null;
  readonly signal: string | null;
  /**
   * Other processes of its group (its children, which it did not take with it) were still
   * running when it exited: the incarnation ends only once the group is gone (group-exited).
   */
  readonly groupAlive: boolean;
  /**
   * What it said last, for whoever debugs the exit: its last lines when its output passed
   * through procreg (bounded by the config's lastWords), or where its output file stood
   * when it exited; null when neither applies (or in logs before these were recorded).
   */
  readonly lastWords: LastWords | null;
}
export type LastWords =
  { readonly lines: readonly string[] } | { readonly file: string; readonly offset: number };
/**
 * The main process of a service exited 0 soon after it started while processes it forked live
 * on — in its process group, or escaped into a session of their own (same program, started
 * after it, re-parented): the program looks like it daemonized itself. Reported by the shell
 * just before that exit.
 */
export interface DaemonSuspected {
  readonly type: 'daemon-suspected';
  /** The main process that exited. */
  readonly pid: Pid;
  /** The processes it left running, at most a few. */
  readonly left: readonly Pid[];
  /** They left its process group (setsid): out of procreg's reach. */
  readonly escaped: boolean;
  /** How long after its start the main process exited. */
  readonly afterMs: number;
}
/** The process group of a leader that had exited (or of a predecessor's orphan) has no member left. */
export interface GroupExited {
  readonly type: 'group-exited';
  readonly pid: Pid;
}
export interface TimerFired {
  readonly type: 'timer-fired';
  readonly timer: TimerKey;
}
/**
 * Who asked for an operator action or a reload: `SIGHUP` (a signal to procreg), `socket`
 * (the CLI, over procreg.sock), `api` (a program using the library), `sim` (the simulator).
 */
export type RequestSource = string;

/** Stop a service (and keep it down) or pause a check. */
export interface StopRequested {
  readonly type: 'stop-requested';
  readonly target: 'service' | 'check';
  readonly name: string;
  readonly source: RequestSource;
}
/** Start a stopped, failed or given-up service (its restart window and backoff reset), or resume a check. */
export interface StartRequested {
  readonly type: 'start-requested';
  readonly target: 'service' | 'check';
  readonly name: string;
  readonly source: RequestSource;
}
/** Stop then start a service: an operator's restart, not counted towards maxRestarts. */
export interface RestartRequested {
  readonly type: 'restart-requested';
  readonly name: string;
  readonly source: RequestSource;
}
/** Send a signal to a running service's process group; nothing else changes. */
export interface SignalRequested {
  readonly type: 'signal-requested';
  readonly name: string;
  readonly signal: string;
  readonly source: RequestSource;
}
export interface OrphanReaped {
  readonly type: 'orphan-reaped';
  readonly pid: Pid;
  /**
   * signalled: it was provably ours (PID, start time, process group, session, executable)
   * and got its stop signal — group-exited follows once its group is gone; gone: already dead;
   * not-ours: something at that PID is not the process we started (see detail), left alone.
   * (Logs before format 2 also say killed, or pid-reused for not-ours.)
   */
  readonly outcome: 'signalled' | 'gone' | 'not-ours' | 'killed' | 'pid-reused';
  /** What did not match, for not-ours; null otherwise. */
  readonly detail: string | null;
}

/**
 * The complete registry at this point of the log (core/snapshot.ts gives its shape and reads
 * it): a reader may start here instead of at the beginning, and the fold continues from it
 * exactly as if it had folded everything before. Folding one replaces the state with it.
 */
export interface SnapshotTaken {
  readonly type: 'snapshot';
  /**
   * The log this snapshot belongs to: a random id given when the log was started, the same in
   * every snapshot of every segment of it (a segment of another log says another id). null in
   * snapshots written before segments existed.
   */
  readonly logId: string | null;
  /**
   * Why it was written: `start`, the head of a segment begun when procreg started (the
   * instance before it may have stopped mid-step); `rotation`, the head of a segment begun
   * when the previous one was closed; `interval`, within a segment (snapshotEvery); `gap`,
   * after a log-gap. null in snapshots written before segments existed.
   */
  readonly cause: SnapshotCause | null;
  readonly state: Readonly<Record<string, unknown>>;
}
export type SnapshotCause = 'start' | 'rotation' | 'interval' | 'gap';

// ---------------------------------------------------------------------------------------------
// Effect outcomes that change nothing in the registry but belong in the record of what happened.

export interface SignalSent {
  readonly type: 'signal-sent';
  readonly pid: Pid;
  readonly signal: string;
  readonly error: string | null;
}
export interface PidfileWritten {
  readonly type: 'pidfile-written';
  readonly path: string;
  readonly pid: Pid;
  readonly error: string | null;
}
export interface PidfileRemoved {
  readonly type: 'pidfile-removed';
  readonly path: string;
  readonly pid: Pid;
  /** removed; or kept because the file names another PID, or was not there; or the error. */
  readonly outcome: 'removed' | 'not-owner' | 'absent' | 'error';
  readonly error: string | null;
}

/**
 * A discontinuity in the log, written by the shell where it could not write everything:
 * the events fromSeq..toSeq are not in this file at this point, and a `snapshot` of the
 * registry follows at once, from which a reader continues. queue-overflow: the disk refused
 * writes for longer than the in-memory queue holds, and they were dropped (lost);
 * log-replaced: the log file was moved away or deleted under a running procreg, which went on
 * in a fresh file at the configured path (the earlier events are in `previous` if it is known);
 * run-dir-removed: the runDir itself was removed, and procreg re-created it.
 */
export interface LogGap {
  readonly type: 'log-gap';
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly reason: 'queue-overflow' | 'log-replaced' | 'run-dir-removed';
  /** Where the file holding the events before the gap is now, if known; null: deleted, lost or unknown. */
  readonly previous: string | null;
}

/**
 * Output procreg could not write without stalling supervision, dropped and counted: its own
 * log on a stdout that did not drain (`output`: `procreg`), or a service's log file on a
 * disk that did not keep up (`output`: the service's name). Written once the output drains
 * again. The fold ignores it.
 */
export interface OutputDropped {
  readonly type: 'output-dropped';
  readonly output: string;
  readonly lines: number;
  readonly bytes: number;
  /** Wall time (epoch ms) of the first line dropped. */
  readonly since: number;
}

/**
 * Retention deleted closed segments of the log (oldest first), written by the shell just
 * before it deletes them: which, with their seq ranges and sizes, and the bound that made
 * each go. The fold ignores it.
 */
export interface SegmentsDeleted {
  readonly type: 'segments-deleted';
  readonly segments: readonly DeletedSegment[];
}
/**
 * Retention deleted closed segments the shipper had not shipped yet (issue 16): their
 * unshipped bytes passed `ship.maxBacklog`. The events `fromSeq`..`toSeq` never reach the
 * fleet's stream. Written by the shell just before the `segments-deleted` that deletes them;
 * the fold ignores it.
 */
export interface ShipGap {
  readonly type: 'ship-gap';
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Bytes of the unshipped segments deleted. */
  readonly bytes: number;
}
export interface DeletedSegment {
  /** The segment's file name (in the event log's directory). */
  readonly file: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly bytes: number;
  /** segments: more closed segments than retain.segments; maxBytes: all segments over it; maxAge: older than it. */
  readonly reason: 'segments' | 'maxBytes' | 'maxAge';
}

// ---------------------------------------------------------------------------------------------
// Decision records: what the fold decided and why. The shell logs them after the input that
// caused them; replaying the inputs re-derives them, and `replay --check` compares.

export interface SpawnRequested {
  readonly type: 'spawn-requested';
  readonly name: string;
  readonly gen: Gen;
  readonly incarnation: number;
  /** dependency: a dependency of it with `restart: true` was restarted. */
  readonly reason: 'start' | 'restart' | 'reload' | 'requested' | 'dependency';
}
export interface RestartScheduled {
  readonly type: 'restart-scheduled';
  readonly name: string;
  readonly incarnation: number;
  readonly delayMs: number;
  readonly restarts: number;
}
export interface ServiceGivenUp {
  readonly type: 'service-given-up';
  readonly name: string;
  readonly restarts: number;
  readonly withinMs: number;
}
export interface ServiceFailed {
  readonly type: 'service-failed';
  readonly name: string;
  readonly code: number;
  readonly reason: string;
}
export interface StopBegun {
  readonly type: 'stop-begun';
  readonly pid: Pid;
  readonly name: string;
  readonly signal: string;
  /** leader-exited: the leader of the group exited and the rest of its group is being stopped. */
  readonly reason:
    | 'requested'
    | 'reload-removed'
    | 'reload-changed'
    | 'check-failed'
    | 'supervisor-stopping'
    | 'unwanted'
    | 'leader-exited'
    | 'dependency-restarted';
}
export interface CheckRunRequested {
  readonly type: 'check-run-requested';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
}
export interface CheckSkipped {
  readonly type: 'check-skipped';
  readonly name: string;
  readonly run: number;
  readonly reason: string;
}
export interface CheckTimedOut {
  readonly type: 'check-timed-out';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  readonly pid: Pid;
}
export interface CheckFinished {
  readonly type: 'check-finished';
  readonly name: string;
  readonly gen: Gen;
  readonly run: number;
  readonly pid: Pid | null;
  readonly code: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly timedOut: boolean;
  /** The run belongs to a check definition that a reload has since removed or changed: not counted. */
  readonly stale: boolean;
}
export interface CheckHealthChanged {
  readonly type: 'check-health-changed';
  readonly name: string;
  readonly healthy: boolean;
}
export interface ReloadApplied {
  readonly type: 'reload-applied';
  readonly gen: Gen;
  readonly services: Diff;
  readonly checks: Diff;
}
/** A reload asked this service to re-read its own config: its reloadSignal sent to its group. */
export interface ReloadSignalled {
  readonly type: 'reload-signalled';
  readonly name: string;
  readonly pid: Pid;
  readonly signal: string;
}
export interface ReloadCoalesced {
  readonly type: 'reload-coalesced';
  readonly source: string;
}
export interface OrphanFound {
  readonly type: 'orphan-found';
  readonly pid: Pid;
  readonly name: string;
  readonly kind: 'service' | 'check';
  readonly startTime: number | null;
}
/** A predecessor's process from an earlier boot: it cannot be running, and is forgotten unreaped. */
export interface OrphanForgotten {
  readonly type: 'orphan-forgotten';
  readonly pid: Pid;
  readonly name: string;
  readonly reason: string;
}
/**
 * The answer to an operator request (the input at seq `ref`): done (it is under way), already
 * (nothing to do: it was in that state), unknown (no such service or check), refused (not now,
 * e.g. while procreg stops). Exactly one follows every request.
 */
export interface RequestAnswered {
  readonly type: 'request-answered';
  readonly ref: number;
  readonly outcome: 'done' | 'already' | 'unknown' | 'refused';
  readonly message: string;
}
export interface EventIgnored {
  readonly type: 'event-ignored';
  /** seq of the input that was ignored. */
  readonly ref: number;
  readonly reason: string;
}

export interface Diff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
  /**
   * Of `changed`, those whose change only governs procreg's policy (backoff, stop signal and
   * timeout, a check's interval…): applied in place, nothing restarted. Present when not empty.
   */
  readonly inPlace?: readonly string[];
}

export type InputEvent =
  | SupervisorStarted
  | SupervisorStopping
  | SupervisorStopped
  | ConfigLoaded
  | ReloadRequested
  | ReloadFailed
  | Spawned
  | SpawnFailed
  | CheckStarted
  | CheckStartFailed
  | Exited
  | DaemonSuspected
  | GroupExited
  | TimerFired
  | StopRequested
  | StartRequested
  | RestartRequested
  | SignalRequested
  | OrphanReaped;

export type OutcomeEvent =
  SignalSent | PidfileWritten | PidfileRemoved | LogGap | SegmentsDeleted | ShipGap | OutputDropped;

export type DecisionRecord =
  | SpawnRequested
  | RestartScheduled
  | ServiceGivenUp
  | ServiceFailed
  | StopBegun
  | CheckRunRequested
  | CheckSkipped
  | CheckTimedOut
  | CheckFinished
  | CheckHealthChanged
  | ReloadApplied
  | ReloadCoalesced
  | ReloadSignalled
  | OrphanFound
  | OrphanForgotten
  | RequestAnswered
  | EventIgnored;

/** Everything a log line can hold, without its envelope. */
export type EventBody = InputEvent | OutcomeEvent | DecisionRecord | SnapshotTaken;
export type EventType = EventBody['type'];

/**
 * The envelope every log line carries: format version, strictly increasing seq, the wall
 * time (epoch ms, for people) and the monotonic time (ms since boot, CLOCK_MONOTONIC, which
 * the fold measures durations, deadlines and restart windows by: a wall clock stepped back
 * or forward changes nothing the fold decides).
 */
export interface Envelope {
  readonly v: typeof LOG_FORMAT_VERSION;
  readonly seq: number;
  readonly time: number;
  readonly mono: number;
}

export type Stamped<E extends EventBody = EventBody> = Envelope & E;
export type Event = Stamped<EventBody>;

/**
 * What each event type is: an input the fold changes state on, an outcome of an effect kept
 * for the record, a decision the fold derived, or a snapshot of the whole registry. A complete table: a new event type does not
 * compile until it is classified here.
 */
export const EVENT_KINDS: Readonly<Record<EventType, 'input' | 'outcome' | 'decision' | 'snapshot'>> = {
  'supervisor-started': 'input',
  'supervisor-stopping': 'input',
  'supervisor-stopped': 'input',
  'config-loaded': 'input',
  'reload-requested': 'input',
  'reload-failed': 'input',
  spawned: 'input',
  'spawn-failed': 'input',
  'check-started': 'input',
  'check-start-failed': 'input',
  exited: 'input',
  'daemon-suspected': 'input',
  'group-exited': 'input',
  'timer-fired': 'input',
  'stop-requested': 'input',
  'start-requested': 'input',
  'restart-requested': 'input',
  'signal-requested': 'input',
  'orphan-reaped': 'input',
  'signal-sent': 'outcome',
  'pidfile-written': 'outcome',
  'pidfile-removed': 'outcome',
  'log-gap': 'outcome',
  'output-dropped': 'outcome',
  'segments-deleted': 'outcome',
  'ship-gap': 'outcome',
  'spawn-requested': 'decision',
  'restart-scheduled': 'decision',
  'service-given-up': 'decision',
  'service-failed': 'decision',
  'stop-begun': 'decision',
  'check-run-requested': 'decision',
  'check-skipped': 'decision',
  'check-timed-out': 'decision',
  'check-finished': 'decision',
  'check-health-changed': 'decision',
  'reload-applied': 'decision',
  'reload-coalesced': 'decision',
  'reload-signalled': 'decision',
  'orphan-found': 'decision',
  'orphan-forgotten': 'decision',
  'request-answered': 'decision',
  'event-ignored': 'decision',
  snapshot: 'snapshot',
};

export function isDecision(e: EventBody): e is DecisionRecord {
  return EVENT_KINDS[e.type] === 'decision';
}
