import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Logger, pino } from 'pino';
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
  type Subscription,
  tap,
} from '../rx.js';
import type { NormalizedConfig } from '../config/types.js';
import type { Effect } from '../core/effects.js';
import { foldRegistry } from '../core/fold-operator.js';
import { Replayer } from '../core/replay.js';
import type { State } from '../core/state.js';
import { type RegistryView, registryView } from '../core/view.js';
import { readLogBatches } from '../events/reader.js';
import { type DecisionRecord, type Event, type EventBody, timerId } from '../events/types.js';
import { type Durability, LogWriter } from '../events/writer.js';
import { loadConfigFile } from './load-config.js';
import { openOutputFile } from './output-file.js';
import { removePidFileIfOwned, writePidFile } from './pidfile.js';
import { readProcStartTime } from './proc-start-time.js';

/** Longest line of child output logged as one entry. */
const OUTPUT_LINE_MAX = 64 * 1024;

export interface SupervisorOptions {
  /** Config file, re-read on every reload. Either this or `config`. */
  readonly configPath?: string;
  /** A normalized config object (library use); `reload(config)` replaces it. */
  readonly config?: NormalizedConfig;
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
  /** Where event times come from (default Date.now): with `scheduler`, lets tests run in virtual time. */
  readonly clock?: () => number;
  /** Runs the fold's timers (default rxjs asyncScheduler); e.g. a VirtualTimeScheduler in tests. */
  readonly scheduler?: SchedulerLike;
}

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
  private readonly timers = new Map<string, Subscription>();
  private readonly clock: () => number;
  private readonly scheduler: SchedulerLike;
  /** Time of the input being folded: its decisions are stamped with it. */
  private inputTime = 0;
  private readonly children = new Map<number, ChildProcess>();
  private readonly log: Logger;
  private closed = false;
  private exited!: () => void;
  /** Resolves once every child is gone after a stop. */
  readonly stopped: Promise<void>;

  private constructor(
    private readonly writer: LogWriter,
    initial: State,
    private readonly options: SupervisorOptions,
    /** The config given last (library use without a file: a reload re-installs it). */
    private lastConfig: NormalizedConfig,
  ) {
    this.log = options.logger ?? pino({ level: 'info' });
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.state$ = new BehaviorSubject(initial);
    this.stopped = new Promise((resolve) => {
      this.exited = resolve;
    });
    this.inputs
      .pipe(
        // Outcomes pushed while an effect executes wait their turn instead of re-entering.
        observeOn(queueScheduler),
        // After the final stop nothing is logged any more (a late timer, a stray signal).
        filter(() => !this.closed),
        map((body) => this.stampAndLog(body)),
        foldRegistry(initial),
        tap((res) => {
          for (const r of res.records) {
            this.events$.next(this.writer.append(r, this.inputTime));
            this.describe(r);
          }
          this.state$.next(res.state);
          for (const e of res.effects) this.execute(e);
        }),
      )
      .subscribe({ error: (e) => this.log.fatal({ err: e }, 'event pipeline failed') });
  }

  /**
   * Replays the existing event log (so a crashed predecessor's children are known and get
   * reaped), records a new supervisor instance, loads the config and starts everything.
   */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    const loaded = options.config ?? loadOrThrow(options.configPath);
    mkdirSync(loaded.runDir, { recursive: true, mode: 0o700 });
    const given = options.eventLog;
    const logPath = given instanceof LogWriter ? given.path : resolve(given ?? loaded.eventLog);
    const replayer = new Replayer();
    try {
      for await (const batch of readLogBatches(logPath)) for (const e of batch.events) replayer.push(e);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const writer =
      given instanceof LogWriter
        ? given
        : LogWriter.open(logPath, { durability: options.durability ?? 'batch' });
    const sup = new Supervisor(writer, replayer.result().state, options, loaded);
    sup.inputs.next({ type: 'supervisor-started', pid: process.pid, version: options.version ?? '0' });
    sup.inputs.next({ type: 'config-loaded', gen: 0, source: options.configPath ?? 'api', config: loaded });
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
    if (config) {
      this.lastConfig = config;
      this.inputs.next({ type: 'config-loaded', gen: 0, source: 'api', config });
    } else {
      this.inputs.next({ type: 'reload-requested', source: 'api' });
    }
  }

  /** A program's own input: e.g. stop or start a service. */
  push(body: EventBody): void {
    this.inputs.next(body);
  }

  /** Stop every service and check (stop signal, timeout, SIGKILL to the group); resolves when all are gone. */
  stop(reason = 'requested'): Promise<void> {
    this.inputs.next({ type: 'supervisor-stopping', reason });
    return this.stopped;
  }

  private stampAndLog(body: EventBody): Event {
    // A config is loaded before the generation it becomes is known (reloads coalesce).
    const b =
      body.type === 'config-loaded' && body.gen === 0 ? { ...body, gen: this.state$.value.gen + 1 } : body;
    this.inputTime = this.clock();
    const event = this.writer.append(b, this.inputTime);
    this.events$.next(event);
    this.describeInput(event);
    return event;
  }

  /** The inputs a person watching the supervisor wants to see (read before the fold applies them). */
  private describeInput(e: Event): void {
    switch (e.type) {
      case 'spawned':
        return this.log.info({ service: e.name, pid: e.pid }, `${e.name}: started, pid ${e.pid}`);
      case 'spawn-failed':
        return this.log.error({ service: e.name }, `${e.name}: cannot start: ${e.error}`);
      case 'check-start-failed':
        return this.log.error({ check: e.name }, `${e.name}: cannot run: ${e.error}`);
      case 'exited': {
        const entry = this.state$.value.procs.get(e.pid);
        if (entry?.kind !== 'service') return; // check runs end every interval: their verdicts are logged
        const how = e.signal !== null ? `killed by ${e.signal}` : `exited with code ${e.code}`;
        const expected = e.code === 0 || this.state$.value.stopping.has(e.pid); // we asked it to stop
        return this.log[expected ? 'info' : 'warn'](
          { service: entry.name, pid: e.pid, code: e.code, signal: e.signal },
          `${entry.name}: pid ${e.pid} ${how}`,
        );
      }
      case 'reload-requested':
        return this.log.info(`reload requested (${e.source})`);
      case 'reload-failed':
        return this.log.error(
          { reason: e.reason },
          `reload failed, the running generation stays: ${e.reason}`,
        );
      case 'orphan-reaped':
        return this.log.warn({ pid: e.pid, outcome: e.outcome }, `orphan pid ${e.pid}: ${e.outcome}`);
      default:
        return;
    }
  }

  private execute(e: Effect): void {
    switch (e.do) {
      case 'spawn':
        return this.spawnService(e);
      case 'run-check':
        return this.runCheck(e);
      case 'signal-group':
        return this.signalGroup(e.pid, e.signal);
      case 'write-pidfile':
        return this.outcome(
          () => {
            writePidFile(e.path, e.pid);
            return { type: 'pidfile-written', path: e.path, pid: e.pid, error: null };
          },
          (error) => ({ type: 'pidfile-written', path: e.path, pid: e.pid, error }),
        );
      case 'remove-pidfile':
        return this.outcome(
          () => ({
            type: 'pidfile-removed',
            path: e.path,
            pid: e.ifPid,
            outcome: removePidFileIfOwned(e.path, e.ifPid),
            error: null,
          }),
          (error) => ({ type: 'pidfile-removed', path: e.path, pid: e.ifPid, outcome: 'error', error }),
        );
      case 'arm-timer': {
        const id = timerId(e.timer);
        this.timers.get(id)?.unsubscribe();
        const fire = () => {
          this.timers.delete(id);
          this.inputs.next({ type: 'timer-fired', timer: e.timer });
        };
        const delay = Math.max(0, e.at - this.clock());
        // A timer already due (a restart without backoff) fires as soon as the current event is
        // done, not after a trip through the timer phase of the event loop (>= 1 ms); it stays
        // cancellable until then. An injected scheduler keeps every timer, so virtual time holds.
        const scheduler = delay === 0 && this.scheduler === asyncScheduler ? queueScheduler : this.scheduler;
        const sub = scheduler.schedule(fire, delay);
        if (!sub.closed) this.timers.set(id, sub);
        return;
      }
      case 'cancel-timer': {
        const id = timerId(e.timer);
        this.timers.get(id)?.unsubscribe();
        this.timers.delete(id);
        return;
      }
      case 'load-config':
        return this.loadConfig();
      case 'reap-orphan':
        return this.reapOrphan(e.pid, e.startTime);
      case 'exit':
        return this.finish();
    }
  }

  private spawnService(e: Extract<Effect, { do: 'spawn' }>): void {
    const child = this.spawnChild(e.command, e.cwd, e.env, e.name, e.stdout, e.stderr);
    if (typeof child === 'string') {
      this.inputs.next({
        type: 'spawn-failed',
        name: e.name,
        gen: e.gen,
        incarnation: e.incarnation,
        error: child,
      });
      return;
    }
    const pid = child.pid as number;
    // Logged in this same turn as the fork: a crash cannot lose a child we started.
    this.inputs.next({
      type: 'spawned',
      name: e.name,
      gen: e.gen,
      incarnation: e.incarnation,
      pid,
      startTime: readProcStartTime(pid),
    });
  }

  private runCheck(e: Extract<Effect, { do: 'run-check' }>): void {
    const child = this.spawnChild(e.command, e.cwd, {}, `check:${e.name}`);
    if (typeof child === 'string') {
      this.inputs.next({ type: 'check-start-failed', name: e.name, gen: e.gen, run: e.run, error: child });
      return;
    }
    const pid = child.pid as number;
    this.inputs.next({
      type: 'check-started',
      name: e.name,
      gen: e.gen,
      run: e.run,
      pid,
      startTime: readProcStartTime(pid),
    });
  }

  /** Spawn in its own process group (so stops reach grandchildren); the child or why not. */
  private spawnChild(
    command: readonly string[],
    cwd: string | null,
    env: Readonly<Record<string, string>>,
    tag: string,
    stdoutPath: string | null = null,
    stderrPath: string | null = null,
  ): ChildProcess | string {
    // Output files go to the child as its own descriptors: no copying through procreg, and
    // nothing lost if procreg itself goes away.
    const fds: number[] = [];
    const open = (path: string | null): number | 'pipe' => {
      if (path === null) return 'pipe';
      const fd = openOutputFile(path);
      fds.push(fd);
      return fd;
    };
    let child: ChildProcess;
    try {
      const out = open(stdoutPath);
      const err = stderrPath !== null && stderrPath === stdoutPath ? out : open(stderrPath);
      child = spawn(command[0] as string, command.slice(1), {
        cwd: cwd ?? undefined,
        env: { ...process.env, ...env },
        detached: true,
        stdio: ['ignore', out, err],
      });
    } catch (e) {
      return (e as Error).message; // an output file refused, or spawn's own synchronous error
    } finally {
      for (const fd of fds) closeSync(fd); // the child holds its own copies
    }
    if (child.pid === undefined) {
      child.on('error', () => {}); // the error event follows; the failure is reported as an event
      return `cannot start ${command[0]}: spawn failed (not found or not executable)`;
    }
    const pid = child.pid;
    this.children.set(pid, child);
    const who = { [tag.startsWith('check:') ? 'check' : 'service']: tag.replace(/^check:/, ''), pid };
    // Line by line; a last line without a newline is logged at the end, a longer one in 64 KiB pieces.
    const forward = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
      const level = name === 'stdout' ? 'info' : 'warn';
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0 || buf.length >= OUTPUT_LINE_MAX) {
          const whole = nl >= 0 && nl < OUTPUT_LINE_MAX; // else a piece of a longer line
          this.log[level]({ ...who, stream: name }, buf.slice(0, whole ? nl : OUTPUT_LINE_MAX));
          buf = buf.slice(whole ? nl + 1 : OUTPUT_LINE_MAX);
          nl = buf.indexOf('\n');
        }
      });
      stream?.on('end', () => {
        if (buf.length > 0) this.log[level]({ ...who, stream: name }, buf);
        buf = '';
      });
    };
    forward(child.stdout, 'stdout');
    forward(child.stderr, 'stderr');
    child.on('exit', (code, signal) => {
      this.children.delete(pid);
      this.inputs.next({ type: 'exited', pid, code, signal });
    });
    return child;
  }

  private signalGroup(pid: number, signal: string): void {
    let error: string | null = null;
    try {
      process.kill(-pid, signal as NodeJS.Signals);
    } catch (e) {
      error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    this.inputs.next({ type: 'signal-sent', pid, signal, error });
  }

  private loadConfig(): void {
    const path = this.options.configPath;
    if (!path) {
      // Library use without a file: a reload re-installs the config it was given last.
      this.inputs.next({ type: 'config-loaded', gen: 0, source: 'api', config: this.lastConfig });
      return;
    }
    const res = loadConfigFile(path);
    if (res.ok) this.inputs.next({ type: 'config-loaded', gen: 0, source: path, config: res.config });
    else this.inputs.next({ type: 'reload-failed', reason: res.errors.join('; ') });
  }

  /** Kill a predecessor's process group, but only if PID and start time prove it is that process. */
  private reapOrphan(pid: number, startTime: number | null): void {
    const now = readProcStartTime(pid);
    let outcome: 'killed' | 'gone' | 'pid-reused';
    if (now === null) outcome = 'gone';
    else if (startTime === null || now !== startTime) outcome = 'pid-reused';
    else {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // the group or the process is already gone
        }
      }
      outcome = 'killed';
    }
    this.inputs.next({ type: 'orphan-reaped', pid, outcome });
  }

  /** The decisions a person watching the supervisor wants to see, in its human-facing log. */
  private describe(r: DecisionRecord): void {
    switch (r.type) {
      case 'restart-scheduled':
        return this.log.info(
          { service: r.name, delayMs: r.delayMs, restarts: r.restarts },
          `${r.name}: restart in ${r.delayMs} ms`,
        );
      case 'service-given-up':
        return this.log.error(
          { service: r.name, restarts: r.restarts },
          `${r.name}: given up after ${r.restarts} restarts`,
        );
      case 'service-failed':
        return this.log.error({ service: r.name, code: r.code }, `${r.name}: ${r.reason}`);
      case 'check-health-changed':
        return this.log[r.healthy ? 'info' : 'warn'](
          { check: r.name },
          `${r.name}: ${r.healthy ? 'healthy' : 'unhealthy'}`,
        );
      case 'check-timed-out':
        return this.log.warn({ check: r.name, pid: r.pid }, `${r.name}: run ${r.run} timed out`);
      case 'stop-begun':
        return this.log.info(
          { service: r.name, pid: r.pid, signal: r.signal },
          `${r.name}: ${r.signal} (${r.reason})`,
        );
      case 'reload-applied':
        return this.log.info(
          { gen: r.gen, services: r.services, checks: r.checks },
          `config generation ${r.gen} applied`,
        );
      case 'orphan-found':
        return this.log.warn(
          { pid: r.pid, name: r.name },
          `${r.name}: pid ${r.pid} left running by a previous procreg`,
        );
      default:
        return;
    }
  }

  private finishing = false;

  private finish(): void {
    if (this.finishing) return;
    this.finishing = true;
    this.inputs.next({ type: 'supervisor-stopped' });
    // Queued behind supervisor-stopped and the outcomes before it.
    queueScheduler.schedule(() => {
      this.closed = true;
      for (const t of this.timers.values()) t.unsubscribe();
      this.timers.clear();
      this.writer.close();
      this.exited();
    });
  }

  private outcome(run: () => EventBody, onError: (error: string) => EventBody): void {
    let body: EventBody;
    try {
      body = run();
    } catch (e) {
      this.log.error({ err: e }, (e as Error).message);
      body = onError((e as Error).message);
    }
    this.inputs.next(body);
  }
}

function loadOrThrow(path: string | undefined): NormalizedConfig {
  if (!path) throw new TypeError('Supervisor needs a configPath or a config');
  const res = loadConfigFile(path);
  if (!res.ok) throw new Error(res.errors.join('\n'));
  return res.config;
}
