/**
 * The fold, walked one event at a time with what a person asks of each event: which service
 * or check it is about (an `exited` names only a PID), which incarnation or run, the registry
 * before and after it, and for an input the decisions the fold derives from it. Every
 * debugging view (events, history, why, diff, timeline) reads the log through a Walker.
 *
 * Memory is the registry's own (bounded by what is live) plus a bounded memory of recent
 * PIDs, so a line about a process that has already left the registry (the PID file removed
 * after an exit) is still attributed.
 */
import { LegacyReloadRule } from '../core/reload-rule.js';
import { step } from '../core/step.js';
import { initialState, type State } from '../core/state.js';
import { type DecisionRecord, EVENT_KINDS, type Event, isDecision, type Pid } from '../events/types.js';

export type EventInput = AsyncIterable<Event> | Iterable<Event>;

/**
 * A reader may also offer its events in batches (one per chunk read): iterating those costs
 * one await per batch instead of one per event, which on a 1M-event log is most of the time.
 * The functions here use batches when the input has them; any AsyncIterable<Event> works.
 */
export const EVENT_BATCHES: unique symbol = Symbol.for('procreg.eventBatches') as never;

export interface BatchedEvents extends AsyncIterable<Event> {
  [EVENT_BATCHES](): AsyncIterable<readonly Event[]>;
}

