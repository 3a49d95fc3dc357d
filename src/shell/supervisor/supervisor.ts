// The running supervisor: one event stream through the log, the fold and the effects.
import { readShipCursor } from '../fleet/ship-cursor.js';
import { basename, dirname, resolve } from 'node:path';
import { formatProblem } from '../../config/schema.js';
import type { EventLogPolicy, NormalizedConfig, SignalName } from '../../config/types.js';
import type { Effect } from '../../core/effects.js';
import { foldRegistry } from '../../core/fold-operator.js';
import { RELOAD_RULE } from '../../core/reload.js';
import { snapshotState } from '../../core/snapshot.js';
import type { State } from '../../core/state.js';
import { type RegistryView, registryView } from '../../core/view.js';
import { encodeEvent, stamp } from '../../events/codec.js';
import type { Event, EventBody, RequestAnswered } from '../../events/types.js';
import { describeEvent } from '../../report/human-log.js';
import { ConfigError, ProcregError } from '../errors.js';
import type { OwnLogger } from '../json-logger.js';
import { describeLimit, MAX_CONFIG_LINE_BYTES } from '../event-log/limits.js';
import { type LogHealth, LogSink, type RotationStep } from '../event-log/log-sink.js';
import { type OpenedLog, openEventLog, type ReplayStart } from '../event-log/open-log.js';
import { type Durability, LogWriter } from '../event-log/writer.js';
import { writePidFile } from '../files/pidfile.js';
import { openRunDir, type RunDir } from '../files/run-dir.js';
import {
  asyncScheduler,
  BehaviorSubject,
  filter,
  map,
  type Observable,
  observeOn,
  queueScheduler,
  type SchedulerLike,
  Subject,
  tap,
} from '../rx.js';
import { monotonicMs, readBootId, readProcStat } from '../proc/proc-stat.js';
import { ConfigSource } from './config-source.js';
import { type EffectPorts, executeEffect } from './execute-effect.js';
import { GroupWatch } from './group-watch.js';
import { LogWatch } from './log-watch.js';
import { TimerTable } from './timers.js';
import { TurnBudget } from './turn-budget.js';

/** Gone, or a zombie: it has exited, and its exit event is queued. */
const hasExited = (pid: number): boolean => {
  const st = readProcStat(pid);
  return st === null || st.state === 'Z';
};

export interface SupervisorOptions {
  /** Config file, re-read on every reload. Either this or `config`. */
  readonly configPath?: string;
  /** A normalized config object (library use); `reload(config)` replaces it. */
  readonly config?: NormalizedConfig;
  /**
   * procreg's own log of what happens: a pino Logger, or anything with its `info`, `warn`,
   * `error` and `fatal`. Default: none; the library prints nothing.
   */
  readonly logger?: OwnLogger;
  /**
   * The event log's live segment: a path to use instead of the config's `eventLog` (its
   * closed segments lie beside it). Default: the config's `eventLog`.
   */
  readonly eventLog?: string;
  /** Overrides the config's `eventLog.durability`. */
  readonly durability?: Durability;
  /** Told at each step of a rotation of the event log (fault injection in tests). */
  readonly onRotationStep?: (step: RotationStep) => void;
  /** Version written into supervisor-started. */
  readonly version?: string;
  /**
   * Where event times come from (default Date.now, and the monotonic clock for durations):
   * with `scheduler`, lets tests run in virtual time — this one clock then serves as both.
   */
  readonly clock?: () => number;
  /**
   * The monotonic clock durations are measured by (default CLOCK_MONOTONIC in ms; with
   * `clock` and no `monotonic`, `clock` serves as both).
   */
  readonly monotonic?: () => number;
  /** Runs the fold's timers (default rxjs asyncScheduler); e.g. a VirtualTimeScheduler in tests. */
  readonly scheduler?: SchedulerLike;
  /**
   * Abandons `open()` while it replays the event log (checked between batches of at most
   * 1 MiB): it then rejects with the signal's reason, having started nothing and written
   * nothing. Once the log is replayed, open() completes; stop the supervisor instead.
   */
  readonly signal?: AbortSignal;
  /**
   * While the event log cannot be written, at most this many events (default 10 000) and
   * bytes (default 64 MiB) are kept in memory to be written later; beyond, they are dropped
   * and the log records the gap and a snapshot once it can be written again.
   */
  readonly logQueue?: { readonly maxEvents?: number; readonly maxBytes?: number };
  /**
   * How often (ms, default 1000) a degraded log is retried, and the runDir and the log file
   * checked where they cannot be watched (inotify's limits). Where they can, their removal or
   * move is noticed at once (besides at every event), and an idle supervisor polls nothing.
   */
  readonly logCheckIntervalMs?: number;
}

