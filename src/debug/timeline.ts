/**
 * The timeline's data: a lane per service and per check; incarnations as bars, by how they
 * ended; reloads and procreg starts and stops as boundaries; check failures, timeouts,
 * skips and health changes, backoffs, give-ups marked; crash loops grouped; and for every
 * mark the text a click shows — its events and its `why`.
 *
 * Streaming and bounded: up to DETAIL_CAP items are kept as they are. Past that the time
 * axis is cut into at most MAX_BUCKETS buckets per lane (their width doubling as the log
 * goes on); a bucket keeps a few items in detail and counts the rest, and notable items
 * (give-ups, fatal failures, health changes, long incarnations, crash loops) are kept
 * whatever the density, up to NOTABLE_CAP. So a 1M-event log gives a file of a few MB.
 */
import { clockTime, duration, fullTime, type TimeStyle } from './format.js';
import { endedByText } from './history.js';
import { type EndKind, type Ending, type Incarnation, Story } from './story.js';
import { batchesOf, type EventInput, type Step } from './walk.js';
import { explainEnding, renderWhy, type WhyAnswer } from './why.js';
import { describeStep } from './describe.js';

export const TIMELINE_FORMAT = 1;

export type BarKind = EndKind | 'running';
export type MarkKind =
  | 'backoff'
  | 'given-up'
  | 'failed'
  | 'spawn-failed'
  | 'check-failed'
  | 'check-timeout'
  | 'check-skipped'
  | 'healthy'
  | 'unhealthy';

export interface TimelineLane {
  readonly name: string;
  readonly kind: 'service' | 'check';
}

/** An incarnation: lane, start, end (ms), how it ended, label, detail index, crash-loop index or -1. */
export interface TimelineBar {
  readonly l: number;
  readonly s: number;
  readonly e: number;
  readonly k: BarKind;
  readonly t: string;
  readonly d: number;
  readonly p: number;
}

/** A mark: lane, from, to (equal for a point), kind, label, detail index. */
export interface TimelineMark {
  readonly l: number;
  readonly s: number;
  readonly e: number;
  readonly k: MarkKind;
  readonly t: string;
  readonly d: number;
}

/** A check's health between two changes. */
export interface TimelineSpan {
  readonly l: number;
  readonly s: number;
  readonly e: number;
  readonly k: 'healthy' | 'unhealthy' | 'unknown';
}

/** A crash loop: its bars (those whose `p` is this loop's index) drawn as one when they are too narrow. */
export interface TimelineLoop {
  readonly i: number;
  readonly l: number;
  readonly s: number;
  readonly e: number;
  readonly n: number;
  readonly t: string;
  readonly d: number;
}

/** A boundary across every lane: a reload (new generation), procreg starting or stopping. */
export interface TimelineBoundary {
  readonly s: number;
  readonly k: 'reload' | 'start' | 'stop';
  readonly g: number;
  readonly t: string;
  readonly d: number;
}

/** What was too dense to draw one by one: a count per kind over a stretch of a lane. */
export interface TimelineAggregate {
  readonly l: number;
  readonly s: number;
  readonly e: number;
  readonly n: number;
  readonly c: Readonly<Record<string, number>>;
}

export interface TimelineData {
  readonly v: typeof TIMELINE_FORMAT;
  readonly title: string;
  readonly source: string;
  readonly utc: boolean;
  readonly start: number;
  readonly end: number;
  readonly lanes: readonly TimelineLane[];
  readonly bars: readonly TimelineBar[];
  readonly marks: readonly TimelineMark[];
  readonly spans: readonly TimelineSpan[];
  readonly loops: readonly TimelineLoop[];
  readonly boundaries: readonly TimelineBoundary[];
  readonly aggregates: readonly TimelineAggregate[];
  readonly details: readonly string[];
  readonly stats: {
    readonly events: number;
    readonly firstSeq: number;
    readonly lastSeq: number;
    /** Items seen (bars, marks, loops, spans). */
    readonly items: number;
    /** Items drawn one by one. */
    readonly detailed: number;
    /** Items only counted in aggregates. */
    readonly aggregated: number;
    /** Width of an aggregate bucket, ms (null: nothing aggregated). */
    readonly bucketMs: number | null;
  };
}

