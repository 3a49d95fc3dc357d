import { execFile } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { formatProblem } from '../../config/schema.js';
import { formatSize } from '../../config/size.js';
import { SHIP_SERVICE } from '../../config/ship.js';
import type { NormalizedConfig } from '../../config/types.js';
import { loadConfigFile } from '../config/load-config.js';
import { operate } from '../control/operate.js';
import { reloadVerdict } from '../control/reload-verdict.js';
import { type ControlPort, type ControlServer, serveControl } from '../control/server.js';
import { ConfigError, ProcregError } from '../errors.js';
import { writePidFile } from '../files/pidfile.js';
import { claimRunDir, type RunDirClaim } from '../files/run-dir-claim.js';
import { openRunDir, type RunDir } from '../files/run-dir.js';
import type { InstanceInfo } from '../instance-lock.js';
import { humanLogger, type LogFormat, type OwnLogger } from '../logger.js';
import { BoundedFdWriter, type DroppedOutput } from '../output/bounded-writer.js';
import { watchEnvironmentWrites } from '../proc/environment.js';
import { ownIdentity, type ProcessIdentity } from '../proc/identity.js';
import { type OrphanReaper, startOrphanReaper } from '../proc/reaper.js';
import { type ReplayedLog, Supervisor } from '../supervisor/supervisor.js';
import type { CommandIO } from './io.js';
import { RUN_SIGNALS, type RunSignal, takeOverSignals } from './signals.js';

/** Added to the longest stop timeout in what a stop may take: the group kill, the reaping, the exit. */
const STOP_MARGIN_MS = 10_000;
/** How long a reload asked over the control socket waits for its verdict. */
const RELOAD_VERDICT_MS = 60_000;

/**
 * What procreg refuses to run on, as a config error is (exit 2): a runDir or event log it
 * must not trust or cannot use as one, a log it must not append to. Any other ProcregError is
 * a failure to run (exit 1).
 */
const REFUSALS: ReadonlySet<string> = new Set([
  'ERUNDIR',
  'ELOGSEQ',
  'ELOGNOTFILE',
  'ELOGSYMLINK',
  'ELOGLINE',
  'EPIDNOTFILE',
  'ELOGCHAIN',
]);

export interface RunOptions {
  readonly logFormat?: LogFormat;
  /** Idle connections to the control socket are closed after this long (default 60 s). */
  readonly controlIdleMs?: number;
}

/**
 * `procreg run <config>`: the supervisor in the foreground. Resolves with the exit code:
 * 0 after a clean stop (also one requested during start-up), 1 when it could not run or
 * serve its control socket (what it started is stopped first), 2 for a config it cannot use
 * or a runDir or event log another procreg holds.
 */
export async function runCommand(
  configPath: string,
  version: string,
  io: CommandIO,
  logFormat: LogFormat = 'auto',
  options: RunOptions = {},
): Promise<number> {
  watchEnvironmentWrites(); // procreg's environment copied once, not at every spawn (issue 15)
  const own = new OwnOutput();
  const logger = await humanLogger(options.logFormat ?? logFormat, own.writer);
  own.logger = logger;
  const run = new Run(configPath, version, io, logger, options, own);
  const code = await run.run();
  if (!(await own.drained()))
    io.err(`procreg: its own log could not be written (stdout does not drain); exiting without the rest`);
  return code;
}

/** What the line saying that procreg's own log dropped lines says (see human-log.ts). */
const DROP_NOTICE = 'while it did not drain';

/** How long procreg waits at exit for its own log to drain. */
const OUTPUT_DRAIN_MS = 1000;

/**
 * procreg's own log, written in the background and bounded (./output/bounded-writer.ts). What
 * is dropped while stdout does not drain is said once it drains: as an output-dropped event
 * while a supervisor runs (its log line then says it), else as a warning.
 */
class OwnOutput {
  logger: OwnLogger | null = null;
  sup: Supervisor | null = null;
  readonly writer = new BoundedFdWriter(1, {
    onResumed: (d) => this.resumed(d),
    noticeMarker: DROP_NOTICE,
  });

  private resumed(d: DroppedOutput): void {
    if (this.sup) {
      this.sup.push({ type: 'output-dropped', output: 'procreg', ...d });
      return;
    }
    this.logger?.warn(
      { output: 'procreg', dropped: d.lines, bytes: d.bytes, since: d.since },
      `procreg's own log: ${d.lines} line(s) (${d.bytes} bytes) dropped ${DROP_NOTICE}`,
    );
  }

  async drained(): Promise<boolean> {
    await this.writer.drained(OUTPUT_DRAIN_MS);
    return this.writer.queuedBytes === 0;
  }
}