/** The events of any input, in batches. */
export async function* batchesOf(input: EventInput): AsyncGenerator<readonly Event[]> {
  if (EVENT_BATCHES in input) {
    yield* (input as BatchedEvents)[EVENT_BATCHES]();
    return;
  }
  if (Symbol.iterator in input) {
    let batch: Event[] = [];
    for (const e of input) {
      batch.push(e);
      if (batch.length >= 4096) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  for await (const e of input) yield [e];
}

export interface Step {
  readonly event: Event;
  /** The registry before the event was folded. */
  readonly before: State;
  /** The registry after it (the same object as `before` for decisions and outcomes). */
  readonly after: State;
  /** For an input or snapshot: the decisions the fold derives from it (the log records them next). */
  readonly records: readonly DecisionRecord[];
  /** The service the event is about, or null. */
  readonly service: string | null;
  /** The check the event is about, or null. */
  readonly check: string | null;
  /** The incarnation (service) or run (check) the event is about, when one. */
  readonly serial: number | null;
  /** Services a reload-applied adds, removes or changes (it is about each of them too). */
  readonly touches: readonly string[];
  /** Checks a reload-applied adds, removes or changes. */
  readonly touchesChecks: readonly string[];
  /** The process is a predecessor's (crash recovery). */
  readonly orphan: boolean;
}

interface About {
  readonly service: string | null;
  readonly check: string | null;
  readonly serial: number | null;
  readonly orphan?: boolean;
}

const NOBODY: About = { service: null, check: null, serial: null };

interface Known {
  readonly kind: 'service' | 'check';
  readonly name: string;
  readonly serial: number;
}

const NONE: readonly string[] = [];
/** PIDs remembered after their process left the registry. */
const RECENT_PIDS = 4096;

export class Walker {
  state: State;
  /** Events walked. */
  count = 0;
  /** Recent PIDs in two generations: the older one is dropped when the newer fills up. */
  private known = new Map<Pid, Known>();
  private knownBefore = new Map<Pid, Known>();
  /** The last input walked and what it was about: an event-ignored record refers to it. */
  private lastInput: { seq: number; about: About } = { seq: 0, about: NOBODY };
  private readonly legacyReload = new LegacyReloadRule();

  constructor(state: State = initialState()) {
    this.state = state;
  }

  push(event: Event): Step {
    this.count++;
    // A load from an old log folded by the other reload rule (core/reload-rule.ts): the step
    // returned for it stays as it was, the state from here on is the log's.
    this.state = this.legacyReload.refold(event)?.state ?? this.state;
    const before = this.state;
    let after = before;
    let records: readonly DecisionRecord[] = [];
    if (!isDecision(event)) {
      const res = step(before, event);
      after = res.state;
      records = res.records;
      this.state = after;
      this.legacyReload.folded(before, event, records);
    }
    const s = this.attribute(event, before, after);
    if (EVENT_KINDS[event.type] === 'input') this.lastInput = { seq: event.seq, about: s };
    return {
      event,
      before,
      after,
      records,
      service: s.service,
      check: s.check,
      serial: s.serial,
      touches: event.type === 'reload-applied' ? touchedServices(event) : NONE,
      touchesChecks: event.type === 'reload-applied' ? touchedChecks(event) : NONE,
      orphan: s.orphan ?? false,
    };
  }

  private remember(pid: Pid, k: Known): void {
    if (this.known.size >= RECENT_PIDS / 2) {
      this.knownBefore = this.known;
      this.known = new Map();
    }
    this.known.set(pid, k);
  }

  private byPid(pid: Pid, before: State): About {
    const entry = before.procs.get(pid) ?? this.state.procs.get(pid);
    if (entry) {
      const serial = entry.kind === 'service' ? entry.incarnation : entry.run;
      const orphan = entry.gen < before.instanceGen;
      return entry.kind === 'service'
        ? { service: entry.name, check: null, serial, orphan }
        : { service: null, check: entry.name, serial, orphan };
    }
    const k = this.known.get(pid) ?? this.knownBefore.get(pid);
    if (!k) return NOBODY;
    return k.kind === 'service'
      ? { service: k.name, check: null, serial: k.serial }
      : { service: null, check: k.name, serial: k.serial };
  }

  private attribute(e: Event, before: State, after: State): About {
    const svc = (name: string, serial: number | null): About => ({ service: name, check: null, serial });
    const chk = (name: string, serial: number | null): About => ({ service: null, check: name, serial });
    const none = NOBODY;
    switch (e.type) {
      case 'spawned':
        this.remember(e.pid, { kind: 'service', name: e.name, serial: e.incarnation });
        return {
          ...svc(e.name, e.incarnation),
          orphan: (after.procs.get(e.pid)?.gen ?? e.gen) < after.instanceGen,
        };
      case 'check-started':
        this.remember(e.pid, { kind: 'check', name: e.name, serial: e.run });
        return chk(e.name, e.run);
      case 'spawn-failed':
      case 'spawn-requested':
        return svc(e.name, e.incarnation);
      case 'restart-scheduled':
        return svc(e.name, e.incarnation - 1);
      case 'service-given-up':
      case 'service-failed':
        return svc(e.name, after.services.get(e.name)?.incarnation ?? null);
      case 'stop-requested':
      case 'start-requested':
        return e.target === 'check'
          ? chk(e.name, before.checks.get(e.name)?.run ?? null)
          : svc(e.name, before.services.get(e.name)?.incarnation ?? null);
      case 'restart-requested':
      case 'signal-requested':
        return svc(e.name, before.services.get(e.name)?.incarnation ?? null);
      case 'check-start-failed':
      case 'check-run-requested':
      case 'check-timed-out':
      case 'check-finished':
        return chk(e.name, e.run);
      case 'check-skipped':
        return chk(e.name, e.run);
      case 'check-health-changed':
        return chk(e.name, after.checks.get(e.name)?.lastResult?.run ?? null);
      case 'exited':
      case 'daemon-suspected':
      case 'group-exited':
      case 'signal-sent':
      case 'pidfile-written':
      case 'pidfile-removed':
      case 'orphan-reaped':
      case 'stop-begun':
      case 'reload-signalled':
        return this.byPid(e.pid, before);
      case 'orphan-found': {
        const k = this.byPid(e.pid, before);
        return { ...(e.kind === 'service' ? svc(e.name, k.serial) : chk(e.name, k.serial)), orphan: true };
      }
      case 'orphan-forgotten': {
        const k = this.byPid(e.pid, before);
        return k.check !== null ? k : svc(e.name, k.serial);
      }
      case 'timer-fired': {
        const t = e.timer;
        switch (t.kind) {
          case 'backoff':
            return svc(t.name, t.incarnation);
          case 'check-interval':
            return chk(t.name, t.run);
          case 'check-timeout':
            return chk(t.name, t.run);
          case 'stop-timeout': {
            const k = this.byPid(t.pid, before);
            return k.check !== null ? chk(t.name, t.serial) : svc(t.name, t.serial);
          }
        }
        return none;
      }
      case 'event-ignored':
      case 'request-answered':
        return e.ref === this.lastInput.seq ? this.lastInput.about : none;
      case 'supervisor-started':
      case 'supervisor-stopping':
      case 'supervisor-stopped':
      case 'config-loaded':
      case 'reload-requested':
      case 'reload-failed':
      case 'reload-applied':
      case 'reload-coalesced':
      case 'snapshot':
      case 'log-gap':
      case 'segments-deleted':
      case 'ship-gap':
      case 'output-dropped':
        return none;
    }
  }
}

function touchedServices(e: Extract<Event, { type: 'reload-applied' }>): string[] {
  return [...e.services.added, ...e.services.removed, ...e.services.changed];
}

function touchedChecks(e: Extract<Event, { type: 'reload-applied' }>): string[] {
  return [...e.checks.added, ...e.checks.removed, ...e.checks.changed];
}

/** Whether a step is about service `name`: its own events, and reloads that add, change or remove it. */
export function isAboutService(s: Step, name: string): boolean {
  return s.service === name || s.touches.includes(name);
}

/** Whether a step is about check `name`. */
export function isAboutCheck(s: Step, name: string): boolean {
  return s.check === name || s.touchesChecks.includes(name);
}
