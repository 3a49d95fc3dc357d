// Carrying out the fold's effects on the OS; every outcome comes back as an event.
import type { OwnLogger } from '../json-logger.js';
import { formatProblem } from '../../config/schema.js';
import type { ServiceLogDef } from '../../config/types.js';
import type { Effect } from '../../core/effects.js';
import { assertNever } from '../../events/assert-never.js';
import type { EventBody, LastWords } from '../../events/types.js';
import { vetCommand } from '../config/script-security.js';
import { removePidFileIfOwned, writePidFile } from '../files/pidfile.js';
import { readProcExe, readProcStartTime } from '../proc/proc-stat.js';
import { type ChildSpec, spawnChild } from './children.js';
import { type Launch, launchOf, programProblem } from './run-as.js';
import { realpathSync } from 'node:fs';
import { DAEMONIZE_WINDOW_MS } from '../../core/daemonized.js';
import { INVOCATION_VAR, leftBehind, newInvocationId } from '../proc/daemon-scan.js';
import { findExecutable } from '../proc/executable.js';
import { type GroupWatch, groupAlive } from './group-watch.js';
import { LastLines } from './last-words.js';
import { ServiceLog } from '../output/service-log.js';
import { reapOrphan } from './orphans.js';
import type { TimerTable } from './timers.js';
import type { TurnBudget } from './turn-budget.js';

/** What effects act through: the event stream outcomes go back into, and the supervisor's parts. */
export interface EffectPorts {
  /** An outcome or a new input: it is stamped, logged and folded after the current event. */
  readonly emit: (body: EventBody) => void;
  readonly timers: TimerTable;
  readonly groups: GroupWatch;
  /** Forks are spread over turns of the event loop when many come at once. */
  readonly budget: TurnBudget;
  readonly log: OwnLogger;
  /** Re-read the config (file or given object) and emit config-loaded or reload-failed. */
  readonly loadConfig: () => void;
  /** Every process is gone after a stop: close the log and resolve `stopped`. */
  readonly finish: () => void;
  /** The running config's allowUnsafeScripts: script security is re-checked before every spawn. */
  readonly allowUnsafeScripts?: () => boolean;
}

export function executeEffect(e: Effect, ports: EffectPorts): void {
  switch (e.do) {
    case 'spawn':
      return ports.budget.run(() => startService(e, ports));
    case 'run-check':
      return ports.budget.run(() => startCheckRun(e, ports));
    case 'signal-group':
      return ports.emit({
        type: 'signal-sent',
        pid: e.pid,
        signal: e.signal,
        error: signalGroup(e.pid, e.signal),
      });
    case 'write-pidfile':
      return ports.emit(
        attempt(
          ports,
          () => {
            writePidFile(e.path, e.pid);
            return { type: 'pidfile-written', path: e.path, pid: e.pid, error: null };
          },
          (error) => ({ type: 'pidfile-written', path: e.path, pid: e.pid, error }),
        ),
      );
    case 'remove-pidfile':
      return ports.emit(
        attempt(
          ports,
          () => ({
            type: 'pidfile-removed',
            path: e.path,
            pid: e.ifPid,
            outcome: removePidFileIfOwned(e.path, e.ifPid),
            error: null,
          }),
          (error) => ({ type: 'pidfile-removed', path: e.path, pid: e.ifPid, outcome: 'error', error }),
        ),
      );
    case 'arm-timer':
      return ports.timers.arm(e.timer, e.at);
    case 'cancel-timer':
      return ports.timers.cancel(e.timer);
    case 'load-config':
      return ports.loadConfig();
    case 'reap-orphan':
      return ports.emit({ type: 'orphan-reaped', pid: e.pid, ...reapOrphan(e, e.signal) });
    case 'watch-group':
      return ports.groups.watch(e.pid);
    case 'exit':
      closeServiceLogs(ports);
      return ports.finish();
    default:
      return assertNever(e);
  }
}

