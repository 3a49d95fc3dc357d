import {
  type DecisionRecord,
  type Event,
  type InputEvent,
  isDecision,
  type OutcomeEvent,
} from '../events/types.js';
import type { Effect } from './effects.js';
import { bodyOf } from '../events/codec.js';
import { type Violation, verifyInvariants, verifyInvariantsOf } from './invariants.js';
import { LegacyReloadRule } from './reload-rule.js';
import { fromSnapshot, type Snapshot, toSnapshot } from './snapshot.js';
import { initialState, type State } from './state.js';
import { step } from './step.js';

export interface ReplayOptions {
  /**
   * Re-verify the invariants after every event — for every process, service and check the
   * event, its decisions and its effects touch, with a full sweep every `sweepEvery` events
   * and at the end — and compare logged decisions with re-derived ones.
   */
  readonly check?: boolean;
  /** Full invariant sweep interval in check mode. Default 1000; 1 checks everything after every event. */
  readonly sweepEvery?: number;
  /** Stop collecting problems after this many (the fold goes on). Default 100. */
  readonly maxProblems?: number;
}

export interface ReplayProblem {
  readonly seq: number;
  /** log-gap: a log-gap record not followed at once by the snapshot a reader continues from. */
  readonly kind: 'invariant' | 'decision-mismatch' | 'snapshot-mismatch' | 'log-gap';
  readonly message: string;
}

export interface ReplayResult {
  readonly state: State;
  /** The first event folded (0 for none): above 1 when the fold began at a snapshot, the log before it elsewhere or deleted. */
  readonly firstSeq: number;
  /** The fold began at a snapshot (a segment whose predecessors were deleted, or --from-snapshot). */
  readonly fromSnapshot: boolean;
  readonly lastSeq: number;
  /** Time of the last event (0 for an empty log): "now", as far as the log knows. */
  readonly lastTime: number;
  readonly events: number;
  readonly problems: readonly ReplayProblem[];
}

/**
 * Folds events one by one, without executing any effect. With `check`, it also verifies
 * invariants 2 and 6 from the log itself: the decisions the live supervisor logged after
 * each input must be exactly the ones this fold derives again from the same inputs.
 */
export class Replayer {
  private state: State = initialState();
  private firstSeq = 0;
  private fromSnapshot = false;
  private lastSeq = 0;
  private lastTime = 0;
  private count = 0;
  private readonly problems: ReplayProblem[] = [];
  private expected: DecisionRecord[] = [];
  private expectedFrom = 0;
  /** The last event was a log-gap: the next must be the snapshot to continue from. */
  private afterGap: number | null = null;
  private readonly legacyReload = new LegacyReloadRule();
  private readonly check: boolean;
  private readonly maxProblems: number;
  private readonly sweepEvery: number;

  constructor(options: ReplayOptions = {}) {
    this.check = options.check ?? false;
    this.maxProblems = options.maxProblems ?? 100;
    this.sweepEvery = Math.max(1, options.sweepEvery ?? 1000);
  }

  push(event: Event): void {
    if (this.count === 0) {
      this.firstSeq = event.seq;
      this.fromSnapshot = event.type === 'snapshot';
    }
    this.count++;
    this.lastSeq = event.seq;
    this.lastTime = event.time;
    const gap = this.afterGap;
    this.afterGap = null;
    if (gap !== null && event.type !== 'snapshot' && this.check)
      this.problem(
        event.seq,
        'log-gap',
        `the log-gap at seq ${gap} is followed by ${event.type}, not by the snapshot to continue from`,
      );
    const refolded = this.legacyReload.refold(event);
    if (refolded !== null) {
      // The load before was folded by a rule other than the one its log shows: by that one.
      this.state = refolded.state;
      if (this.check) {
        this.expected = refolded.records.slice();
        for (const v of verifyInvariants(this.state))
          this.problem(this.expectedFrom, 'invariant', describe(v));
      }
    }
    if (isDecision(event)) {
      if (this.check) this.matchDecision(event);
      return;
    }
    if (event.type === 'log-gap') {
      // What was decided before the gap may be in it: nothing is expected across it.
      this.expected = [];
      this.afterGap = event.seq;
    }
    // A snapshot where the fold has history is verified against it (it must be that very
    // state); where it has none (the first line read, or right after a log-gap: the events
    // before it are elsewhere or lost), it is where the fold starts.
    // A crash can cut the log between an input and its decisions; then the next instance
    // starts — with a supervisor-started, or first a snapshot heading a new segment.
    const afterCrash =
      event.type === 'supervisor-started' ||
      event.type === 'log-gap' ||
      (event.type === 'snapshot' && event.cause === 'start');
    if (afterCrash) this.expected = [];
    if (event.type === 'snapshot' && this.check && this.count > 1 && gap === null) this.matchSnapshot(event);
    if (this.check && !afterCrash) this.flushExpected(event.seq);
    const before = this.state;
    const res = step(before, event);
    this.state = res.state;
    this.legacyReload.folded(before, event, res.records);
    if (!this.check) return;
    this.expected = res.records.slice();
    this.expectedFrom = event.seq;
    const violations =
      this.count % this.sweepEvery === 0 || event.type === 'snapshot' || TOUCHES_WHOLE_REGISTRY[event.type]
        ? verifyInvariants(this.state)
        : verifyInvariantsOf(this.state, ...touched(event, res.records, res.effects));
    for (const v of violations) this.problem(event.seq, 'invariant', describe(v));
  }