/** How the supervisor rebuilt its registry when it opened the event log. */
export interface ReplayedLog {
  /** The snapshot the fold began at (its file, seq and byte offset), or the log's start; null for a new log. */
  readonly from: ReplayStart | null;
  /** Bytes of log read, of all the bytes its segments hold. */
  readonly bytesRead: number;
  readonly totalBytes: number;
  /** Segments of the log, the live one included. */
  readonly segments: number;
  readonly events: number;
  /** A live segment from before segments existed, closed under this name as the log was migrated. */
  readonly closedAs: string | null;
}

/** What `status()` says: the registry, how its event log is doing, and when it was asked. */
export interface SupervisorStatus extends RegistryView {
  readonly log: LogHealth;
  /** The supervisor's wall and monotonic clocks as it answered: what uptimes and backoffs are relative to. */
  readonly at: { readonly time: number; readonly mono: number };
  /** With `ship:`: how far behind the fleet's stream is (from the shipper's cursor); absent without. */
  readonly ship?: ShipLag;
}

/** The shipping lag `procreg status` shows (issue 16). */
export interface ShipLag {
  readonly to: string;
  readonly stream: string;
  /** The last seq the stream holds, as the shipper's cursor says (0: nothing known shipped). */
  readonly shippedSeq: number;
  /** Events in the log the stream does not hold yet. */
  readonly lagEvents: number;
  /** While some are unshipped: the age of the newest shipped event, seconds (0 when none lag; null: nothing shipped yet). */
  readonly lagSeconds: number | null;
}

function stoppedAnswer(): RequestAnswered {
  return { type: 'request-answered', ref: 0, outcome: 'refused', message: 'procreg has stopped' };
}

/** Longest reload-failed reason logged (a bad config can have very many problems). */
const MAX_REASON = 64 * 1024;

/** A library prints nothing unless given a logger. */
const silent: OwnLogger = { info: () => {}, warn: () => {}, error: () => {}, fatal: () => {} };

/**
 * The imperative shell around the pure fold: it owns the event log, the child processes,
 * the timers and the PID files. Everything that happens becomes an event on one stream;
 * each event is stamped and logged, folded, its decisions logged, and its effects executed;
 * an effect's outcome comes back as a new event, never by touching state.
 */
export class Supervisor {
  private readonly inputs = new Subject<EventBody>();
  private readonly state$: BehaviorSubject<State>;
  private readonly events$ = new Subject<Event>();
  private readonly runDirRecreated$ = new Subject<{ readonly runDir: string }>();
  private readonly sink: LogSink;
  private readonly logWatch: LogWatch;
  private readonly timers: TimerTable;
  private readonly groups: GroupWatch;
  private readonly budget = new TurnBudget();
  private readonly clock: () => number;
  private readonly mono: () => number;
  private readonly log: OwnLogger;
  /** Times of the input being folded: its decisions are stamped with them. */
  private inputTime = 0;
  private inputMono = 0;
  private closed = false;
  /** This turn of the event loop has looked for a moved log or a removed runDir. */
  private movesLooked = false;
  private finishing = false;
  private exited!: () => void;
  /** Resolves once every child is gone after a stop. */
  readonly stopped: Promise<void>;
  /** How `open()` rebuilt the registry from the event log: from which snapshot, reading how much. */
  readonly replayed: ReplayedLog;