export interface TimelineOptions extends TimeStyle {
  readonly title?: string;
  readonly source?: string;
  /** Only what overlaps this wall-time window (epoch ms). */
  readonly since?: number;
  readonly until?: number;
  /** Items kept one by one before aggregating (default 20 000). */
  readonly detailCap?: number;
}

const MAX_BUCKETS = 1024;
const DEFAULT_DETAIL_CAP = 20_000;
const NOTABLE_CAP = 4_000;
const BUCKET_DETAIL_BUDGET = 8_000;
const MIN_LOOP = 3;

type ItemType = 'bar' | 'mark' | 'loop' | 'span';

interface Item {
  readonly type: ItemType;
  readonly lane: number;
  readonly s: number;
  e: number;
  readonly kind: string;
  label: string;
  detail: string | null;
  /** Bar: the crash loop it belongs to (-1 none). Loop: its own index. */
  p: number;
  n: number;
  readonly notable: boolean;
}

interface Bucket {
  s: number;
  e: number;
  n: number;
  c: Record<string, number>;
  items: Item[] | null;
}

/** Keeps items one by one while they fit, then in buckets of doubling width. */
class ItemStore {
  private items: Item[] = [];
  private bucketed = false;
  private width = 1;
  private t0 = 0;
  private readonly buckets = new Map<number, Map<number, Bucket>>();
  private notable: Item[] = [];
  private kept = 0;
  private perBucket = 0;
  seen = 0;

  constructor(
    private readonly cap: number,
    private readonly lanes: () => number,
  ) {}

  add(it: Item): void {
    this.seen++;
    if (!this.bucketed) {
      this.items.push(it);
      if (this.items.length > this.cap) this.switchToBuckets();
      return;
    }
    this.place(it);
  }

  private switchToBuckets(): void {
    this.bucketed = true;
    const all = this.items;
    this.items = [];
    this.t0 = Math.min(...all.map((i) => i.s));
    const t1 = Math.max(...all.map((i) => i.e));
    this.width = Math.max(1, Math.ceil((t1 - this.t0 + 1) / (MAX_BUCKETS / 4)));
    this.perBucket = Math.max(
      0,
      Math.floor(BUCKET_DETAIL_BUDGET / (MAX_BUCKETS * Math.max(1, this.lanes()))),
    );
    for (const it of all) this.place(it);
  }

  private place(it: Item): void {
    if ((it.notable || it.e - it.s >= 2 * this.width) && this.notable.length < NOTABLE_CAP) {
      this.notable.push(it);
      return;
    }
    let idx = Math.floor((it.s - this.t0) / this.width);
    while (idx >= MAX_BUCKETS) {
      this.coarsen();
      idx = Math.floor((it.s - this.t0) / this.width);
    }
    idx = Math.max(0, idx);
    let lane = this.buckets.get(it.lane);
    if (!lane) this.buckets.set(it.lane, (lane = new Map()));
    let b = lane.get(idx);
    if (!b) lane.set(idx, (b = { s: it.s, e: it.e, n: 0, c: {}, items: [] }));
    b.s = Math.min(b.s, it.s);
    b.e = Math.max(b.e, it.e);
    b.n++;
    b.c[it.kind] = (b.c[it.kind] ?? 0) + 1;
    if (b.items !== null) {
      if (b.items.length < this.perBucket && this.kept < BUCKET_DETAIL_BUDGET) {
        b.items.push(it);
        this.kept++;
      } else {
        this.kept -= b.items.length;
        b.items = null;
      }
    }
  }

  /** Twice as wide buckets: neighbours merge, their items kept only while they fit. */
  private coarsen(): void {
    this.width *= 2;
    for (const [lane, m] of this.buckets) {
      const next = new Map<number, Bucket>();
      for (const [idx, b] of m) {
        const j = Math.floor(idx / 2);
        const o = next.get(j);
        if (!o) {
          next.set(j, b);
          continue;
        }
        o.s = Math.min(o.s, b.s);
        o.e = Math.max(o.e, b.e);
        o.n += b.n;
        for (const [k, v] of Object.entries(b.c)) o.c[k] = (o.c[k] ?? 0) + v;
        if (o.items !== null && b.items !== null && o.items.length + b.items.length <= this.perBucket)
          o.items.push(...b.items);
        else {
          this.kept -= (o.items?.length ?? 0) + (b.items?.length ?? 0);
          o.items = null;
        }
      }
      this.buckets.set(lane, next);
    }
  }