class Run {
  private phase: InstanceInfo['phase'] = 'starting';
  /** Why procreg stops (a signal's name, `procreg stop`), once asked to. */
  private stopReason: string | null = null;
  private readonly abort = new AbortController();
  private sup: Supervisor | null = null;
  private reloadPending = false;
  private config: NormalizedConfig | null = null;
  private readonly me: ProcessIdentity = ownIdentity();

  constructor(
    private readonly configPath: string,
    private readonly version: string,
    private readonly io: CommandIO,
    private readonly logger: OwnLogger,
    private readonly options: RunOptions,
    private readonly own: OwnOutput,
  ) {}

  async run(): Promise<number> {
    // Signals caught by bin/procreg.js since its first line come first.
    takeOverSignals((s) => this.onSignal(s));
    this.logger.info(
      { config: this.configPath, pid: process.pid },
      `procreg starting: pid ${process.pid}, config ${this.configPath}`,
    );
    const reaper = this.reapOrphansAsInit();
    try {
      return await this.runAsStarted();
    } finally {
      reaper?.stop();
    }
  }

  /**
   * As PID 1 (a container's init) procreg adopts every orphan of its PID namespace — a
   * service's grandchildren whose parent died — and must reap them, or their zombies pile up.
   */
  private reapOrphansAsInit(): OrphanReaper | null {
    if (process.pid !== 1) return null;
    const started = startOrphanReaper();
    if (!started.ok) {
      this.logger.warn(
        { pid: 1 },
        `procreg runs as PID 1 but cannot reap orphaned processes (${started.why}); their zombies will pile up: run it under an init such as tini (docker run --init)`,
      );
      return null;
    }
    this.logger.info({ pid: 1 }, 'procreg runs as PID 1: it reaps orphaned processes of its PID namespace');
    return started.reaper;
  }

  private async runAsStarted(): Promise<number> {
    if (this.stopReason) return this.abandoned('before reading the config');
    const loaded = this.loadConfig();
    if (typeof loaded === 'number') return loaded;
    this.config = loaded;
    await signalsDelivered(); // the read is synchronous: a signal during it is handled only now
    if (this.stopReason) return this.abandoned('after reading the config');
    const { runDir, eventLog } = loaded;
    let dir: RunDir;
    let claim: RunDirClaim;
    try {
      // Trusted (as root: nobody else can change it or anything above it) and created 0700
      // before anything is written there — procreg.pid included.
      dir = openRunDir(loaded);
    } catch (e) {
      return this.failed(e);
    }
    try {
      try {
        const res = await claimRunDir(runDir, eventLog, () => this.info());
        if (!res.ok) {
          this.io.err(res.refused);
          return 2;
        }
        claim = res.claim;
      } catch (e) {
        return this.failed(e);
      }
      try {
        if (claim.stalePid !== null)
          this.logger.warn(
            { pidFile: claim.pidFile, stalePid: claim.stalePid },
            'replacing the PID file of a procreg that is not running',
          );
        return await this.supervise(loaded, claim);
      } finally {
        await claim.release();
      }
    } finally {
      dir.close();
    }
  }

  /** A refusal (exit 2) or failure (exit 1) to run, said in one line; anything else is a bug. */
  private failed(e: unknown): number {
    if (!(e instanceof ProcregError) && !(e as NodeJS.ErrnoException).code) throw e;
    this.io.err(`procreg run: ${(e as Error).message}`);
    return e instanceof ProcregError && REFUSALS.has(e.code) ? 2 : 1;
  }

  /** What the lock and control sockets say about this procreg. */
  private info(): InstanceInfo {
    const c = this.config;
    const longest = c
      ? Math.max(
          0,
          ...Object.values(c.services).map((s) => s.stopTimeoutMs),
          ...Object.values(c.checks).map((k) => k.killAfterMs),
        )
      : 0;
    return {
      ...this.me,
      runDir: c?.runDir ?? '',
      eventLog: c?.eventLog ?? '',
      config: resolve(this.configPath),
      version: this.version,
      phase: this.phase,
      stopWithinMs: longest + STOP_MARGIN_MS,
    };
  }