function startService(e: Extract<Effect, { do: 'spawn' }>, ports: EffectPorts): void {
  const { name, gen, incarnation } = e;
  const failed = (error: string): EventBody => ({ type: 'spawn-failed', name, gen, incarnation, error });
  const launch = prepare(e, `services.${name}`, ports);
  if ('error' in launch) return ports.emit(failed(launch.error));
  let id: { startTime: number | null; exe: string | null } = { startTime: null, exe: null };
  // What this incarnation forks inherits the ID: how its escaped copies are told (daemon-scan).
  const invocation = newInvocationId();
  const env = { ...launch.env, [INVOCATION_VAR]: invocation };
  const spec = { ...e, env, wrapper: launch.wrapper, inheritEnv: false };
  const watch = { started: () => id, program: () => programExe(e, launch), invocation };
  const levels = { stdout: 'info', stderr: e.stderrLevel } as const;
  const file = e.log ? serviceLog(ports, name, e.log) : null;
  const onLine = (pid: number, stream: 'stdout' | 'stderr', line: string) =>
    file ? file.line(stream, pid, line) : ports.log[levels[stream]]({ service: name, pid, stream }, line);
  startChild(
    spec,
    onLine,
    ports,
    (started) => {
      if ('error' in started) return failed(started.error);
      id = identity(started.pid, launch);
      return { type: 'spawned', name, gen, incarnation, pid: started.pid, ...id };
    },
    watch,
  );
}

function startCheckRun(e: Extract<Effect, { do: 'run-check' }>, ports: EffectPorts): void {
  const { name, gen, run } = e;
  const failed = (error: string): EventBody => ({ type: 'check-start-failed', name, gen, run, error });
  const launch = prepare(e, `checks.${name}`, ports);
  if ('error' in launch) return ports.emit(failed(launch.error));
  const spec = {
    command: e.command,
    cwd: e.cwd,
    env: launch.env,
    inheritEnv: false,
    wrapper: launch.wrapper,
    stdout: null,
    stderr: null,
    lastWords: e.lastWords,
  };
  // A check's output is kept per run and logged only when its result changes or it fails: a
  // `curl` without -o /dev/null would otherwise log a page every interval.
  const kept = new LastLines(CHECK_OUTPUT_KEPT);
  const onLine = (_pid: number, stream: 'stdout' | 'stderr', line: string) => kept.push(`${stream}\0${line}`);
  const onExit = (pid: number, code: number | null, signal: string | null) => {
    const ok = code === 0 && signal === null;
    const results = lastCheckResults(ports);
    const changed = results.get(name) !== ok;
    results.set(name, ok);
    if (ok && !changed) return;
    for (const l of kept.lines()) {
      const cut = l.indexOf('\0');
      const stream = cut > 0 && l.slice(0, cut) === 'stderr' ? 'stderr' : 'stdout'; // a cut line lost its tag
      ports.log[stream === 'stdout' ? 'info' : 'warn']({ check: name, pid, stream }, l.slice(cut + 1));
    }
  };
  startChild(
    spec,
    onLine,
    ports,
    (started) =>
      'error' in started
        ? failed(started.error)
        : { type: 'check-started', name, gen, run, pid: started.pid, ...identity(started.pid, launch) },
    undefined,
    onExit,
  );
}

/**
 * Everything decided before the fork: the user, groups, limits and environment it starts with
 * (./run-as.ts), and script security at the moment that matters — right before the exec, with
 * the PATH it will run with, against the user it will run as.
 */
function prepare(
  e: Extract<Effect, { do: 'spawn' | 'run-check' }>,
  where: string,
  ports: EffectPorts,
): Launch | { error: string } {
  const launch = launchOf(e.runAs, e.env, where);
  if ('error' in launch) return launch;
  const refused = vetCommand(e.command, e.cwd, launch.env, {
    where: `${where}.command`,
    allowUnsafeScripts: ports.allowUnsafeScripts?.() ?? false,
    wholeEnv: true,
    runsAs: launch.uid,
  });
  if (refused) return { error: formatProblem(refused) };
  if (launch.wrapper.length > 0) {
    const missing = programProblem(e.command, e.cwd, launch.env);
    if (missing) return { error: missing };
  }
  return launch;
}

/**
 * Spawn a service or check process: its output lines to the log tagged `who`, its exit as an
 * event, and at once the event saying it started (or why not) — in this same turn as the fork,
 * so a crash cannot lose a child we started.
 */
function startChild(
  spec: ChildSpec,
  onLine: (pid: number, stream: 'stdout' | 'stderr', line: string) => void,
  ports: EffectPorts,
  outcome: (started: { pid: number } | { error: string }) => EventBody,
  daemon?: DaemonWatch,
  onExit?: (pid: number, code: number | null, signal: string | null) => void,
): void {
  let pid = 0; // known before any line or exit can arrive: they come from the event loop
  const since = performance.now();
  spawnChild(
    spec,
    {
      onLine: (stream, line) => onLine(pid, stream, line),
      onExit: (code, signal, lastWords) => {
        onExit?.(pid, code, signal);
        if (daemon && code === 0) suspectDaemon(pid, Math.round(performance.now() - since), daemon, ports);
        ports.emit(exited(pid, code, signal, lastWords));
      },
    },
    (started) => {
      if ('pid' in started) pid = started.pid;
      ports.emit(outcome(started));
    },
  );
}

