/**
 * The story of a log: every incarnation of every service from its start to its end, how it
 * ended and who caused it, and what the fold decided next, with the numbers; the causal
 * memory a `why` needs (the stop behind an exit, the check failures behind a stop, the reload
 * behind a change, the crash behind an orphan). Pure, streaming and bounded: it remembers a
 * few things per live process and per service or check name, never the log.
 *
 * Endings are told once the decisions logged after their input have been read (their seqs
 * are then known): on the next input, or on finish().
 */
import { decideAfterExit } from '../core/after-exit.js';
import type { ExitInfo, ServiceStatus, State } from '../core/state.js';
import type { BackoffDef, IntensityDef, ServiceDef } from '../config/types.js';
import { EVENT_KINDS, type Event, type LastWords, type Pid, type SpawnRequested } from '../events/types.js';
import { type Step, Walker } from './walk.js';

/** The last lines a process wrote before it exited, when the exit record carries them. */
export type { LastWords };

/** Where something is in the log. */
export interface At {
  readonly seq: number;
  readonly time: number;
}

export interface Incarnation {
  readonly service: string;
  readonly incarnation: number;
  /** The supervisor instance (1 for the first procreg on this log, +1 per restart of procreg). */
  readonly instance: number;
  /** Generation the incarnation was started under. */
  readonly gen: number;
  readonly pid: Pid | null;
  /** When it was started (spawned, or the failed spawn). */
  readonly started: At;
  readonly startedMono: number;
  /** Why it was started, as spawn-requested said, and the request itself. */
  readonly reason: SpawnRequested['reason'] | null;
  readonly requested: At | null;
  /** For a restart: how its predecessor ended (seq of that ending's exit). */
  readonly after: { readonly incarnation: number; readonly seq: number; readonly summary: string } | null;
  /** For a reload: the generation that started it. */
  readonly reloadGen: number | null;
}