  private constructor(
    opened: OpenedLog,
    private readonly runDir: RunDir,
    private readonly config: ConfigSource,
    policy: EventLogPolicy,
    options: SupervisorOptions,
  ) {
    this.log = options.logger ?? silent;
    this.clock = options.clock ?? Date.now;
    this.mono = options.monotonic ?? options.clock ?? monotonicMs;
    const initial = opened.result.state;
    const writer = opened.writer;
    const durability = () =>
      options.durability ?? this.state$.value.config?.eventLogPolicy.durability ?? policy.durability;
    this.replayed = {
      from: opened.from,
      bytesRead: opened.bytesRead,
      totalBytes: opened.totalBytes,
      segments: opened.segments,
      events: opened.result.events,
      closedAs: opened.closedAs,
    };
    this.sink = new LogSink({
      writer,
      reopen: (afterSeq, fresh) =>
        LogWriter.open(writer.path, {
          durability: durability(),
          fresh,
          continuesAfter: afterSeq,
          onDisplaced: (d) => this.displaced(d),
        }),
      logId: opened.logId,
      policy: { ...policy, durability: options.durability ?? policy.durability },
      live: opened.live,
      foldedSeq: opened.result.state.seq,
      onRotationStep: options.onRotationStep,
      runDir,
      snapshot: (seq) => snapshotState(this.state$.value, seq),
      logger: {
        error: (fields, msg) => this.say('error', fields, msg),
        warn: (fields, msg) => this.say('warn', fields, msg),
      },
      clock: this.clock,
      onLogged: (event) => this.logged(event, this.state$.value),
      onRunDirRecreated: () => this.runDirBack(),
      shipHold: () => {
        const ship = this.state$.value.config?.ship;
        if (!ship) return null;
        const cursor = readShipCursor(writer.path);
        const shippedSeq = cursor !== null && cursor.logId === opened.logId ? cursor.seq : 0;
        return { shippedSeq, maxBacklogBytes: ship.maxBacklogBytes };
      },
      maxPending: options.logQueue?.maxEvents,
      maxPendingBytes: options.logQueue?.maxBytes,
    });
    // Notice a removed runDir or a moved log also when nothing happens (watched, not polled),
    // and retry a degraded log (polled, while it is).
    const logDir = dirname(writer.path);
    const watched = [
      { dir: runDir.path, files: logDir === runDir.path ? [basename(writer.path)] : [] },
      ...(logDir === runDir.path ? [] : [{ dir: logDir, files: [basename(writer.path)] }]),
    ];
    this.logWatch = new LogWatch(
      () => watched,
      () => queueScheduler.schedule(() => this.maintain()),
      () => this.sink.retrying(),
      options.logCheckIntervalMs ?? 1000,
    );
    this.logWatch.arm();
    this.timers = new TimerTable(options.scheduler ?? asyncScheduler, this.mono, (timer) => {
      // A run that ended before its deadline is never a timeout: after a stall of procreg the
      // overdue timer can run before the exit is read; the exit is on its way, let it decide.
      if (timer.kind === 'check-timeout' && hasExited(timer.pid)) return;
      this.inputs.next({ type: 'timer-fired', timer });
    });
    this.groups = new GroupWatch((pid) => this.inputs.next({ type: 'group-exited', pid }));
    this.state$ = new BehaviorSubject(initial);
    this.stopped = new Promise((resolve) => {
      this.exited = resolve;
    });
    const ports: EffectPorts = {
      emit: (body) => this.inputs.next(body),
      timers: this.timers,
      groups: this.groups,
      budget: this.budget,
      log: this.log,
      loadConfig: () => this.loadConfig(),
      finish: () => this.finish(),
      allowUnsafeScripts: () => this.state$.value.config?.allowUnsafeScripts ?? false,
    };
    this.run(initial, ports);
  }

