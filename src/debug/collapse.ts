/**
 * A crash loop in one line. When a service exits the same way again after a quick run and
 * is restarted with backoff again, the cycles after the first (exit, restart decision, PID
 * file, backoff timer, spawn) are held back and told as one line when the loop ends — a
 * different exit, a give-up, a stop, a stable run — or when the reader catches up:
 * `flaky #2–#4 exited code 1, restarted ×3 over 7.5s, backoff 400ms→1.6s`.
 *
 * Only the looping service's own lines are held; everything else flows in order. Memory: a
 * few numbers per looping service.
 */
import type { Event, EventType } from '../events/types.js';
import { clockTime, duration, type TimeStyle } from './format.js';
import type { EventLine } from './describe.js';
import type { Step } from './walk.js';

export interface LoopSummary {
  readonly service: string;
  readonly firstIncarnation: number;
  readonly lastIncarnation: number;
  /** `code 1` or `signal SIGSEGV`: how each of its incarnations exited. */
  readonly exit: string;
  /** Restarts in the collapsed cycles. */
  readonly restarts: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstTime: number;
  readonly lastTime: number;
  readonly firstDelayMs: number;
  readonly lastDelayMs: number;
  /** Events held back and told by this line. */
  readonly events: number;
  /** Printed at this time, where the loop ended (or the reader caught up). */
  readonly time: number;
  readonly text: string;
}

export type Told =
  | { readonly kind: 'event'; readonly line: EventLine; readonly event: Event }
  | { readonly kind: 'loop'; readonly loop: LoopSummary };

/** Events of a looping service that belong to its restart cycle. */
const CYCLE: ReadonlySet<EventType> = new Set<EventType>([
  'exited',
  'restart-scheduled',
  'pidfile-removed',
  'pidfile-written',
  'timer-fired',
  'spawn-requested',
  'spawned',
  'signal-sent',
  'group-exited',
]);

interface Loop {
  key: string;
  /** Cycles seen so far (the first, told in full, included). */
  cycles: number;
  held: number;
  restarts: number;
  firstInc: number;
  lastInc: number;
  firstSeq: number;
  lastSeq: number;
  firstTime: number;
  lastTime: number;
  firstDelay: number;
  lastDelay: number;
  /** Cycles held back (the second onwards). */
  suppressing: boolean;
}

export class LoopCollapser {
  private readonly loops = new Map<string, Loop>();
  private now = 0;

  /** What to tell for this step: its line, a loop summary before it, or nothing (held in a loop). */
  push(s: Step, line: EventLine): Told[] {
    this.now = Math.max(this.now, s.event.time);
    const name = s.service;
    if (name === null) return [{ kind: 'event', line, event: s.event }];
    const loop = this.loops.get(name);
    const e = s.event;
    const restarted = e.type === 'exited' ? restartOf(s, name) : null;
    if (restarted !== null && e.type === 'exited') {
      const key = e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
      const quick = (s.after.services.get(name)?.quickFailures ?? 0) >= 2;
      if (loop && loop.key === key && quick) {
        // One more identical quick cycle: hold it.
        loop.cycles++;
        loop.suppressing = true;
        loop.held++;
        loop.restarts++;
        loop.lastInc = s.serial ?? loop.lastInc;
        loop.lastSeq = e.seq;
        loop.lastTime = e.time;
        loop.lastDelay = restarted;
        if (loop.cycles === 2) {
          loop.firstInc = s.serial ?? 0;
          loop.firstSeq = e.seq;
          loop.firstTime = e.time;
          loop.firstDelay = restarted;
        }
        return [];
      }
      // A new candidate loop starts with this cycle, told in full.
      const out = this.end(name);
      this.loops.set(name, {
        key,
        cycles: 1,
        held: 0,
        restarts: 0,
        firstInc: s.serial ?? 0,
        lastInc: s.serial ?? 0,
        firstSeq: e.seq,
        lastSeq: e.seq,
        firstTime: e.time,
        lastTime: e.time,
        firstDelay: restarted,
        lastDelay: restarted,
        suppressing: false,
      });
      out.push({ kind: 'event', line, event: s.event });
      return out;
    }
    if (loop && CYCLE.has(e.type) && e.type !== 'exited') {
      if (loop.suppressing) {
        loop.held++;
        loop.lastSeq = e.seq;
        loop.lastTime = e.time;
        return [];
      }
      return [{ kind: 'event', line, event: s.event }];
    }
    // Anything else about the service ends its loop.
    const out = this.end(name);
    out.push({ kind: 'event', line, event: s.event });
    return out;
  }

  /** The reader caught up (or reached the end): tell the loops held so far. */
  flush(): Told[] {
    const out: Told[] = [];
    for (const name of [...this.loops.keys()]) {
      const l = this.loops.get(name) as Loop;
      if (!l.suppressing) continue;
      out.push(...this.end(name));
      // Still looping: go on collapsing from here, told in a new line later.
      this.loops.set(name, { ...l, cycles: 1, held: 0, restarts: 0, suppressing: false });
    }
    return out;
  }

  private end(name: string): Told[] {
    const l = this.loops.get(name);
    this.loops.delete(name);
    if (!l || !l.suppressing) return [];
    const loop: LoopSummary = {
      service: name,
      firstIncarnation: l.firstInc,
      lastIncarnation: l.lastInc,
      exit: l.key,
      restarts: l.restarts,
      firstSeq: l.firstSeq,
      lastSeq: l.lastSeq,
      firstTime: l.firstTime,
      lastTime: l.lastTime,
      firstDelayMs: l.firstDelay,
      lastDelayMs: l.lastDelay,
      events: l.held,
      time: this.now,
      text: loopText(name, l),
    };
    return [{ kind: 'loop', loop }];
  }
}

function loopText(name: string, l: Loop): string {
  const incs = l.firstInc === l.lastInc ? `#${l.firstInc}` : `#${l.firstInc}–#${l.lastInc}`;
  const backoff =
    l.firstDelay === l.lastDelay
      ? duration(l.firstDelay)
      : `${duration(l.firstDelay)}→${duration(l.lastDelay)}`;
  return `${name} ${incs} exited ${l.key}, restarted ×${l.restarts} over ${duration(l.lastTime - l.firstTime)}, backoff ${backoff} (collapsed: seq ${l.firstSeq}–${l.lastSeq}; --all shows each)`;
}

/** The backoff delay the fold chose after this exit, or null when it did not schedule a restart. */
function restartOf(s: Step, name: string): number | null {
  for (const r of s.records) if (r.type === 'restart-scheduled' && r.name === name) return r.delayMs;
  return null;
}

export function renderLoop(l: LoopSummary, style: TimeStyle = {}): string {
  return `${clockTime(l.time, style)} ${l.text}`;
}