export interface RunResult extends At {
  readonly run: number;
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface StopRef extends At {
  readonly signal: string;
  readonly reason: string;
}

export interface HealthRef extends At {
  readonly check: string;
  readonly healthy: boolean;
  /** The runs in a row that turned it (the last `fall` failures or `rise` successes). */
  readonly runs: readonly RunResult[];
  readonly rise: number;
  readonly fall: number;
}

export interface FieldChange {
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

export interface ReloadRef extends At {
  readonly gen: number;
  /** The config-loaded input that became this generation, and its source. */
  readonly loaded: At & { readonly source: string };
  /** The reload request that led to it, when one was logged. */
  readonly requested: (At & { readonly source: string }) | null;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** Who or what ended an incarnation. */
export type EndCause =
  | { readonly kind: 'crash' }
  | { readonly kind: 'exit' }
  | { readonly kind: 'spawn-failed'; readonly error: string }
  | { readonly kind: 'check'; readonly stop: StopRef; readonly health: HealthRef | null }
  | {
      readonly kind: 'reload';
      readonly stop: StopRef;
      readonly removed: boolean;
      readonly reload: ReloadRef | null;
      readonly fields: readonly FieldChange[];
    }
  | { readonly kind: 'operator'; readonly stop: StopRef; readonly request: At | null }
  | {
      readonly kind: 'procreg-stop';
      readonly stop: StopRef | null;
      readonly stopping: (At & { readonly reason: string }) | null;
    }
  | {
      readonly kind: 'orphan-reaping';
      /** The procreg that found it, and the last event of the one that had started it. */
      readonly successor: At & { readonly pid: Pid; readonly instance: number };
      readonly predecessorLast: At | null;
      readonly reaped: (At & { readonly outcome: string; readonly detail: string | null }) | null;
    }
  | { readonly kind: 'forgotten'; readonly reason: string }
  | { readonly kind: 'unwanted'; readonly stop: StopRef | null }
  | { readonly kind: 'unknown' };

export type EndKind = EndCause['kind'];

/** What the fold decided once the incarnation had ended, with the numbers behind it. */
export type NextDecision =
  | {
      readonly kind: 'restart';
      readonly delayMs: number;
      /** Consecutive quick exits before this one: the backoff exponent used. */
      readonly quickFailures: number;
      /** It ran at least backoff.resetAfter: the backoff started over. */
      readonly reset: boolean;
      readonly restarts: number;
      readonly inWindow: number;
      readonly backoff: BackoffDef;
      readonly intensity: IntensityDef;
      readonly at: At | null;
    }
  | {
      readonly kind: 'restart-now';
      readonly restarts: number;
      readonly inWindow: number;
      readonly intensity: IntensityDef;
      readonly at: At | null;
    }
  | {
      readonly kind: 'respawn';
      readonly cause: 'reload' | 'requested' | 'dependency';
      readonly at: At | null;
    }
  | {
      readonly kind: 'given-up';
      readonly restarts: number;
      readonly inWindow: number;
      readonly intensity: IntensityDef;
      /** Monotonic ages (ms before the exit) of the restarts that still counted. */
      readonly windowAgesMs: readonly number[];
      readonly at: At | null;
    }
  | { readonly kind: 'failed'; readonly code: number; readonly at: At | null }
  | { readonly kind: 'stay-down'; readonly reason: string; readonly policy: ServiceDef['restart'] }
  | { readonly kind: 'removed' }
  | { readonly kind: 'successor'; readonly at: At | null }
  | { readonly kind: 'none' };

export interface Ending {
  readonly incarnation: Incarnation;
  /** The input that ended it (exited, group-exited, spawn-failed, orphan-reaped, supervisor-started). */
  readonly at: At;
  readonly inputType: Event['type'];
  readonly mono: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly error: string | null;
  readonly uptimeMs: number | null;
  readonly cause: EndCause;
  readonly next: NextDecision;
  readonly lastWords: LastWords | null;
}

export interface StoryListener {
  /** An incarnation started (its spawned or spawn-failed event). */
  onStart?(inc: Incarnation, step: Step): void;
  /** An incarnation ended; told once the decisions logged after its input are read. */
  onEnding?(ending: Ending): void;
  onStep?(step: Step): void;
}

interface OpenRow {
  inc: Incarnation;
  leaderExit: { code: number | null; signal: string | null; lastWords: LastWords | null } | null;
}

interface PendingEnding {
  ending: Mutable<Ending>;
  /** The decision record type whose logged seq completes `next`. */
  waitFor: string | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Results remembered per check (enough for any rise/fall). */
const RUNS_KEPT = 32;

export class Story {
  readonly walker: Walker;
  private readonly listeners: StoryListener[] = [];
  private readonly open = new Map<Pid, OpenRow>();
  private readonly requested = new Map<string, { at: At; reason: SpawnRequested['reason']; gen: number }>();
  private readonly stops = new Map<Pid, StopRef>();
  private readonly runs = new Map<string, RunResult[]>();
  private readonly healthOf = new Map<string, HealthRef>();
  private readonly reloadOf = new Map<string, ReloadRef>();
  private readonly stopRequests = new Map<string, At>();
  private readonly startRequests = new Map<string, At>();
  private readonly endings = new Map<string, Ending>();
  private readonly orphanReaped = new Map<Pid, At & { outcome: string; detail: string | null }>();
  private pending: PendingEnding[] = [];
  /** Decisions logged for the current input: a health change explains a check-failed stop. */
  private inputHealth: HealthRef | null = null;
  private lastReload: ReloadRef | null = null;
  private lastRequest: (At & { source: string }) | null = null;
  private lastLoad: (At & { source: string }) | null = null;
  /** The config in force before the last config-loaded: what a reload-applied compares with. */
  private configBefore: State['config'] = null;
  private stopping: (At & { reason: string }) | null = null;
  private instanceStart: (At & { pid: Pid; instance: number }) | null = null;
  private predecessorLast: At | null = null;
  private last: Event | null = null;
  private first: Event | null = null;

  constructor(walker: Walker = new Walker()) {
    this.walker = walker;
  }