  /** Items drawn one by one, and the aggregates. */
  result(): { items: Item[]; aggregates: TimelineAggregate[]; bucketMs: number | null } {
    if (!this.bucketed) return { items: this.items, aggregates: [], bucketMs: null };
    const items = [...this.notable];
    const aggregates: TimelineAggregate[] = [];
    for (const [lane, m] of this.buckets)
      for (const b of m.values()) {
        if (b.items !== null) items.push(...b.items);
        else aggregates.push({ l: lane, s: b.s, e: b.e, n: b.n, c: b.c });
      }
    items.sort((a, b) => a.s - b.s);
    aggregates.sort((a, b) => a.l - b.l || a.s - b.s);
    return { items, aggregates, bucketMs: this.width };
  }
}

interface LoopState {
  id: number;
  key: string;
  count: number;
  s: number;
  e: number;
  firstDelay: number;
  lastDelay: number;
  firstInc: number;
  lastInc: number;
}

export class TimelineBuilder {
  private readonly laneIndex = new Map<string, number>();
  private readonly laneList: TimelineLane[] = [];
  private readonly store: ItemStore;
  private readonly boundaries: TimelineBoundary[] = [];
  private readonly boundaryDetails: string[] = [];
  private readonly loopsOf = new Map<string, LoopState>();
  private readonly health = new Map<string, { s: number; k: 'healthy' | 'unhealthy' }>();
  private nextLoop = 0;
  private events = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: TimelineOptions = {}) {
    this.store = new ItemStore(options.detailCap ?? DEFAULT_DETAIL_CAP, () => this.laneList.length);
  }

  attach(story: Story): this {
    story.listen({
      onEnding: (end) => this.ending(end),
      onStep: (s) => this.step(s, story),
    });
    return this;
  }

  private lane(name: string, kind: 'service' | 'check'): number {
    const key = `${kind}:${name}`;
    let i = this.laneIndex.get(key);
    if (i === undefined) {
      i = this.laneList.length;
      this.laneIndex.set(key, i);
      this.laneList.push({ name, kind });
    }
    return i;
  }

  private inWindow(s: number, e: number): boolean {
    const { since, until } = this.options;
    return (since === undefined || e >= since) && (until === undefined || s <= until);
  }

  private add(it: Omit<Item, 'p' | 'n'> & { p?: number; n?: number }): Item {
    const item: Item = { p: -1, n: 1, ...it };
    if (this.inWindow(item.s, item.e)) this.store.add(item);
    return item;
  }

  private step(s: Step, story: Story): void {
    const e = s.event;
    this.events++;
    if (this.firstSeq === 0) this.firstSeq = e.seq;
    this.lastSeq = e.seq;
    this.first = Math.min(this.first, e.time);
    this.last = Math.max(this.last, e.time);
    const style = this.options;
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only these events matter here; the rest change nothing it tracks
    switch (e.type) {
      case 'config-loaded':
        for (const n of Object.keys(e.config.services)) this.lane(n, 'service');
        for (const n of Object.keys(e.config.checks)) this.lane(n, 'check');
        if (s.before.config === null && s.after.gen > s.before.gen)
          this.boundary(
            e.time,
            'start',
            s.after.gen,
            `gen ${s.after.gen}`,
            `generation ${s.after.gen}: config loaded from ${e.source} at ${fullTime(e.time, style)}  [seq ${e.seq}]`,
          );
        return;
      case 'reload-applied': {
        const lines = [
          `generation ${e.gen} applied at ${fullTime(e.time, style)}  [seq ${e.seq}]`,
          describeStep(s),
        ];
        const r = story.reload;
        if (r?.requested)
          lines.push(
            `requested: ${r.requested.source} at ${clockTime(r.requested.time, style)}  [seq ${r.requested.seq}]`,
          );
        this.boundary(e.time, 'reload', e.gen, `gen ${e.gen}`, lines.join('\n'));
        return;
      }
      case 'supervisor-started':
        if (s.after.instance > 1)
          this.boundary(
            e.time,
            'start',
            s.after.gen,
            `procreg #${s.after.instance}`,
            `procreg started again (pid ${e.pid}, instance ${s.after.instance}) at ${fullTime(e.time, style)}  [seq ${e.seq}]${s.before.procs.size ? `\n${s.before.procs.size} process(es) of the previous procreg still registered: reaped` : ''}`,
          );
        return;
      case 'supervisor-stopping':
        if (s.before.phase !== 'stopping')
          this.boundary(
            e.time,
            'stop',
            s.after.gen,
            'stop',
            `procreg stopping (${e.reason}) at ${fullTime(e.time, style)}  [seq ${e.seq}]`,
          );
        return;
      case 'check-finished': {
        if (e.ok || e.stale) return;
        const l = this.lane(e.name, 'check');
        const k: MarkKind = e.timedOut ? 'check-timeout' : 'check-failed';
        this.add({
          type: 'mark',
          lane: l,
          s: e.time,
          e: e.time,
          kind: k,
          label: `run ${e.run} ${e.timedOut ? 'timed out' : 'failed'}`,
          detail: `${describeStep(s)}\nat ${fullTime(e.time, style)}  [seq ${e.seq}]`,
          notable: false,
        });
        return;
      }
      case 'check-skipped': {
        const l = this.lane(e.name, 'check');
        this.add({
          type: 'mark',
          lane: l,
          s: e.time,
          e: e.time,
          kind: 'check-skipped',
          label: `run ${e.run} skipped`,
          detail: `${describeStep(s)}\nat ${fullTime(e.time, style)}  [seq ${e.seq}]`,
          notable: false,
        });
        return;
      }
      case 'check-health-changed': {
        const l = this.lane(e.name, 'check');
        this.closeHealth(e.name, e.time);
        this.health.set(e.name, { s: e.time, k: e.healthy ? 'healthy' : 'unhealthy' });
        const h = story.health(e.name);
        const runs = h
          ? h.runs.map(
              (r) =>
                `  run ${r.run} ${r.ok ? 'ok' : r.timedOut ? 'timed out' : `failed (${r.signal ?? `code ${r.code}`})`} at ${clockTime(r.time, style)}  [seq ${r.seq}]`,
            )
          : [];
        this.add({
          type: 'mark',
          lane: l,
          s: e.time,
          e: e.time,
          kind: e.healthy ? 'healthy' : 'unhealthy',
          label: e.healthy ? 'healthy' : 'unhealthy',
          detail: [
            `${describeStep(s)}`,
            `at ${fullTime(e.time, style)}  [seq ${e.seq}]`,
            ...(runs.length ? ['because:', ...runs] : []),
          ].join('\n'),
          notable: true,
        });
        return;
      }
      default:
        return;
    }
  }

  private closeHealth(name: string, at: number): void {
    const h = this.health.get(name);
    if (!h) return;
    this.health.delete(name);
    this.add({
      type: 'span',
      lane: this.lane(name, 'check'),
      s: h.s,
      e: at,
      kind: h.k,
      label: '',
      detail: null,
      notable: true,
    });
  }

  private boundary(time: number, k: TimelineBoundary['k'], g: number, t: string, detail: string): void {
    if (!this.inWindow(time, time)) return;
    if (this.boundaries.length >= NOTABLE_CAP) return;
    this.boundaries.push({ s: time, k, g, t, d: this.boundaryDetails.length });
    this.boundaryDetails.push(detail);
  }

  private ending(end: Ending): void {
    const inc = end.incarnation;
    const l = this.lane(inc.service, 'service');
    const style = this.options;
    const loop = this.loopStep(inc.service, end);
    if (end.cause.kind === 'spawn-failed') {
      this.add({
        type: 'mark',
        lane: l,
        s: end.at.time,
        e: end.at.time,
        kind: 'spawn-failed',
        label: `#${inc.incarnation} could not start`,
        detail: barDetail(inc, end, style),
        notable: false,
      });
    } else {
      this.add({
        type: 'bar',
        lane: l,
        s: inc.started.time,
        e: end.at.time,
        kind: end.cause.kind,
        label: `#${inc.incarnation}`,
        detail: barDetail(inc, end, style),
        p: loop,
        notable: false,
      });
    }
    const n = end.next;
    if (n.kind === 'restart')
      this.add({
        type: 'mark',
        lane: l,
        s: end.at.time,
        e: end.at.time + n.delayMs,
        kind: 'backoff',
        label: `backoff ${duration(n.delayMs)}`,
        detail: `${inc.service}: restart as #${inc.incarnation + 1} after a backoff of ${duration(n.delayMs)}${n.at ? `  [seq ${n.at.seq}]` : ''}`,
        notable: false,
      });
    else if (n.kind === 'given-up' || n.kind === 'failed')
      this.add({
        type: 'mark',
        lane: l,
        s: end.at.time,
        e: end.at.time,
        kind: n.kind,
        label: n.kind === 'given-up' ? 'given up' : 'failed',
        detail: barDetail(inc, end, style),
        notable: true,
      });
  }

  /** The crash loop this ending belongs to (-1 none); closes the loop it breaks. */
  private loopStep(service: string, end: Ending): number {
    const n = end.next;
    const quick =
      n.kind === 'restart' && !n.reset && (end.cause.kind === 'crash' || end.cause.kind === 'exit');
    const key = `${end.code}/${end.signal}/${end.error}`;
    const cur = this.loopsOf.get(service);
    // A cycle continues the loop when its run was quick too (the backoff kept growing).
    if (cur && quick && cur.key === key && n.kind === 'restart' && n.quickFailures >= 1) {
      cur.count++;
      cur.e = end.at.time;
      cur.lastDelay = n.delayMs;
      cur.lastInc = end.incarnation.incarnation;
      return cur.id;
    }
    if (cur) this.closeLoop(service, cur);
    if (!quick || n.kind !== 'restart') return -1;
    const id = this.nextLoop++;
    this.loopsOf.set(service, {
      id,
      key,
      count: 1,
      s: end.incarnation.started.time,
      e: end.at.time,
      firstDelay: n.delayMs,
      lastDelay: n.delayMs,
      firstInc: end.incarnation.incarnation,
      lastInc: end.incarnation.incarnation,
    });
    return id;
  }

  private closeLoop(service: string, l: LoopState): void {
    this.loopsOf.delete(service);
    if (l.count < MIN_LOOP) return;
    const how = l.key.split('/');
    const exit = how[1] !== 'null' ? `signal ${how[1]}` : `code ${how[0]}`;
    const backoff =
      l.firstDelay === l.lastDelay
        ? duration(l.firstDelay)
        : `${duration(l.firstDelay)}→${duration(l.lastDelay)}`;
    this.add({
      type: 'loop',
      lane: this.lane(service, 'service'),
      s: l.s,
      e: l.e,
      kind: 'loop',
      label: `crash loop ×${l.count}`,
      detail: `${service} #${l.firstInc}–#${l.lastInc}: crash loop, ${l.count} incarnations exited ${exit}, each restarted after a growing backoff (${backoff}), over ${duration(l.e - l.s)}\n(zoom in to see each incarnation)`,
      p: l.id,
      n: l.count,
      notable: true,
    });
  }

  result(story: Story): TimelineData {
    for (const [service, l] of [...this.loopsOf]) this.closeLoop(service, l);
    const lastTime = story.lastEvent?.time ?? 0;
    for (const name of [...this.health.keys()]) this.closeHealth(name, lastTime);
    // Incarnations still running at the end of the log.
    for (const svc of story.state.services.values()) {
      for (const inc of story.liveOf(svc.name)) {
        const l = this.lane(inc.service, 'service');
        this.add({
          type: 'bar',
          lane: l,
          s: inc.started.time,
          e: lastTime,
          kind: 'running',
          label: `#${inc.incarnation}`,
          detail: runningDetail(inc, lastTime, this.options),
          notable: true,
        });
      }
    }
    const { items, aggregates, bucketMs } = this.store.result();
    const details: string[] = [...this.boundaryDetails];
    const bars: TimelineBar[] = [];
    const marks: TimelineMark[] = [];
    const spans: TimelineSpan[] = [];
    const loops: TimelineLoop[] = [];
    const d = (it: Item) => {
      if (it.detail === null) return -1;
      details.push(it.detail);
      return details.length - 1;
    };
    for (const it of items) {
      switch (it.type) {
        case 'bar':
          bars.push({ l: it.lane, s: it.s, e: it.e, k: it.kind as BarKind, t: it.label, d: d(it), p: it.p });
          break;
        case 'mark':
          marks.push({ l: it.lane, s: it.s, e: it.e, k: it.kind as MarkKind, t: it.label, d: d(it) });
          break;
        case 'span':
          spans.push({ l: it.lane, s: it.s, e: it.e, k: it.kind as TimelineSpan['k'] });
          break;
        case 'loop':
          loops.push({ i: it.p, l: it.lane, s: it.s, e: it.e, n: it.n, t: it.label, d: d(it) });
          break;
      }
    }
    const detailed = items.length;
    const start = this.options.since ?? (Number.isFinite(this.first) ? this.first : 0);
    const end = this.options.until ?? (Number.isFinite(this.last) ? this.last : start);
    return {
      v: TIMELINE_FORMAT,
      title: this.options.title ?? 'procreg timeline',
      source: this.options.source ?? '',
      utc: this.options.utc ?? false,
      start,
      end: Math.max(end, start + 1),
      lanes: this.laneList,
      bars,
      marks,
      spans,
      loops,
      boundaries: this.boundaries,
      aggregates,
      details,
      stats: {
        events: this.events,
        firstSeq: this.firstSeq,
        lastSeq: this.lastSeq,
        items: this.store.seen,
        detailed,
        aggregated: this.store.seen - detailed,
        bucketMs,
      },
    };
  }
}

