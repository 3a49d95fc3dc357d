import { type DecisionRecord, type Event, isDecision } from '../events/types.js';
import { checkInvariants, type Violation } from './invariants.js';
import { initialState, type State } from './state.js';
import { step } from './step.js';

export interface ReplayOptions {
  /** Re-verify the invariants after every event, and compare logged decisions with re-derived ones. */
  readonly check?: boolean;
  /** Stop collecting problems after this many (the fold goes on). Default 100. */
  readonly maxProblems?: number;
}

export interface ReplayProblem {
  readonly seq: number;
  readonly kind: 'invariant' | 'decision-mismatch';
  readonly message: string;
}

export interface ReplayResult {
  readonly state: State;
  readonly lastSeq: number;
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
  private lastSeq = 0;
  private count = 0;
  private readonly problems: ReplayProblem[] = [];
  private expected: DecisionRecord[] = [];
  private expectedFrom = 0;
  private readonly check: boolean;
  private readonly maxProblems: number;

  constructor(options: ReplayOptions = {}) {
    this.check = options.check ?? false;
    this.maxProblems = options.maxProblems ?? 100;
  }

  push(event: Event): void {
    this.count++;
    this.lastSeq = event.seq;
    if (isDecision(event)) {
      if (this.check) this.matchDecision(event);
      return;
    }
    if (this.check) this.flushExpected(event.seq);
    const res = step(this.state, event);
    this.state = res.state;
    if (!this.check) return;
    this.expected = res.records.slice();
    this.expectedFrom = event.seq;
    for (const v of checkInvariants(this.state)) this.problem(event.seq, 'invariant', describe(v));
  }

  result(): ReplayResult {
    if (this.check) this.flushExpected(this.lastSeq);
    return { state: this.state, lastSeq: this.lastSeq, events: this.count, problems: this.problems };
  }

  private matchDecision(event: Event): void {
    const { v: _v, seq, time: _t, ...body } = event;
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