  listen(l: StoryListener): this {
    this.listeners.push(l);
    return this;
  }

  get state(): State {
    return this.walker.state;
  }

  /** The first and last events walked. */
  get firstEvent(): Event | null {
    return this.first;
  }
  get lastEvent(): Event | null {
    return this.last;
  }

  push(event: Event): Step {
    const kind = EVENT_KINDS[event.type];
    if (kind === 'input' || kind === 'snapshot') this.settle();
    const prev = this.last;
    this.first ??= event;
    const s = this.walker.push(event);
    this.last = event;
    if (kind === 'input' || kind === 'snapshot') {
      this.inputHealth = null;
      this.onInput(s, prev);
    } else if (kind === 'decision') this.onDecision(s);
    for (const l of this.listeners) l.onStep?.(s);
    return s;
  }

  /** Tell the endings still waiting for their decisions (the end of the log). */
  finish(): void {
    this.settle();
  }

  // ----- what a `why` of the current state asks ---------------------------------------------

  /** The incarnation of `service` whose process is live now (or starting), if any. */
  current(service: string): Incarnation | null {
    const svc = this.state.services.get(service);
    if (svc?.pid != null) return this.open.get(svc.pid)?.inc ?? null;
    return null;
  }

  lastEnding(service: string): Ending | null {
    return this.endings.get(service) ?? null;
  }

  health(check: string): HealthRef | null {
    return this.healthOf.get(check) ?? null;
  }

  recentRuns(check: string): readonly RunResult[] {
    return this.runs.get(check) ?? [];
  }

  stopOf(pid: Pid): StopRef | null {
    return this.stops.get(pid) ?? null;
  }

  stopRequest(service: string): At | null {
    return this.stopRequests.get(service) ?? null;
  }

  startRequest(service: string): At | null {
    return this.startRequests.get(service) ?? null;
  }

  reloadFor(name: string): ReloadRef | null {
    return this.reloadOf.get(name) ?? null;
  }

  get supervisorStopping(): (At & { reason: string }) | null {
    return this.stopping;
  }

  get instance(): (At & { pid: Pid; instance: number }) | null {
    return this.instanceStart;
  }

  /** Open incarnations (live processes, orphans included) of `service`. */
  liveOf(service: string): Incarnation[] {
    return [...this.open.values()].filter((r) => r.inc.service === service).map((r) => r.inc);
  }

  // ----- inputs -------------------------------------------------------------------------------

  private onInput(s: Step, prev: Event | null): void {
    const e = s.event;
    const at = { seq: e.seq, time: e.time };
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only these events matter here; the rest change nothing it tracks
    switch (e.type) {
      case 'supervisor-started':
        this.instanceStart = { ...at, pid: e.pid, instance: s.after.instance };
        this.predecessorLast = prev ? { seq: prev.seq, time: prev.time } : null;
        this.stopping = null;
        this.requested.clear();
        this.stopRequests.clear();
        this.startRequests.clear();
        break;
      case 'supervisor-stopping':
        if (s.before.phase !== 'stopping') this.stopping = { ...at, reason: e.reason };
        break;
      case 'config-loaded':
        this.lastLoad = { ...at, source: e.source };
        this.configBefore = s.before.config;
        break;
      case 'reload-requested':
        this.lastRequest = { ...at, source: e.source };
        break;
      case 'stop-requested':
        this.stopRequests.set(e.name, at);
        break;
      case 'start-requested':
        this.startRequests.set(e.name, at);
        break;
      case 'orphan-reaped':
        this.orphanReaped.set(e.pid, { ...at, outcome: e.outcome, detail: e.detail });
        break;
      case 'spawned':
        this.started(s, e.name, e.incarnation, e.gen, e.pid);
        break;
      case 'spawn-failed':
        this.spawnFailed(s, e);
        break;
      case 'exited': {
        const row = this.open.get(e.pid);
        const lw = lastWordsOf(e);
        if (row && s.after.procs.get(e.pid)?.leaderExit)
          row.leaderExit = { code: e.code, signal: e.signal, lastWords: lw };
        break;
      }
      default:
        break;
    }
    // Whatever left the registry in this step has ended.
    if (this.open.size > 0) {
      const pid = 'pid' in e && typeof e.pid === 'number' ? e.pid : null;
      if (pid !== null && e.type !== 'spawned') {
        if (this.open.has(pid) && !s.after.procs.has(pid)) this.ended(s, pid);
      } else if (e.type === 'supervisor-started' || e.type === 'snapshot') {
        for (const p of [...this.open.keys()]) if (!s.after.procs.has(p)) this.ended(s, p);
      }
    }
    if (e.type === 'snapshot') this.adoptSnapshot(s);
    if (e.type === 'supervisor-started') this.orphanReaped.clear();
  }

