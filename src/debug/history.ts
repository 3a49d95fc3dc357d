/**
 * `procreg history`: one row per incarnation of a service — number, generation, PID,
 * started, ended, uptime, how it ended and who caused it, the restart delay chosen after it
 * and the restart-intensity count at that moment. Like systemd's `--list-invocations` with
 * kubectl's "Last State".
 */
import type { ServicePhase } from '../core/state.js';
import { configDuration, duration } from './format.js';
import {
  type EndKind,
  type Ending,
  type Incarnation,
  type LastWords,
  type NextDecision,
  Story,
} from './story.js';
import { type EventInput, batchesOf } from './walk.js';
import { KnownNames } from './filter.js';

export interface HistoryRow {
  readonly incarnation: number;
  /** The procreg instance on this log (1 for the first; +1 per restart of procreg). */
  readonly instance: number;
  readonly generation: number;
  readonly pid: number | null;
  readonly startedAt: number;
  readonly startSeq: number;
  /** Why it was started: start, restart, reload, requested (null: before the log or a snapshot). */
  readonly startReason: string | null;
  readonly endedAt: number | null;
  readonly endSeq: number | null;
  /** Until its end, or until the log's last event while it still runs. */
  readonly uptimeMs: number | null;
  readonly running: boolean;
  readonly exit: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly error: string | null;
  } | null;
  readonly endedBy: { readonly kind: EndKind; readonly text: string; readonly seq: number | null } | null;
  readonly then: {
    readonly kind: NextDecision['kind'];
    readonly text: string;
    readonly delayMs: number | null;
    /** Restarts of the service so far (its restart counter). */
    readonly restarts: number | null;
    /** Restarts within maxRestarts.within at that moment, of maxRestarts.count. */
    readonly inWindow: number | null;
    readonly maxRestarts: number | null;
    readonly withinMs: number | null;
    readonly seq: number | null;
  } | null;
  readonly lastWords: LastWords | null;
}

export interface ServiceHistory {
  readonly service: string;
  /** Its state at the end of what was read, or null if the registry no longer holds it. */
  readonly state: ServicePhase | null;
  readonly rows: readonly HistoryRow[];
  /** Rows left out before the first one shown (with `last`). */
  readonly omitted: number;
  readonly lastSeq: number;
  readonly lastTime: number;
}

export interface HistoryOptions {
  /** Keep only the last N rows (memory then stays bounded whatever the log). */
  readonly last?: number;
}

/** Builds the rows of one service while a Story walks the log. */
export class HistoryBuilder {
  private readonly done: HistoryRow[] = [];
  private omitted = 0;
  private readonly open = new Map<string, Incarnation>();

  constructor(
    readonly service: string,
    private readonly options: HistoryOptions = {},
  ) {}

  attach(story: Story): this {
    story.listen({
      onStart: (inc) => {
        if (inc.service === this.service && inc.pid !== null) this.open.set(key(inc), inc);
      },
      onEnding: (end) => {
        if (end.incarnation.service !== this.service) return;
        this.open.delete(key(end.incarnation));
        this.add(rowOf(end.incarnation, end, null));
      },
    });
    return this;
  }

  private add(row: HistoryRow): void {
    this.done.push(row);
    const last = this.options.last;
    if (last !== undefined && this.done.length > last) {
      this.done.shift();
      this.omitted++;
    }
  }

  /** The rows, incarnations still running last (as of the story's last event). */
  result(story: Story): ServiceHistory {
    const lastEv = story.lastEvent;
    const now = lastEv?.mono ?? 0;
    const rows = [...this.done];
    for (const inc of this.open.values()) rows.push(rowOf(inc, null, now));
    rows.sort((a, b) => a.startSeq - b.startSeq);
    const last = this.options.last;
    const cut = last !== undefined && rows.length > last ? rows.length - last : 0;
    return {
      service: this.service,
      state: story.state.services.get(this.service)?.phase ?? null,
      rows: rows.slice(cut),
      omitted: this.omitted + cut,
      lastSeq: lastEv?.seq ?? 0,
      lastTime: lastEv?.time ?? 0,
    };
  }
}

const key = (i: Incarnation) => `${i.instance}:${i.incarnation}:${i.pid}`;

function rowOf(inc: Incarnation, end: Ending | null, nowMono: number | null): HistoryRow {
  return {
    incarnation: inc.incarnation,
    instance: inc.instance,
    generation: inc.gen,
    pid: inc.pid,
    startedAt: inc.started.time,
    startSeq: inc.started.seq,
    startReason: inc.reason,
    endedAt: end?.at.time ?? null,
    endSeq: end?.at.seq ?? null,
    uptimeMs: end ? end.uptimeMs : nowMono !== null ? Math.max(0, nowMono - inc.startedMono) : null,
    running: end === null,
    exit: end ? { code: end.code, signal: end.signal, error: end.error } : null,
    endedBy: end ? { kind: end.cause.kind, text: endedByText(end), seq: causeSeq(end) } : null,
    then: end ? thenOf(end.next) : null,
    lastWords: end?.lastWords ?? null,
  };
}