  /**
   * The pipeline. It must never die and leave a supervisor supervising nothing: a log that
   * cannot be written degrades (LogSink), an effect that throws is logged, and should the
   * fold itself throw, the error is logged and the pipeline starts again from the last state.
   */
  private run(initial: State, ports: EffectPorts): void {
    this.inputs
      .pipe(
        // Outcomes pushed while an effect executes wait their turn instead of re-entering.
        observeOn(queueScheduler),
        // After the final stop nothing is logged any more (a late timer, a stray signal).
        filter(() => !this.closed),
        map((body) => this.stampAndLog(body)),
        filter((e): e is Event => e !== null),
        foldRegistry(initial),
        tap((res) => {
          const before = this.state$.value;
          for (const r of res.records) {
            const event = this.append(r, this.inputTime, this.inputMono);
            if (event) this.logged(event, before);
          }
          this.state$.next(res.state);
          const policy = res.state.config?.eventLogPolicy;
          if (policy && policy !== before.config?.eventLogPolicy) this.sink.setPolicy(policy);
          for (const e of res.effects) this.execute(e, ports);
        }),
      )
      .subscribe({
        error: (e) => {
          this.log.fatal(
            { err: e },
            `event pipeline failed: ${(e as Error).message}; restarting it from the last state`,
          );
          this.run(this.state$.value, ports);
        },
      });
  }

  /** An effect that throws is a bug or an OS surprise: logged, and supervision goes on. */
  private execute(e: Effect, ports: EffectPorts): void {
    try {
      executeEffect(e, ports);
    } catch (err) {
      this.say(
        'error',
        { err, effect: e },
        `effect ${e.do} failed: ${(err as Error).message}; supervision goes on`,
      );
    }
  }

  /** A line in procreg's own log; a log that cannot be written (EPIPE) must not stop supervision. */
  private say(level: 'fatal' | 'error' | 'warn' | 'info', fields: object, msg: string): void {
    try {
      this.log[level](fields, msg);
    } catch {
      // nowhere left to say it
    }
  }