  private started(s: Step, name: string, incarnation: number, gen: number, pid: Pid | null): Incarnation {
    const req = this.requested.get(name);
    // The request was for this process only if the registry took it as its current incarnation.
    const r = req !== undefined && (pid === null || s.after.services.get(name)?.pid === pid) ? req : null;
    const prevEnd = this.endings.get(name);
    const reason = r?.reason ?? null;
    const inc: Incarnation = {
      service: name,
      incarnation,
      instance: s.after.instance,
      gen,
      pid,
      started: { seq: s.event.seq, time: s.event.time },
      startedMono: s.event.mono,
      reason,
      requested: r?.at ?? null,
      after:
        reason === 'restart' && prevEnd && prevEnd.incarnation.instance === s.after.instance
          ? {
              incarnation: prevEnd.incarnation.incarnation,
              seq: prevEnd.at.seq,
              summary: endSummary(prevEnd),
            }
          : null,
      reloadGen: reason === 'reload' ? (r?.gen ?? null) : null,
    };
    if (r) this.requested.delete(name);
    if (pid !== null) this.open.set(pid, { inc, leaderExit: null });
    for (const l of this.listeners) l.onStart?.(inc, s);
    return inc;
  }

  private spawnFailed(s: Step, e: Extract<Event, { type: 'spawn-failed' }>): void {
    const before = s.before.services.get(e.name);
    const waited =
      before?.phase === 'starting' && before.incarnation === e.incarnation && before.spawnGen === e.gen;
    if (!waited) return;
    const inc = this.started(s, e.name, e.incarnation, e.gen, null);
    this.finishEnding(s, inc, {
      code: null,
      signal: null,
      error: e.error,
      cause: { kind: 'spawn-failed', error: e.error },
      lastWords: null,
      current: before,
    });
  }

  private ended(s: Step, pid: Pid): void {
    const row = this.open.get(pid) as OpenRow;
    this.open.delete(pid);
    const e = s.event;
    const inc = row.inc;
    const entry = s.before.procs.get(pid);
    const orphan = entry !== undefined && entry.gen < s.before.instanceGen;
    const stop = this.stops.get(pid) ?? null;
    this.stops.delete(pid);
    let code: number | null = null;
    let signal: string | null = null;
    let lastWords: LastWords | null = row.leaderExit?.lastWords ?? null;
    if (e.type === 'exited') {
      code = e.code;
      signal = e.signal;
      lastWords = lastWordsOf(e);
    } else if (row.leaderExit) {
      code = row.leaderExit.code;
      signal = row.leaderExit.signal;
    }
    let cause: EndCause;
    if (e.type === 'supervisor-started')
      cause = { kind: 'forgotten', reason: 'left running in an earlier boot' };
    else if (orphan || inc.instance < s.before.instance) {
      cause = {
        kind: 'orphan-reaping',
        successor: this.instanceStart ?? { seq: e.seq, time: e.time, pid: 0, instance: s.before.instance },
        predecessorLast: this.predecessorLast,
        reaped: this.orphanReaped.get(pid) ?? null,
      };
    } else cause = this.causeOf(stop, code, signal, inc.service);
    const svc = s.before.services.get(inc.service);
    const current = svc !== undefined && svc.pid === pid && svc.incarnation === inc.incarnation ? svc : null;
    this.finishEnding(s, inc, { code, signal, error: null, cause, lastWords, current });
  }