function barDetail(inc: Incarnation, end: Ending, style: TimeStyle): string {
  const why = explainEnding(end, style);
  const answer: WhyAnswer = {
    subject: { kind: 'service', name: inc.service },
    question: `why did ${inc.service} #${inc.incarnation} end, and what followed?`,
    answer: why.answer,
    chain: why.chain,
    root: why.root,
    logEnd: { seq: 0, time: 0 },
  };
  const exit =
    end.error !== null
      ? `could not start: ${end.error}`
      : end.signal !== null
        ? `signal ${end.signal}`
        : end.code !== null
          ? `code ${end.code}`
          : 'gone';
  return [
    `${inc.service} #${inc.incarnation}${inc.pid !== null ? `  pid ${inc.pid}` : ''}  gen ${inc.gen}${inc.instance > 1 ? `  (procreg instance ${inc.instance})` : ''}`,
    `started ${fullTime(inc.started.time, style)}${inc.reason ? ` (${inc.reason}${inc.after ? `: #${inc.after.incarnation} ${inc.after.summary}` : ''})` : ''}  [seq ${inc.started.seq}]`,
    `ended   ${fullTime(end.at.time, style)}${end.uptimeMs !== null ? ` after ${duration(end.uptimeMs)}` : ''}: ${exit} — ${endedByText(end)}  [seq ${end.at.seq}]`,
    '',
    renderWhy(answer, style),
  ].join('\n');
}

function runningDetail(inc: Incarnation, lastTime: number, style: TimeStyle): string {
  return [
    `${inc.service} #${inc.incarnation}${inc.pid !== null ? `  pid ${inc.pid}` : ''}  gen ${inc.gen}`,
    `started ${fullTime(inc.started.time, style)}${inc.reason ? ` (${inc.reason}${inc.after ? `: #${inc.after.incarnation} ${inc.after.summary}` : ''})` : ''}  [seq ${inc.started.seq}]`,
    `still running at the end of the log (${fullTime(lastTime, style)})`,
  ].join('\n');
}

/** The timeline of a log as data (then timelineHtml draws it). */
export async function timelineData(events: EventInput, options: TimelineOptions = {}): Promise<TimelineData> {
  const story = new Story();
  const b = new TimelineBuilder(options).attach(story);
  for await (const batch of batchesOf(events)) for (const e of batch) story.push(e);
  story.finish();
  return b.result(story);
}
