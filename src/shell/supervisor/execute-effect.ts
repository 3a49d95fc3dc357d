// Carrying out the fold's effects on the OS; every outcome comes back as an event.
import type { Logger } from 'pino';
import { formatProblem } from '../../config/schema.js';
import type { Effect } from '../../core/effects.js';
import { assertNever } from '../../events/assert-never.js';
import type { EventBody } from '../../events/types.js';
import { vetCommand } from '../config/script-security.js';
import { removePidFileIfOwned, writePidFile } from '../files/pidfile.js';
import { readProcStartTime } from '../proc/proc-stat.js';
import { spawnChild } from './children.js';
import { reapOrphan } from './orphans.js';
import type { TimerTable } from './timers.js';

/** What effects act through: the event stream outcomes go back into, and the supervisor's parts. */
export interface EffectPorts {
  /** An outcome or a new input: it is stamped, logged and folded after the current event. */
  readonly emit: (body: EventBody) => void;
  readonly timers: TimerTable;
  readonly log: Logger;
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
      return startService(e, ports);
    case 'run-check':
      return startCheckRun(e, ports);
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
      return ports.emit({ type: 'orphan-reaped', pid: e.pid, outcome: reapOrphan(e.pid, e.startTime) });
    case 'exit':
      return ports.finish();
    default:
      return assertNever(e);
  }
}

function startService(e: Extract<Effect, { do: 'spawn' }>, ports: EffectPorts): void {
  const { name, gen, incarnation } = e;
  const allowUnsafeScripts = ports.allowUnsafeScripts?.() ?? false;
  const refused = vetCommand(e.command, e.cwd, e.env, {
    where: `services.${name}.command`,
    allowUnsafeScripts,
  });
  if (refused)
    return ports.emit({ type: 'spawn-failed', name, gen, incarnation, error: formatProblem(refused) });
  const started = spawnChild(e, {
    onLine: (stream, line) =>
      ports.log[stream === 'stdout' ? 'info' : 'warn']({ service: name, pid: pidOf(started), stream }, line),
    onExit: (code, signal) => ports.emit({ type: 'exited', pid: pidOf(started), code, signal }),
  });
  if ('error' in started) {
    ports.emit({ type: 'spawn-failed', name, gen, incarnation, error: started.error });
    return;
  }
  // Logged in this same turn as the fork: a crash cannot lose a child we started.
  const { pid } = started;
  ports.emit({ type: 'spawned', name, gen, incarnation, pid, startTime: readProcStartTime(pid) });
}

function startCheckRun(e: Extract<Effect, { do: 'run-check' }>, ports: EffectPorts): void {
  const { name, gen, run } = e;
  const allowUnsafeScripts = ports.allowUnsafeScripts?.() ?? false;
  const refused = vetCommand(e.command, e.cwd, {}, { where: `checks.${name}.command`, allowUnsafeScripts });
  if (refused)
    return ports.emit({ type: 'check-start-failed', name, gen, run, error: formatProblem(refused) });
  const started = spawnChild(
    { command: e.command, cwd: e.cwd, env: {}, stdout: null, stderr: null },
    {
      onLine: (stream, line) =>
        ports.log[stream === 'stdout' ? 'info' : 'warn']({ check: name, pid: pidOf(started), stream }, line),
      onExit: (code, signal) => ports.emit({ type: 'exited', pid: pidOf(started), code, signal }),
    },
  );
  if ('error' in started) {
    ports.emit({ type: 'check-start-failed', name, gen, run, error: started.error });
    return;
  }
  const { pid } = started;
  ports.emit({ type: 'check-started', name, gen, run, pid, startTime: readProcStartTime(pid) });
}

/** The hooks only fire after spawnChild returned a PID. */
const pidOf = (started: { pid: number } | { error: string }): number => (started as { pid: number }).pid;

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