  /** What a stop signal sent to `service`'s process means: who asked for it, as of now. */
  stopCause(stop: StopRef, service: string): EndCause {
    return this.causeOf(stop, null, null, service);
  }

  private causeOf(
    stop: StopRef | null,
    code: number | null,
    signal: string | null,
    service: string,
  ): EndCause {
    if (stop === null || stop.reason === 'leader-exited')
      return code === 0 && signal === null ? { kind: 'exit' } : { kind: 'crash' };
    switch (stop.reason) {
      case 'check-failed':
        return { kind: 'check', stop, health: this.stopHealth.get(stop.seq) ?? null };
      case 'reload-changed':
      case 'reload-removed': {
        const reload = this.reloadOf.get(service) ?? null;
        return {
          kind: 'reload',
          stop,
          removed: stop.reason === 'reload-removed',
          reload,
          fields: this.fieldsOf.get(service) ?? [],
        };
      }
      case 'requested':
        return {
          kind: 'operator',
          stop,
          request: this.stopRequests.get(service) ?? this.startRequests.get(service) ?? null,
        };
      case 'supervisor-stopping':
        return { kind: 'procreg-stop', stop, stopping: this.stopping };
      case 'unwanted':
        return { kind: 'unwanted', stop };
      default:
        return { kind: 'unknown' };
    }
  }

  private readonly stopHealth = new Map<number, HealthRef>();
  private readonly fieldsOf = new Map<string, FieldChange[]>();

  private finishEnding(
    s: Step,
    inc: Incarnation,
    x: {
      code: number | null;
      signal: string | null;
      error: string | null;
      cause: EndCause;
      lastWords: LastWords | null;
      current: ServiceStatus | null | undefined;
    },
  ): void {
    const e = s.event;
    const uptimeMs = inc.pid === null ? null : Math.max(0, e.mono - inc.startedMono);
    const { next, waitFor } = this.nextOf(s, inc, x.current ?? null, x.code, x.signal, x.error);
    const ending: Mutable<Ending> = {
      incarnation: inc,
      at: { seq: e.seq, time: e.time },
      inputType: e.type,
      mono: e.mono,
      code: x.code,
      signal: x.signal,
      error: x.error,
      uptimeMs,
      cause: x.cause,
      next,
      lastWords: x.lastWords,
    };
    if (x.current) this.endings.set(inc.service, ending);
    this.pending.push({ ending, waitFor });
  }

  private nextOf(
    s: Step,
    inc: Incarnation,
    svc: ServiceStatus | null,
    code: number | null,
    signal: string | null,
    error: string | null,
  ): { next: NextDecision; waitFor: string | null } {
    const spawnsSuccessor = s.records.some((r) => r.type === 'spawn-requested' && r.name === inc.service);
    if (svc === null)
      return spawnsSuccessor
        ? { next: { kind: 'successor', at: null }, waitFor: 'spawn-requested' }
        : { next: { kind: 'none' }, waitFor: null };
    const e = s.event;
    const exit: ExitInfo = s.after.services.get(inc.service)?.lastExit ?? {
      pid: inc.pid,
      code,
      signal,
      error,
      time: e.time,
      mono: e.mono,
      lastWords: lastWordsOf(e),
      uptimeMs: null,
    };
    const d = decideAfterExit(svc, exit, s.before.phase, e.mono);
    const def = svc.def;
    const within = (ts: readonly number[]) => ts.filter((t) => t > e.mono - def.maxRestarts.withinMs);
    switch (d.kind) {
      case 'drop':
        return { next: { kind: 'removed' }, waitFor: null };
      case 'stay-down':
        return { next: { kind: 'stay-down', reason: d.reason, policy: def.restart }, waitFor: null };
      case 'respawn':
        return { next: { kind: 'respawn', cause: d.cause, at: null }, waitFor: 'spawn-requested' };
      case 'restart-now':
        return {
          next: {
            kind: 'restart-now',
            restarts: svc.restarts + 1,
            inWindow: d.recentRestarts.length,
            intensity: def.maxRestarts,
            at: null,
          },
          waitFor: 'spawn-requested',
        };
      case 'fail':
        return { next: { kind: 'failed', code: d.code, at: null }, waitFor: 'service-failed' };
      case 'give-up': {
        const kept = within(svc.recentRestarts);
        return {
          next: {
            kind: 'given-up',
            restarts: svc.restarts,
            inWindow: kept.length,
            intensity: def.maxRestarts,
            windowAgesMs: kept.map((t) => e.mono - t),
            at: null,
          },
          waitFor: 'service-given-up',
        };
      }
      case 'backoff':
        return {
          next: {
            kind: 'restart',
            delayMs: d.delayMs,
            quickFailures: d.quickFailures,
            reset: d.quickFailures === 0 && svc.quickFailures > 0,
            restarts: svc.restarts + 1,
            inWindow: d.recentRestarts.length,
            backoff: def.backoff,
            intensity: def.maxRestarts,
            at: null,
          },
          waitFor: 'restart-scheduled',
        };
    }
  }