/** Each service's log file, per supervisor: one writer per file, kept across incarnations. */
const serviceLogs = new WeakMap<TimerTable, Map<string, ServiceLog>>();
function serviceLog(ports: EffectPorts, name: string, def: ServiceLogDef): ServiceLog {
  let m = serviceLogs.get(ports.timers);
  if (!m) serviceLogs.set(ports.timers, (m = new Map()));
  const had = m.get(name);
  if (had && JSON.stringify(had.def) === JSON.stringify(def)) return had;
  had?.close(); // a reload moved or resized it
  const log = new ServiceLog(
    def,
    (d) => ports.emit({ type: 'output-dropped', output: name, ...d }),
    (message) => ports.log.error({ service: name }, message),
  );
  m.set(name, log);
  return log;
}
function closeServiceLogs(ports: EffectPorts): void {
  for (const log of serviceLogs.get(ports.timers)?.values() ?? []) log.close();
  serviceLogs.delete(ports.timers);
}

/** The output of one check run kept until its result is known. */
const CHECK_OUTPUT_KEPT = { lines: 50, bytes: 16 * 1024 };

/** Each check's last result (exit 0 or not) as the shell saw it, per supervisor. */
const checkResults = new WeakMap<TimerTable, Map<string, boolean>>();
function lastCheckResults(ports: EffectPorts): Map<string, boolean> {
  let m = checkResults.get(ports.timers);
  if (!m) checkResults.set(ports.timers, (m = new Map()));
  return m;
}

/**
 * What proves later that a PID is still the process started now: its start time and its
 * executable (spawn returns after the exec, so this is the program's, not node's). Started
 * through helpers (user, limits, umask), the exec in hand may still be a helper's: then the
 * start time, group and session are the proof, without the executable.
 */
function identity(pid: number, launch: Launch): { startTime: number | null; exe: string | null } {
  return { startTime: readProcStartTime(pid), exe: launch.wrapper.length > 0 ? null : readProcExe(pid) };
}

/** What tells a daemon's parent from a service that simply exited: its start, its program. */
interface DaemonWatch {
  readonly started: () => { startTime: number | null; exe: string | null };
  readonly program: () => string | null;
  /** The incarnation's PROCREG_INVOCATION_ID. */
  readonly invocation: string;
}

/**
 * A service's main process exited 0 soon after it started: if it left processes running (in
 * its group, or escaped into their own session), say so before its exit (daemon-suspected).
 */
function suspectDaemon(pid: number, afterMs: number, watch: DaemonWatch, ports: EffectPorts): void {
  if (afterMs >= DAEMONIZE_WINDOW_MS) return;
  const { startTime, exe } = watch.started();
  const found = leftBehind(pid, startTime, exe ?? watch.program(), watch.invocation);
  if (found) ports.emit({ type: 'daemon-suspected', pid, left: found.left, escaped: found.escaped, afterMs });
}

/** The program a wrapped start ends up running (its real path), for telling its escaped copies. */
function programExe(e: Extract<Effect, { do: 'spawn' }>, launch: Launch): string | null {
  const found = findExecutable(e.command[0] as string, e.cwd ?? process.cwd(), launch.env.PATH);
  try {
    return 'path' in found ? realpathSync(found.path) : null;
  } catch {
    return null;
  }
}

/** An exit, and whether the rest of its process group outlived it (the leader is reaped by now). */
function exited(
  pid: number,
  code: number | null,
  signal: string | null,
  lastWords: LastWords | null,
): EventBody {
  return { type: 'exited', pid, code, signal, groupAlive: groupAlive(pid), lastWords };
}

/** Signal a whole process group: the error code, or null when it was delivered. */
function signalGroup(pid: number, signal: string): string | null {
  try {
    process.kill(-pid, signal as NodeJS.Signals);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Run a file operation; its failure is logged and becomes the error outcome. */
function attempt(ports: EffectPorts, run: () => EventBody, onError: (error: string) => EventBody): EventBody {
  try {
    return run();
  } catch (e) {
    ports.log.error({ err: e }, (e as Error).message);
    return onError((e as Error).message);
  }
}
