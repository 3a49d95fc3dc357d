/**
 * Points in a log: a seq, a time (ISO 8601 or relative to now: `-90s`, `-10m`), or `gen:N`
 * (where generation N came into force). A reader that folds events one by one asks a
 * PointSeeker, before and after each event, whether it has reached the point.
 */
import { type Event, isDecision } from '../events/types.js';
import { fullTime, type TimeStyle } from './format.js';

export type Point =
  | { readonly kind: 'seq'; readonly seq: number }
  | { readonly kind: 'time'; readonly time: number }
  | { readonly kind: 'gen'; readonly gen: number };

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A time: ISO 8601 (`2026-11-28T03:12:00Z`; without a zone it is local time; a date alone is
 * midnight UTC, as ECMAScript reads it), `now`, or relative to `now`: `-90s`, `-10m`,
 * `-1.5h`, `-2d`, `-500ms`.
 */
export function parseTime(text: string, now: number): Parsed<number> {
  const t = text.trim();
  if (t === 'now') return { ok: true, value: now };
  const rel = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (rel) return { ok: true, value: Math.round(now - Number(rel[1]) * (UNITS[rel[2] as string] as number)) };
  if (ISO.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isFinite(ms)) return { ok: true, value: ms };
  }
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not a time: use ISO 8601 (2026-11-28T03:12:00Z) or a time relative to now (-90s, -10m, -2h, -1d)`,
  };
}

/** A point: a seq (`120`), `gen:N`, or a time as parseTime reads it. */
export function parsePoint(text: string, now: number): Parsed<Point> {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const seq = Number(t);
    if (!Number.isSafeInteger(seq) || seq < 1)
      return { ok: false, error: `seq ${t} is not a positive integer` };
    return { ok: true, value: { kind: 'seq', seq } };
  }
  const g = /^gen:(\d+)$/i.exec(t);
  if (g) {
    const gen = Number(g[1]);
    if (gen < 1) return { ok: false, error: `${t}: generations are numbered from 1` };
    return { ok: true, value: { kind: 'gen', gen } };
  }
  const time = parseTime(t, now);
  if (time.ok) return { ok: true, value: { kind: 'time', time: time.value } };
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not a point of the log: give a seq (120), gen:N, an ISO 8601 time (2026-11-28T03:12:00Z) or a time relative to now (-90s, -10m)`,
  };
}

export function describePoint(p: Point, style: TimeStyle = {}): string {
  switch (p.kind) {
    case 'seq':
      return `seq ${p.seq}`;
    case 'gen':
      return `gen:${p.gen}`;
    case 'time':
      return fullTime(p.time, style);
  }
}

/**
 * Walks a reader up to a point. `passes(e)` is asked before an event is folded: true when the
 * event lies beyond the point (stop without it). `reached(e, gen)` is asked after: true when
 * the point is this event (stop after it). A `gen:N` point stands after the config-loaded
 * event that installed generation N and the decisions logged with it.
 */
export class PointSeeker {
  private hit = false;
  private first: Event | null = null;
  private last: Event | null = null;
  private maxGen = 0;

  constructor(readonly point: Point) {}

  passes(e: Event): boolean {
    this.first ??= e;
    const p = this.point;
    if (this.hit) return !isDecision(e); // past a gen point's config-loaded: its decisions only
    if (p.kind === 'seq' && e.seq > p.seq) return this.stop(true);
    if (p.kind === 'time' && e.time > p.time) return this.stop(true);
    return false;
  }

  reached(e: Event, gen: number): boolean {
    this.last = e;
    this.maxGen = Math.max(this.maxGen, gen);
    const p = this.point;
    if (p.kind === 'seq' && e.seq >= p.seq) return this.stop(true);
    // A gen point takes the decisions logged right after its config-loaded: stop on the next other event.
    if (p.kind === 'gen' && e.type === 'config-loaded' && gen === p.gen) this.hit = true;
    return false;
  }

  private stop(v: boolean): boolean {
    this.hit = true;
    return v;
  }

  /** After the reader stopped: null when the point was found, else why not (one message). */
  verdict(style: TimeStyle = {}): string | null {
    const p = this.point;
    const first = this.first;
    const last = this.last;
    if (first === null) return 'the log has no events';
    if (p.kind === 'seq' && last === null)
      return `seq ${p.seq} is before the log's first event (seq ${first.seq})`;
    if (p.kind === 'time' && last === null)
      return `${fullTime(p.time, style)} is before the log's first event (seq ${first.seq} at ${fullTime(first.time, style)})`;
    if (this.hit || p.kind === 'time') return null;
    if (p.kind === 'seq')
      return `seq ${p.seq} is past the end of the log (its last event is seq ${last?.seq ?? 0})`;
    return this.maxGen === 0
      ? `no generation came into force in this log (no config was loaded)`
      : `generation ${p.gen} never came into force in this log (it has generations up to ${this.maxGen})`;
  }
}