  private settle(): void {
    if (this.pending.length === 0) return;
    const done = this.pending;
    this.pending = [];
    for (const p of done) for (const l of this.listeners) l.onEnding?.(p.ending);
  }

  // ----- decisions (logged: their seqs are known) ---------------------------------------------

  private onDecision(s: Step): void {
    const e = s.event;
    const at = { seq: e.seq, time: e.time };
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only these events matter here; the rest change nothing it tracks
    switch (e.type) {
      case 'spawn-requested':
        this.requested.set(e.name, { at, reason: e.reason, gen: e.gen });
        this.completePending(e.type, e.name, at);
        return;
      case 'restart-scheduled':
      case 'service-given-up':
      case 'service-failed':
        this.completePending(e.type, e.name, at);
        return;
      case 'stop-begun': {
        this.stops.set(e.pid, { ...at, signal: e.signal, reason: e.reason });
        if (e.reason === 'check-failed' && this.inputHealth) this.stopHealth.set(e.seq, this.inputHealth);
        if (this.stopHealth.size > 1024)
          this.stopHealth.delete(this.stopHealth.keys().next().value as number);
        return;
      }
      case 'check-finished': {
        if (e.stale) return;
        const list = this.runs.get(e.name) ?? [];
        list.push({
          seq: e.seq,
          time: e.time,
          run: e.run,
          ok: e.ok,
          code: e.code,
          signal: e.signal,
          timedOut: e.timedOut,
          durationMs: e.durationMs,
        });
        if (list.length > 2 * RUNS_KEPT) list.splice(0, RUNS_KEPT);
        this.runs.set(e.name, list);
        return;
      }
      case 'check-health-changed': {
        const def = s.after.checks.get(e.name)?.def;
        const rise = def?.rise ?? 1;
        const fall = def?.fall ?? 1;
        const list = this.runs.get(e.name) ?? [];
        const streak: RunResult[] = [];
        for (let i = list.length - 1; i >= 0; i--) {
          const r = list[i] as RunResult;
          if (r.ok !== e.healthy) break;
          streak.unshift(r);
        }
        const h: HealthRef = { ...at, check: e.name, healthy: e.healthy, runs: streak, rise, fall };
        this.healthOf.set(e.name, h);
        this.inputHealth = h;
        return;
      }
      case 'reload-applied': {
        const loaded = this.lastLoad ?? { ...at, source: '?' };
        const ref: ReloadRef = {
          ...at,
          gen: e.gen,
          loaded,
          requested: this.lastRequest && this.lastRequest.seq < loaded.seq ? this.lastRequest : null,
          added: [...e.services.added, ...e.checks.added],
          removed: [...e.services.removed, ...e.checks.removed],
          changed: [...e.services.changed, ...e.checks.changed],
        };
        this.lastReload = ref;
        const before = this.configBefore;
        for (const name of [...e.services.added, ...e.services.removed, ...e.services.changed]) {
          this.reloadOf.set(name, ref);
          this.fieldsOf.set(name, fieldChanges(before?.services[name], s.after.config?.services[name]));
        }
        for (const name of [...e.checks.added, ...e.checks.removed, ...e.checks.changed])
          this.reloadOf.set(name, ref);
        this.lastRequest = null;
        return;
      }
      default:
        return;
    }
  }

