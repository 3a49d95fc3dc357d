// The running supervisor: one event stream through the log, the fold and the effects.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { formatProblem } from '../../config/schema.js';
import type { NormalizedConfig, SignalName } from '../../config/types.js';
import { foldRegistry } from '../../core/fold-operator.js';
import { Replayer } from '../../core/replay.js';
import type { State } from '../../core/state.js';
import { type RegistryView, registryView } from '../../core/view.js';
import type { Event, EventBody, RequestAnswered } from '../../events/types.js';
import { describeEvent } from '../../report/human-log.js';
import { ConfigError } from '../errors.js';
import { readLogBatches } from '../event-log/reader.js';
import { type Durability, LogWriter } from '../event-log/writer.js';
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
  /** procreg's own log of what happens (pino). Default: none; the library prints nothing. */
  readonly logger?: Logger;
  /**
   * The event log: a path to use instead of the config's `eventLog`, or an open `LogWriter`
   * that the supervisor takes over (it replays the writer's file first, and closes the writer
   * when it stops). Default: the config's `eventLog`.
   */
  readonly eventLog?: string | LogWriter;
  /** For a log the supervisor opens itself (default 'batch'). */
  readonly durability?: Durability;
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
}

/** The state at the end of the log at `path` (none yet: the initial state), abandoned between batches on `signal`. */
async function replayForOpen(path: string, signal: AbortSignal | undefined) {
  const replayer = new Replayer();
  try {
    for await (const batch of readLogBatches(path)) {
      signal?.throwIfAborted();
      for (const e of batch.events) replayer.push(e);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return replayer.result();
}

function stoppedAnswer(): RequestAnswered {
  return { type: 'request-answered', ref: 0, outcome: 'refused', message: 'procreg has stopped' };
}

/** A library prints nothing unless given a logger. */
const silent = pino({ level: 'silent' });

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
  private readonly timers: TimerTable;
  private readonly groups: GroupWatch;
  private readonly budget = new TurnBudget();
  private readonly clock: () => number;
  private readonly mono: () => number;
  private readonly log: Logger;
  /** Times of the input being folded: its decisions are stamped with them. */
  private inputTime = 0;
  private inputMono = 0;
  private closed = false;
  private finishing = false;
  private exited!: () => void;
  /** Resolves once every child is gone after a stop. */
  readonly stopped: Promise<void>;

  private constructor(
    private readonly writer: LogWriter,
    initial: State,
    private readonly config: ConfigSource,
    options: SupervisorOptions,
  ) {
    this.log = options.logger ?? silent;
    this.clock = options.clock ?? Date.now;
    this.mono = options.monotonic ?? options.clock ?? monotonicMs;
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
    this.inputs
      .pipe(
        // Outcomes pushed while an effect executes wait their turn instead of re-entering.
        observeOn(queueScheduler),
        // After the final stop nothing is logged any more (a late timer, a stray signal).
        filter(() => !this.closed),
        map((body) => this.stampAndLog(body)),
        foldRegistry(initial),
        tap((res) => {
          const before = this.state$.value;
          for (const r of res.records)
            this.logged(this.writer.append(r, this.inputTime, this.inputMono), before);
          this.state$.next(res.state);
          for (const e of res.effects) executeEffect(e, ports);
        }),
      )
      .subscribe({ error: (e) => this.log.fatal({ err: e }, 'event pipeline failed') });
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
    mkdirSync(loaded.config.runDir, { recursive: true, mode: 0o700 });
    const given = options.eventLog;
    const logPath = given instanceof LogWriter ? given.path : resolve(given ?? loaded.config.eventLog);
    // The log may lie in a directory of its own inside runDir: created likewise.
    mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
    const result = await replayForOpen(logPath, options.signal);
    if (options.signal) {
      // A signal delivered by now runs its handler in this turn of the event loop (signals
      // are read in its poll phase, before setImmediate): the last chance to abandon.
      await new Promise((r) => setImmediate(r));
      options.signal.throwIfAborted();
    }
    const writer =
      given instanceof LogWriter
        ? given
        : LogWriter.open(logPath, { durability: options.durability ?? 'batch' });
    const sup = new Supervisor(writer, result.state, config, options);
    sup.inputs.next({
      type: 'supervisor-started',
      pid: process.pid,
      version: options.version ?? '0',
      bootId: readBootId(),
    });
    sup.inputs.next({ type: 'config-loaded', source: config.label, config: loaded.config });
    await sup.budget.idle(); // every first spawn attempted: what open() started is in status()
    return sup;
  }

  /** Every event as it is logged. */
  get events(): Observable<Event> {
    return this.events$.asObservable();
  }

  /** The registry after every step. */
  get states(): Observable<State> {
    return this.state$.asObservable();
  }

  status(): RegistryView {
    return registryView(this.state$.value, this.writer.lastSeq);
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
        ? { type: 'config-loaded', source: 'api', config: res.config }
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

  private stampAndLog(body: EventBody): Event {
    this.inputTime = this.clock();
    this.inputMono = this.mono();
    const event = this.writer.append(body, this.inputTime, this.inputMono);
    this.logged(event, this.state$.value);
    return event;
  }

  /** An event is in the log: tell subscribers, and the person watching if it is worth a line. */
  private logged(event: Event, before: State): void {
    this.events$.next(event);
    const line = describeEvent(event, before);
    if (line) this.log[line.level](line.fields, line.msg);
  }

  private loadConfig(): void {
    const res = this.config.load(this.state$.value.config);
    this.inputs.next(
      res.ok
        ? { type: 'config-loaded', source: this.config.label, config: res.config }
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
      this.timers.clear();
      this.groups.clear();
      this.writer.close();
      this.exited();
    });
  }
}