  result(): ReplayResult {
    if (this.check) {
      this.expected = []; // the log may end mid-step (a crash, or a supervisor still running)
      for (const v of verifyInvariants(this.state)) this.problem(this.lastSeq, 'invariant', describe(v));
    }
    return {
      state: this.state,
      firstSeq: this.firstSeq,
      fromSnapshot: this.fromSnapshot,
      lastSeq: this.lastSeq,
      lastTime: this.lastTime,
      events: this.count,
      problems: this.problems,
    };
  }

  private matchSnapshot(event: Extract<Event, { type: 'snapshot' }>): void {
    this.flushExpected(event.seq);
    // The logged snapshot as this procreg reads it: fields added since it was written take
    // their defaults (a config's host and ship, say), as they do in the derived registry.
    const read = fromSnapshot(event.state);
    const derived = JSON.stringify(asOlderSnapshot(toSnapshot(this.state), event.state));
    const logged = JSON.stringify(
      read.ok ? asOlderSnapshot(toSnapshot(read.state), event.state) : event.state,
    );
    if (derived === logged) return;
    this.problem(
      event.seq,
      'snapshot-mismatch',
      `the snapshot differs from the registry the fold derives from the events before it (${firstDifference(derived, logged)})`,
    );
  }

  private matchDecision(event: Event): void {
    const { seq } = event;
    const body = bodyOf(event);
    const want = this.expected.shift();
    if (!want) {
      this.problem(
        seq,
        'decision-mismatch',
        `logged ${body.type} that the fold does not derive from seq ${this.expectedFrom}`,
      );
      return;
    }
    if (JSON.stringify(body) !== JSON.stringify(want)) {
      this.problem(
        seq,
        'decision-mismatch',
        `logged ${JSON.stringify(body)}, the fold derives ${JSON.stringify(want)} from seq ${this.expectedFrom}`,
      );
    }
  }

  private flushExpected(seq: number): void {
    for (const want of this.expected) {
      this.problem(
        seq,
        'decision-mismatch',
        `the fold derives ${JSON.stringify(want)} from seq ${this.expectedFrom}, but the log does not record it`,
      );
    }
    this.expected = [];
  }

  private problem(seq: number, kind: ReplayProblem['kind'], message: string): void {
    if (this.problems.length < this.maxProblems) this.problems.push({ seq, kind, message });
  }
}

/**
 * Whether an input can change every service and check at once (then a full sweep follows
 * it) or only what it names. A complete table: a new input type must be classified.
 */
const TOUCHES_WHOLE_REGISTRY: Readonly<
  Record<InputEvent['type'] | OutcomeEvent['type'] | 'snapshot', boolean>
> = {
  snapshot: true,
  'supervisor-started': true,
  'supervisor-stopping': true,
  'supervisor-stopped': true,
  'config-loaded': true,
  'reload-requested': false,
  'reload-failed': false,
  spawned: false,
  'spawn-failed': false,
  'check-started': false,
  'check-start-failed': false,
  exited: false,
  'daemon-suspected': false,
  'group-exited': false,
  'timer-fired': false,
  'stop-requested': false,
  'start-requested': false,
  'restart-requested': false,
  'signal-requested': false,
  'orphan-reaped': false,
  'signal-sent': false,
  'pidfile-written': false,
  'pidfile-removed': false,
  'log-gap': false,
  'segments-deleted': false,
  'ship-gap': false,
  'output-dropped': false,
};

/** PIDs and names an input, its decisions and its effects mention. */
function touched(
  event: Event,
  records: readonly DecisionRecord[],
  effects: readonly Effect[],
): [Set<number>, Set<string>] {
  const pids = new Set<number>();
  const names = new Set<string>();
  const take = (x: object) => {
    const o = x as {
      pid?: unknown;
      ifPid?: unknown;
      name?: unknown;
      timer?: { pid?: unknown; name?: unknown };
    };
    for (const p of [o.pid, o.ifPid, o.timer?.pid]) if (typeof p === 'number') pids.add(p);
    for (const n of [o.name, o.timer?.name]) if (typeof n === 'string') names.add(n);
  };
  take(event);
  for (const r of records) take(r);
  for (const e of effects) take(e);
  return [pids, names];
}

/** Where two JSON texts part: a few characters of each around the first difference. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const at = Math.max(0, i - 30);
  return `derived …${a.slice(at, i + 30)}…, logged …${b.slice(at, i + 30)}…`;
}

function describe(v: Violation): string {
  return `invariant ${v.invariant}: ${v.message}`;
}

/** The state at the end of a sequence of events. */
export function replay(events: Iterable<Event>, options?: ReplayOptions): ReplayResult {
  const r = new Replayer(options);
  for (const e of events) r.push(e);
  return r.result();
}

export async function replayAsync(
  events: AsyncIterable<Event>,
  options?: ReplayOptions,
): Promise<ReplayResult> {
  const r = new Replayer(options);
  for await (const e of events) r.push(e);
  return r.result();
}

/**
 * The derived snapshot as a procreg that did not record a field yet would have written it: a
 * log written before exits recorded `uptimeMs` holds snapshots without it, which are no less
 * exact for that.
 */
function asOlderSnapshot(derived: Snapshot, logged: Readonly<Record<string, unknown>>): unknown {
  const services = logged.services as Record<string, { lastExit?: object | null } | null> | undefined;
  const older = (name: string) => {
    const exit = services?.[name]?.lastExit;
    return exit != null && !('uptimeMs' in exit);
  };
  if (!services || !Object.keys(services).some(older)) return derived;
  const copy = JSON.parse(JSON.stringify(derived)) as {
    services: Record<string, { lastExit: Record<string, unknown> | null }>;
  };
  for (const [name, s] of Object.entries(copy.services))
    if (older(name) && s.lastExit) delete s.lastExit.uptimeMs;
  return copy;
}