  /**
   * Replays the existing event log (so a crashed predecessor's children are known and get
   * reaped), records a new supervisor instance, loads the config and starts everything.
   * Throws a ConfigError when the config cannot be used.
   */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    const config = new ConfigSource(options.configPath, options.config);
    // Given both, the object is the first generation (the caller has read the file already
    // and acted on it, e.g. locked its runDir) and reloads re-read the file.
    const loaded = options.configPath && options.config ? config.accept(options.config) : config.load();
    if (!loaded.ok) throw new ConfigError(loaded.problems);
    options.signal?.throwIfAborted();
    const logPath = resolve(options.eventLog ?? loaded.config.eventLog);
    // Nothing in the runDir is read or written before the runDir and the log's place are checked.
    const runDir = openRunDir(loaded.config, { eventLog: logPath });
    let sup: Supervisor;
    try {
      refuseOversizedConfig(loaded.config, config.label);
      const clock = options.clock ?? Date.now;
      const mono = options.monotonic ?? options.clock ?? monotonicMs;
      const opened = await openEventLog(logPath, {
        durability: options.durability ?? loaded.config.eventLogPolicy.durability,
        signal: options.signal,
        clock,
        mono,
        beforeWrite: async () => {
          if (!options.signal) return;
          // A signal delivered by now runs its handler in this turn of the event loop (signals
          // are read in its poll phase, before setImmediate): the last chance to abandon.
          await new Promise((r) => setImmediate(r));
          options.signal.throwIfAborted();
        },
      });
      for (const p of opened.problems)
        options.logger?.warn(
          { eventLog: p.file ?? logPath, line: p.line, kind: p.kind },
          `${p.file ?? logPath}:${p.fromOffset ? `(from byte ${p.fromOffset}) ` : ''}${p.line}: ${p.kind}: ${p.message}`,
        );
      sup = new Supervisor(opened, runDir, config, loaded.config.eventLogPolicy, options);
      for (const e of opened.wrote) sup.logged(e, opened.result.state);
      sup.sink.applyRetention(clock(), mono());
    } catch (e) {
      runDir.close();
      throw e;
    }
    sup.inputs.next({
      type: 'supervisor-started',
      pid: process.pid,
      version: options.version ?? '0',
      bootId: readBootId(),
    });
    sup.inputs.next({
      type: 'config-loaded',
      source: config.label,
      config: loaded.config,
      reloadRule: RELOAD_RULE,
    });
    await sup.budget.idle(); // every first spawn attempted
    await sup.firstSpawnsReported(options.signal); // and answered: status() shows each running (or why not)
    return sup;
  }

  /**
   * Resolves once each spawn asked for so far was reported (spawned or failed): every service
   * `starting` now has left that incarnation's start. Not "once no service is starting": in a
   * crash storm some service always is, and open() would never return (nor procreg stop, nor
   * serve its socket). A stop asked for meanwhile (the signal) resolves it too: the caller
   * stops what started.
   */
  private firstSpawnsReported(signal?: AbortSignal): Promise<void> {
    const waiting = new Map<string, number>();
    for (const svc of this.state$.value.services.values())
      if (svc.phase === 'starting') waiting.set(svc.name, svc.incarnation);
    const settled = (s: State) => {
      for (const [name, incarnation] of waiting) {
        const svc = s.services.get(name);
        if (svc?.phase === 'starting' && svc.incarnation === incarnation) return false;
      }
      return true;
    };
    if (waiting.size === 0 || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        queueMicrotask(() => sub.unsubscribe());
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      const sub = this.state$.subscribe((s) => {
        if (settled(s) || this.closed) done();
      });
    });
  }

  /** Every event as it is logged. */
  get events(): Observable<Event> {
    return this.events$.asObservable();
  }

  /** The registry after every step. */
  get states(): Observable<State> {
    return this.state$.asObservable();
  }

  /** The registry (as replay --json shows it), and `log`: whether the event log is written. */
  status(): SupervisorStatus {
    const ship = this.shipLag();
    return {
      ...registryView(this.state$.value, this.sink.lastSeq),
      log: this.sink.health(),
      at: { time: this.clock(), mono: this.mono() },
      ...(ship ? { ship } : {}),
    };
  }

  private shipLag(): ShipLag | null {
    const ship = this.state$.value.config?.ship;
    if (!ship) return null;
    const cursor = readShipCursor(this.sink.path);
    const shippedSeq = cursor !== null && cursor.logId === this.sink.logId ? cursor.seq : 0;
    const lagEvents = Math.max(0, this.sink.lastSeq - shippedSeq);
    const since = cursor !== null && cursor.logId === this.sink.logId ? cursor.time : null;
    return {
      to: ship.to,
      stream: ship.stream,
      shippedSeq,
      lagEvents,
      lagSeconds: lagEvents === 0 ? 0 : since === null ? null : Math.max(0, (this.clock() - since) / 1000),
    };
  }

  /**
   * Emits when the runDir was removed under the running supervisor and it re-created it: its
   * event log starts afresh there and the PID files of running services are written again;
   * whoever serves the control socket (and procreg.pid) there must serve it again.
   */
  get runDirRecreated(): Observable<{ readonly runDir: string }> {
    return this.runDirRecreated$.asObservable();
  }

  /** Re-read the config file (or install `config`); a bad one leaves everything running. */
  reload(config?: NormalizedConfig): void {
    if (!config) {
      this.inputs.next({ type: 'reload-requested', source: 'api' });
      return;
    }
    const res = this.config.accept(config, this.state$.value.config);
    this.inputs.next(
      res.ok
        ? { type: 'config-loaded', source: 'api', config: res.config, reloadRule: RELOAD_RULE }
        : { type: 'reload-failed', reason: res.problems.map((p) => formatProblem(p)).join('; ') },
    );
  }

  /** A program's own input: e.g. stop or start a service. */
  push(body: EventBody): void {
    this.inputs.next(body);
  }

  /**
   * Operator actions, answered: each is an input in the log with its source (`api` unless
   * given), folded like any other, and resolves with the fold's answer — done (under way),
   * already (nothing to do), unknown (no such name; the message lists those there are) or
   * refused (e.g. while procreg stops).
   */
  startService(name: string, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'start-requested', target: 'service', name, source });
  }

  /** Stop a service and keep it down until started again (or a reload changes it). */
  stopService(name: string, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'stop-requested', target: 'service', name, source });
  }

  /** Stop then start; not counted towards maxRestarts. */
  restartService(name: string, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'restart-requested', name, source });
  }

  /** Send a signal to a running service's process group. */
  signalService(name: string, signal: SignalName, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'signal-requested', name, signal, source });
  }

  pauseCheck(name: string, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'stop-requested', target: 'check', name, source });
  }

  resumeCheck(name: string, source = 'api'): Promise<RequestAnswered> {
    return this.ask({ type: 'start-requested', target: 'check', name, source });
  }

  /** Push a request and resolve with the answer the fold records right after it. */
  private ask(body: EventBody): Promise<RequestAnswered> {
    if (this.closed) return Promise.resolve(stoppedAnswer());
    return new Promise((resolve) => {
      let ref = -1;
      const sub = this.events$.subscribe((e) => {
        if (ref < 0 && e.type === body.type) ref = e.seq;
        else if (e.type === 'request-answered' && e.ref === ref) {
          sub.unsubscribe();
          resolve(e);
        }
      });
      this.inputs.next(body);
      if (ref < 0 && this.closed) {
        // Nothing was logged for it: the supervisor has stopped meanwhile. (Asked from inside
        // an event handler, the request is queued behind that event and answered after it.)
        sub.unsubscribe();
        resolve(stoppedAnswer());
      }
    });
  }

  /** Stop every service and check (stop signal, timeout, SIGKILL to the group); resolves when all are gone. */
  stop(reason = 'requested'): Promise<void> {
    this.inputs.next({ type: 'supervisor-stopping', reason });
    return this.stopped;
  }

  /** An input: stamped and logged (or kept, while the log cannot be written); null if it cannot be. */
  private stampAndLog(body: EventBody): Event | null {
    this.inputTime = this.clock();
    this.inputMono = this.mono();
    // Between two inputs: a degraded log is retried; at the first input of each turn of the
    // event loop, a moved log or a removed runDir is noticed. Not at every input: a restart
    // is 5 events in one turn, and the 4 stat calls each time cost its latency (issue 15).
    // What moves them meanwhile wakes the watch (./log-watch.ts); events of this turn written
    // into a file moved or deleted under it are in the log-gap record that follows.
    const lookForMoves = !this.movesLooked;
    if (lookForMoves) {
      this.movesLooked = true;
      queueMicrotask(() => {
        this.movesLooked = false;
      });
    }
    this.sink.checkpoint(this.inputTime, this.inputMono, lookForMoves);
    this.logWatch.arm();
    const event = this.append(fitForLog(body), this.inputTime, this.inputMono);
    if (event) this.logged(event, this.state$.value);
    return event;
  }

  /** Stamp and log; a line over the log's limit (which configs are kept well below) is dropped, loudly. */
  private append(body: EventBody, time: number, mono: number): Event | null {
    try {
      return this.sink.append(body, time, mono);
    } catch (e) {
      this.say('error', { err: e }, `${(e as Error).message}; the ${body.type} event is dropped`);
      return null;
    }
  }

  /** Between inputs, on a timer. */
  private maintain(): void {
    if (this.closed) return;
    this.sink.checkpoint(this.clock(), this.mono());
    this.logWatch.arm();
  }

  /** The runDir is back (re-created): the PID files the registry says exist are written again. */
  private runDirBack(): void {
    for (const s of this.state$.value.services.values()) {
      if (!s.pidFile) continue;
      const { path, pid } = s.pidFile;
      let error: string | null = null;
      try {
        writePidFile(path, pid);
      } catch (e) {
        error = (e as Error).message;
        this.say('error', { err: e }, error);
      }
      this.inputs.next({ type: 'pidfile-written', path, pid, error });
    }
    this.runDirRecreated$.next({ runDir: this.runDir.path });
  }

  private displaced(d: { movedTo: string; bytes: number }): void {
    this.say(
      'warn',
      { eventLog: this.sink.path, movedTo: d.movedTo },
      `a file of ${d.bytes} bytes stood where procreg starts its fresh event log; moved to ${d.movedTo}`,
    );
  }

  /** An event is in the log: tell subscribers, and the person watching if it is worth a line. */
  private logged(event: Event, before: State): void {
    this.events$.next(event);
    const line = describeEvent(event, before);
    if (line) this.say(line.level, line.fields, line.msg);
  }

  private loadConfig(): void {
    const res = this.config.load(this.state$.value.config);
    this.inputs.next(
      res.ok
        ? { type: 'config-loaded', source: this.config.label, config: res.config, reloadRule: RELOAD_RULE }
        : { type: 'reload-failed', reason: res.problems.map((p) => formatProblem(p)).join('; ') },
    );
  }

  private finish(): void {
    if (this.finishing) return;
    this.finishing = true;
    this.inputs.next({ type: 'supervisor-stopped' });
    // Queued behind supervisor-stopped and the outcomes before it.
    queueScheduler.schedule(() => {
      this.closed = true;
      this.logWatch.close();
      this.timers.clear();
      this.groups.clear();
      this.sink.close(this.clock(), this.mono());
      this.runDir.close();
      this.exited();
    });
  }
}