/** Who or what ended it, for the ENDED BY column. */
export function endedByText(e: Ending): string {
  const c = e.cause;
  switch (c.kind) {
    case 'crash':
      return 'crash';
    case 'exit':
      return 'exited on its own';
    case 'spawn-failed':
      return `spawn failed`;
    case 'check':
      return c.health ? `check ${c.health.check} unhealthy` : 'a check turned unhealthy';
    case 'reload':
      return `${c.removed ? 'removed' : 'changed'} by reload${c.reload ? ` gen ${c.reload.gen}` : ''}`;
    case 'operator':
      return 'operator stop';
    case 'procreg-stop':
      return `procreg stop${c.stopping ? ` (${c.stopping.reason})` : ''}`;
    case 'orphan-reaping':
      return 'orphan reaping';
    case 'forgotten':
      return 'forgotten (earlier boot)';
    case 'unwanted':
      return 'unwanted';
    case 'unknown':
      return 'unknown';
  }
}

function causeSeq(e: Ending): number | null {
  const c = e.cause;
  switch (c.kind) {
    case 'check':
      return c.health?.seq ?? c.stop.seq;
    case 'reload':
      return c.reload?.seq ?? c.stop.seq;
    case 'operator':
      return c.request?.seq ?? c.stop.seq;
    case 'procreg-stop':
      return c.stopping?.seq ?? c.stop?.seq ?? null;
    case 'orphan-reaping':
      return c.successor.seq;
    case 'unwanted':
      return c.stop?.seq ?? null;
    case 'crash':
    case 'exit':
    case 'spawn-failed':
    case 'forgotten':
    case 'unknown':
      return e.at.seq;
  }
}

function thenOf(n: NextDecision): HistoryRow['then'] {
  const base = (kind: NextDecision['kind'], text: string) => ({
    kind,
    text,
    delayMs: null,
    restarts: null,
    inWindow: null,
    maxRestarts: null,
    withinMs: null,
    seq: null,
  });
  switch (n.kind) {
    case 'restart':
      return {
        ...base(n.kind, `restart in ${duration(n.delayMs)}${n.reset ? ' (backoff reset)' : ''}`),
        delayMs: n.delayMs,
        restarts: n.restarts,
        inWindow: n.inWindow,
        maxRestarts: n.intensity.count,
        withinMs: n.intensity.withinMs,
        seq: n.at?.seq ?? null,
      };
    case 'restart-now':
      return {
        ...base(n.kind, 'restarted at once'),
        delayMs: 0,
        restarts: n.restarts,
        inWindow: n.inWindow,
        maxRestarts: n.intensity.count,
        withinMs: n.intensity.withinMs,
        seq: n.at?.seq ?? null,
      };
    case 'respawn':
      return { ...base(n.kind, `restarted at once (${n.cause})`), delayMs: 0, seq: n.at?.seq ?? null };
    case 'given-up':
      return {
        ...base(n.kind, 'given up'),
        restarts: n.restarts,
        inWindow: n.inWindow,
        maxRestarts: n.intensity.count,
        withinMs: n.intensity.withinMs,
        seq: n.at?.seq ?? null,
      };
    case 'failed':
      return { ...base(n.kind, `failed (fatal exit code ${n.code})`), seq: n.at?.seq ?? null };
    case 'stay-down':
      return { ...base(n.kind, `stays down (${n.reason})`) };
    case 'removed':
      return { ...base(n.kind, 'removed from the registry') };
    case 'successor':
      return { ...base(n.kind, 'its successor started'), seq: n.at?.seq ?? null };
    case 'none':
      return { ...base(n.kind, '-') };
  }
}

/** The history of `service` from a whole log (or up to where the events stop). */
export async function serviceHistory(
  events: EventInput,
  service: string,
  options: HistoryOptions = {},
): Promise<ServiceHistory & { readonly known: readonly string[] }> {
  const story = new Story();
  const known = new KnownNames();
  const builder = new HistoryBuilder(service, options).attach(story);
  for await (const batch of batchesOf(events))
    for (const e of batch) {
      known.see(e);
      story.push(e);
    }
  story.finish();
  return { ...builder.result(story), known: known.services };
}

/** The RESTARTS column: `3 of 10 in 60s`. */
export function windowText(t: HistoryRow['then']): string {
  if (!t || t.inWindow === null || t.maxRestarts === null || t.withinMs === null) return '-';
  const over = t.kind === 'given-up' ? ' (limit)' : '';
  return `${t.inWindow} of ${t.maxRestarts} in ${configDuration(t.withinMs)}${over}`;
}