  private completePending(type: string, name: string, at: At): void {
    for (const p of this.pending) {
      if (p.waitFor !== type || p.ending.incarnation.service !== name) continue;
      const n = p.ending.next;
      if ('at' in n) p.ending.next = { ...n, at } as NextDecision;
      p.waitFor = null;
      return;
    }
  }

  /** A snapshot replaced the registry: its live processes are incarnations whose start the log before it held. */
  private adoptSnapshot(s: Step): void {
    for (const [pid, entry] of s.after.procs.entries()) {
      if (entry.kind !== 'service' || this.open.has(pid)) continue;
      const svc = s.after.services.get(entry.name);
      const current = svc?.pid === pid;
      const inc: Incarnation = {
        service: entry.name,
        incarnation: entry.incarnation,
        instance: s.after.instance,
        gen: entry.gen,
        pid,
        started: { seq: s.event.seq, time: current && svc.startedAt !== null ? svc.startedAt : s.event.time },
        startedMono: current && svc.startedMono !== null ? svc.startedMono : s.event.mono,
        reason: null,
        requested: null,
        after: null,
        reloadGen: null,
      };
      this.open.set(pid, { inc, leaderExit: null });
    }
  }

  /** (internal) the reload last applied, for views of the supervisor. */
  get reload(): ReloadRef | null {
    return this.lastReload;
  }
}

/** The optional last words an exit record may carry (a later format adds them). */
export function lastWordsOf(e: Event): LastWords | null {
  return e.type === 'exited' ? e.lastWords : null;
}

/** The fields of a definition that differ, as dotted paths with both values. */
export function fieldChanges(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(before) || !isObj(after))
    return [{ path: path || '(whole)', from: before ?? null, to: after ?? null }];
  const out: FieldChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) out.push(...fieldChanges(before[k], after[k], path ? `${path}.${k}` : k));
  return out;
}

/** One line on how an incarnation ended: `exited code 1 (crash)`, `stopped by check web_alive`. */
export function endSummary(e: Ending): string {
  const how =
    e.error !== null
      ? `spawn failed: ${e.error}`
      : e.signal !== null
        ? `signal ${e.signal}`
        : e.code !== null
          ? `code ${e.code}`
          : 'gone';
  return `${how}, ${causeWords(e.cause)}`;
}

/** Who or what ended it, in a few words. */
export function causeWords(c: EndCause): string {
  switch (c.kind) {
    case 'crash':
      return 'crashed';
    case 'exit':
      return 'exited on its own';
    case 'spawn-failed':
      return 'could not start';
    case 'check':
      return c.health ? `stopped: check ${c.health.check} unhealthy` : 'stopped: a check turned unhealthy';
    case 'reload':
      return c.removed
        ? `stopped: removed by reload${c.reload ? ` (gen ${c.reload.gen})` : ''}`
        : `stopped: changed by reload${c.reload ? ` (gen ${c.reload.gen})` : ''}`;
    case 'operator':
      return 'stopped by operator';
    case 'procreg-stop':
      return `stopped: procreg stopping${c.stopping ? ` (${c.stopping.reason})` : ''}`;
    case 'orphan-reaping':
      return `reaped as an orphan by procreg pid ${c.successor.pid}`;
    case 'forgotten':
      return `forgotten (${c.reason})`;
    case 'unwanted':
      return 'stopped: not wanted';
    case 'unknown':
      return 'ended';
  }
}