/**
 * A config whose config-loaded line would be over half the log's line limit is refused: its
 * snapshots (the config once, and every service's status) must fit a line too.
 */
function refuseOversizedConfig(config: NormalizedConfig, source: string): void {
  const bytes = configLineBytes(config, source);
  if (bytes > MAX_CONFIG_LINE_BYTES)
    throw new ProcregError(
      'ELOGLINE',
      `config ${source}: its config-loaded line in the event log would be ${bytes} bytes; procreg takes configs up to ${describeLimit(MAX_CONFIG_LINE_BYTES)} in the log (half its line limit, so that snapshots of the registry fit too); split it`,
    );
}

function configLineBytes(config: NormalizedConfig, source: string): number {
  const max = Number.MAX_SAFE_INTEGER; // the widest envelope there can be
  return Buffer.byteLength(
    encodeEvent(stamp({ type: 'config-loaded', source, config, reloadRule: RELOAD_RULE }, max, max, max)),
  );
}

/** An input as the log can take it: a config too large becomes the reload failure it is, a long reason is cut. */
function fitForLog(body: EventBody): EventBody {
  if (body.type === 'config-loaded') {
    const bytes = configLineBytes(body.config, body.source);
    if (bytes <= MAX_CONFIG_LINE_BYTES) return body;
    return {
      type: 'reload-failed',
      reason: `config ${body.source}: its config-loaded line would be ${bytes} bytes, over the ${describeLimit(MAX_CONFIG_LINE_BYTES)} procreg takes in its log`,
    };
  }
  if (body.type === 'reload-failed' && body.reason.length > MAX_REASON)
    return {
      ...body,
      reason: `${body.reason.slice(0, MAX_REASON)}… (${body.reason.length - MAX_REASON} more characters)`,
    };
  return body;
}
