/**
 * `procreg events`: which events to show (services, checks, types, a time window, a
 * generation, after a cursor) and the stream of plain-word lines, crash loops collapsed.
 */
import { EVENT_KINDS, type Event, type EventType } from '../events/types.js';
import { type LoopSummary, LoopCollapser, type Told } from './collapse.js';
import { eventLine } from './describe.js';
import { type EventInput, type Step, Walker, batchesOf } from './walk.js';

export interface EventFilter {
  /** Events about any of these services (a reload that adds, changes or removes one included). */
  readonly services?: readonly string[];
  /** Events about any of these checks. */
  readonly checks?: readonly string[];
  /** Event types, or the kinds `input`, `decision`, `outcome`, `snapshot`. */
  readonly types?: readonly string[];
  /** Wall-time window, epoch ms, inclusive. */
  readonly since?: number;
  readonly until?: number;
  /** Only while this generation was in force. */
  readonly gen?: number;
  /** Only events after this seq (a cursor). */
  readonly afterSeq?: number;
}

const KINDS = new Set(['input', 'decision', 'outcome', 'snapshot']);

/** The names `types` may hold: every event type and the four kinds. */
export function knownTypes(): string[] {
  return [...Object.keys(EVENT_KINDS), ...KINDS];
}

/** The names in `types` that are neither an event type nor a kind. */
export function unknownTypes(types: readonly string[]): string[] {
  return types.filter((t) => !(t in EVENT_KINDS) && !KINDS.has(t));
}

export function matchesStep(f: EventFilter, s: Step): boolean {
  const e = s.event;
  if (f.afterSeq !== undefined && e.seq <= f.afterSeq) return false;
  if (f.since !== undefined && e.time < f.since) return false;
  if (f.until !== undefined && e.time > f.until) return false;
  if (f.gen !== undefined && s.after.gen !== f.gen) return false;
  if (f.types && f.types.length > 0 && !f.types.includes(e.type) && !f.types.includes(EVENT_KINDS[e.type]))
    return false;
  const names = (f.services?.length ?? 0) + (f.checks?.length ?? 0);
  if (names === 0) return true;
  if (f.services?.some((n) => s.service === n || s.touches.includes(n))) return true;
  if (f.checks?.some((n) => s.check === n || s.touchesChecks.includes(n))) return true;
  return false;
}

const LOOP_TYPES: readonly EventType[] = ['exited', 'restart-scheduled', 'spawn-requested', 'spawned'];

export function matchesLoop(f: EventFilter, l: LoopSummary, gen: number): boolean {
  if (f.afterSeq !== undefined && l.lastSeq <= f.afterSeq) return false;
  if (f.since !== undefined && l.lastTime < f.since) return false;
  if (f.until !== undefined && l.firstTime > f.until) return false;
  if (f.gen !== undefined && gen !== f.gen) return false;
  if (
    f.types &&
    f.types.length > 0 &&
    !LOOP_TYPES.some((t) => f.types?.includes(t) || f.types?.includes(EVENT_KINDS[t]))
  )
    return false;
  const names = (f.services?.length ?? 0) + (f.checks?.length ?? 0);
  return names === 0 || (f.services?.includes(l.service) ?? false);
}

/** Service and check names the configs in a log define, in the order first seen. */
export class KnownNames {
  private readonly svc = new Set<string>();
  private readonly chk = new Set<string>();

  see(e: Event): void {
    if (e.type !== 'config-loaded') return;
    for (const n of Object.keys(e.config.services)) this.svc.add(n);
    for (const n of Object.keys(e.config.checks)) this.chk.add(n);
  }

  get services(): string[] {
    return [...this.svc].sort();
  }

  get checks(): string[] {
    return [...this.chk].sort();
  }

  hasService(n: string): boolean {
    return this.svc.has(n);
  }

  hasCheck(n: string): boolean {
    return this.chk.has(n);
  }
}

export interface EventsOptions {
  readonly filter?: EventFilter;
  /** Tell every event, no crash loop collapsed (`--all`). */
  readonly all?: boolean;
}

/**
 * Walks events and says what to tell: lines that pass the filter, and loop summaries. Keep
 * one per reader; call finish() at the end of the log (or flush() when a follower has caught
 * up). Unknown names can be asked for at any time.
 */
export class EventsQuery {
  readonly walker = new Walker();
  readonly known = new KnownNames();
  private readonly collapser: LoopCollapser | null;
  private readonly filter: EventFilter;
  /** Seq of the last event walked. */
  lastSeq = 0;

  constructor(options: EventsOptions = {}) {
    this.filter = options.filter ?? {};
    this.collapser = options.all ? null : new LoopCollapser();
  }

  push(e: Event): Told[] {
    this.known.see(e);
    const s = this.walker.push(e);
    this.lastSeq = e.seq;
    const line = eventLine(s);
    const told: Told[] = this.collapser ? this.collapser.push(s, line) : [{ kind: 'event', line, event: e }];
    return this.keep(told, s);
  }

  /** Loops held so far, told now (the reader has caught up with the log). */
  flush(): Told[] {
    return this.collapser ? this.keep(this.collapser.flush(), null) : [];
  }

  private keep(told: Told[], s: Step | null): Told[] {
    const out: Told[] = [];
    for (const t of told) {
      if (t.kind === 'loop') {
        if (matchesLoop(this.filter, t.loop, this.walker.state.gen)) out.push(t);
      } else if (s !== null && t.line.seq === s.event.seq ? matchesStep(this.filter, s) : true) out.push(t);
    }
    return out;
  }

  /** Names asked for that no config in the log so far defines. */
  unknown(): { services: string[]; checks: string[] } {
    return {
      services: (this.filter.services ?? []).filter((n) => !this.known.hasService(n)),
      checks: (this.filter.checks ?? []).filter((n) => !this.known.hasCheck(n)),
    };
  }
}

/** The events of a log as `procreg events` tells them: an async iterable of lines and loop summaries. */
export async function* tellEvents(events: EventInput, options: EventsOptions = {}): AsyncGenerator<Told> {
  const q = new EventsQuery(options);
  for await (const batch of batchesOf(events)) for (const e of batch) yield* q.push(e);
  yield* q.flush();
}