  private onSignal(signal: RunSignal): void {
    const meaning = RUN_SIGNALS[signal];
    switch (meaning) {
      case 'stop':
        if (this.stopReason) {
          this.logger.info(
            { signal },
            `${signal} received: procreg is already stopping (${this.stopReason})`,
          );
          return;
        }
        this.logger.info({ signal }, `${signal} received: stopping every service and check`);
        this.requestStop(signal);
        return;
      case 'reload':
        if (this.sup) this.sup.push({ type: 'reload-requested', source: signal });
        else {
          this.reloadPending = true;
          this.logger.info({ signal }, `${signal} received during start-up: procreg reloads once it runs`);
        }
        return;
      case 'reserved':
        this.logger.info(
          { signal },
          `${signal} received: reserved (SIGUSR1 will reopen procreg-managed log files; there are none yet); nothing done`,
        );
        return;
      case 'ignored':
        this.logger.warn(
          { signal },
          `${signal} received: ignored (procreg stops on SIGTERM, SIGINT, SIGQUIT or SIGPWR only)`,
        );
        return;
    }
  }

  private requestStop(reason: string): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.phase = 'stopping';
    if (this.sup) void this.sup.stop(reason);
    else this.abort.abort(new ProcregError('EABORTED', `start-up abandoned: ${reason}`));
  }

  private abandoned(when: string): number {
    this.logger.info(
      { reason: this.stopReason },
      `procreg stopped during start-up (${this.stopReason}, ${when}): nothing was started`,
    );
    return 0;
  }

  /** The config, read and validated once: what is locked is what runs. Or the exit code. */
  private loadConfig(): NormalizedConfig | number {
    // A FIFO or a device would block the read — and with it every signal handler — forever.
    try {
      const st = statSync(this.configPath);
      if (!st.isFile()) {
        this.io.err(`procreg run: ${this.configPath}: not a regular file; refusing to read it`);
        return 2;
      }
    } catch {
      // loadConfigFile says why it cannot be read
    }
    const loaded = loadConfigFile(this.configPath);
    if (!loaded.ok) {
      for (const p of loaded.problems) this.io.err(formatProblem(p));
      return 2;
    }
    return loaded.config;
  }

  private async supervise(config: NormalizedConfig, claim: RunDirClaim): Promise<number> {
    if (this.stopReason) return this.abandoned('after taking the runDir lock');
    const liveBytes = bytesOf(config.eventLog);
    this.logger.info(
      { eventLog: config.eventLog },
      `replaying event log ${config.eventLog} (live segment: ${liveBytes === null ? 'none yet' : `${liveBytes} bytes`})`,
    );
    let sup: Supervisor;
    // A long replay is worth optimizing: a live segment past a few MiB (tens of thousands of
    // events since its snapshot) is replayed with TurboFan on.
    if ((liveBytes ?? 0) > REPLAY_OPTIMIZED_BYTES) optimizeFromNow();
    try {
      sup = await Supervisor.open({
        configPath: this.configPath,
        config,
        eventLog: config.eventLog,
        logger: this.logger,
        version: this.version,
        signal: this.abort.signal,
      });
    } catch (e) {
      if (this.abort.signal.aborted) return this.abandoned(`while replaying ${config.eventLog}`);
      if (e instanceof ConfigError) {
        this.io.err(e.message);
        return 2;
      }
      return this.failed(e);
    }
    this.sup = sup;
    this.own.sup = sup;
    this.logger.info({ replayed: sup.replayed }, describeReplayed(sup.replayed));
    const configs = sup.states.subscribe((s) => {
      if (s.config) this.config = s.config;
    });
    try {
      if (this.stopReason) void sup.stop(this.stopReason); // asked for after the replay
      let control: ControlServer;
      const socket = join(config.runDir, 'procreg.sock');
      try {
        control = await serveControl(socket, this.port(sup), {
          idleMs: this.options.controlIdleMs,
          onError: (err) => this.logger.error({ err }, `control socket ${socket}: ${err.message}`),
        });
      } catch (e) {
        // Services run by now: stop them, then say why procreg could not go on.
        const reason = (e as Error).message;
        this.logger.error({ socket }, `${reason}; stopping every service and check`);
        this.requestStop('control socket unusable');
        await sup.stopped;
        this.own.sup = null; // its event log is closed: what is dropped from now on is only logged
        this.io.err(`procreg run: ${reason}; every service and check was stopped`);
        return 1;
      }
      // The runDir removed underneath (rm -rf) and re-created by the supervisor: procreg.pid
      // and the control socket went with it.
      const recreated = sup.runDirRecreated.subscribe(() => {
        try {
          writePidFile(claim.pidFile, process.pid);
        } catch (e) {
          this.logger.error(
            { pidFile: claim.pidFile },
            `cannot write ${claim.pidFile} again: ${(e as Error).message}`,
          );
        }
        control.relisten().then(
          () => this.logger.info({ socket }, `serving the control socket ${socket} again`),
          (e: Error) =>
            this.logger.error({ socket }, `${e.message}; procreg status/stop/reload cannot reach it`),
        );
      });
      if (this.phase === 'starting') this.phase = 'running';
      if (this.reloadPending && this.phase === 'running')
        sup.push({ type: 'reload-requested', source: 'SIGHUP' });
      this.logger.info(
        { config: this.configPath, runDir: config.runDir, pid: process.pid },
        `procreg running: pid ${process.pid}, config ${this.configPath}, runDir ${config.runDir}`,
      );
      optimizeFromNow();
      await sup.stopped;
      recreated.unsubscribe();
      await control.close(true);
      await this.flushShipper();
      this.logger.info('procreg stopped: every service and check is gone');
      return 0;
    } finally {
      configs.unsubscribe();
    }
  }

  /**
   * The shipper (procreg-ship) stopped with the other services, before the stop's own events
   * were written: ship those now, once, so a fleet sees this host stopped — bounded by the
   * shipper's stopTimeout, in a process of its own (a broker down or slow holds nothing of
   * procreg's open). What it cannot send waits on disk for the next start, as before.
   */
  private async flushShipper(): Promise<void> {
    const def = this.config?.ship ? this.config.services[SHIP_SERVICE] : undefined;
    if (!def) return;
    const [file, ...args] = def.command;
    if (file === undefined) return;
    const timeoutMs = def.stopTimeoutMs;
    await new Promise<void>((done) => {
      execFile(
        file,
        [...args, '--once'],
        { cwd: def.cwd ?? undefined, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
        (err, _stdout, stderr) => {
          if (!err) this.logger.info(`${SHIP_SERVICE}: the stop's last events shipped`);
          else {
            const why = err.killed
              ? `not done within its stopTimeout ${timeoutMs} ms`
              : (stderr.trim().split('\n').at(-1) ?? err.message);
            this.logger.warn(
              { service: SHIP_SERVICE },
              `${SHIP_SERVICE}: the stop's last events were not shipped (${why}); they stay on disk and go out at the next start, or with procreg ship <config> --once`,
            );
          }
          done();
        },
      );
    });
  }

  private port(sup: Supervisor): ControlPort {
    return {
      info: () => this.info(),
      status: () => sup.status(),
      reload: (services) =>
        reloadVerdict(
          {
            events: sup.events,
            phase: () => (this.phase === 'stopping' ? 'stopping' : sup.status().phase),
            request: (source, names) =>
              sup.push({
                type: 'reload-requested',
                source,
                ...(names.length > 0 ? { services: names } : {}),
              }),
          },
          'socket',
          RELOAD_VERDICT_MS,
          services,
        ),
      operate: (req) => operate(sup, req, { source: 'socket' }),
      stop: () => {
        const already = this.stopReason !== null;
        this.requestStop('procreg stop');
        return { pid: process.pid, withinMs: this.info().stopWithinMs, already };
      },
    };
  }
}

/**
 * One turn of the event loop: a signal the kernel delivered before now has run its handler
 * when this resolves (signals are read in the poll phase; setImmediate runs after it).
 */
function signalsDelivered(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How start-up rebuilt the registry: from which snapshot, and how much of the log it read. */
export function describeReplayed(r: ReplayedLog): string {
  const segments = `${r.segments} segment${r.segments === 1 ? '' : 's'}`;
  const read = `read ${formatSize(r.bytesRead)} of ${formatSize(r.totalBytes)} in ${segments}, ${r.events} events`;
  const migrated = r.closedAs ? `; the log from before segments was closed as ${basename(r.closedAs)}` : '';
  if (r.from === null) return `new event log: nothing to replay${migrated}`;
  const where =
    r.from.seq === null
      ? `from the start of ${basename(r.from.file)}`
      : `from the snapshot at seq ${r.from.seq} in ${basename(r.from.file)}`;
  return `replayed ${where}: ${read}${migrated}`;
}

/** Live segment size past which the start-up replay runs with TurboFan (see optimizeFromNow). */
const REPLAY_OPTIMIZED_BYTES = 4 * 1024 * 1024;

/** A file's size, or null when there is none (yet). */
function bytesOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/**
 * bin/procreg.js starts `run` without V8's optimizing compiler, so that the start-up burst
 * leaves none of its memory behind; from here on code that runs hot (a crash storm, many
 * status requests) is optimized as usual — and from before the replay when the live segment
 * is long. A node started with --no-turbofan (--no-opt) or --jitless stays without.
 */
function optimizeFromNow(): void {
  if (process.execArgv.some((a) => a === '--no-opt' || a === '--jitless' || a === '--no-turbofan')) return;
  setFlagsFromString('--turbofan');
}
