import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BehaviorSubject } from 'rxjs';
import { afterEach } from 'vitest';
import type { Event } from '../../src/events/types.js';
import { readLog } from '../../src/shell/event-log/reader.js';
import { allFiles, listLogFiles } from '../../src/shell/event-log/segments.js';
import { readAppended } from '../../src/shell/event-log/tail.js';
import { readPidFile } from '../../src/shell/files/pidfile.js';
import { readProcStartTime } from '../../src/shell/proc/proc-stat.js';
import { firstMatch } from './next-event.js';
import { killAll, waitFor } from './wait.js';

const BIN = join(process.cwd(), 'bin', 'procreg.js');

/** A `procreg run` started from bin/procreg.js. */
export interface Running {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far, interleaved. */
  readonly output: () => string;
  readonly stderr: () => string;
  /** Resolves once its output (stdout and stderr) includes `text`, as it arrives. */
  readonly printed: (text: string, ms?: number) => Promise<void>;
}

/** The events of a log, decoded (a line that does not decode is an error: procreg writes none). */
export async function logEvents(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const item of readLog(path)) {
    if (item.kind === 'problem') throw new Error(`${path}:${item.problem.line}: ${item.problem.message}`);
    out.push(item.event);
  }
  return out;
}

/**
 * Start real `procreg run` processes; after each test, kill them and every process their
 * event logs say they started (process groups and all), whatever the test got to see.
 */
export function useProcregRun() {
  const procs: ChildProcess[] = [];
  const pids = new Set<number>();
  const logs = new Set<string>();
  afterEach(async () => {
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    // What the logs say was started, with its start time: with a crash loop the log names
    // thousands of PIDs long gone, and the kernel reuses them (pid_max may be 32768) for other
    // programs' processes, which must not be killed.
    const started = new Map<number, number | null>();
    for (const live of logs) {
      // Every segment of the log, and what its snapshots hold: retention may have deleted the
      // segment that says a process was spawned.
      for (const { path: log } of allFiles(listLogFiles(live))) {
        if (!existsSync(log)) continue;
        for await (const item of readLog(log)) {
          if (item.kind !== 'event') continue;
          const e = item.event;
          if (e.type === 'spawned' || e.type === 'check-started') started.set(e.pid, e.startTime);
          if (e.type === 'snapshot')
            for (const [pid, p] of (e.state as { procs?: [number, { startTime: number | null }][] }).procs ??
              [])
              started.set(pid, p.startTime);
        }
      }
    }
    for (const [pid, startTime] of started) {
      const now = readProcStartTime(pid);
      // Gone: its group may linger (a PID is not reused while it names a group). Else only if still it.
      if (now === null || startTime === null || now === startTime) pids.add(pid);
    }
    logs.clear();
    killAll(pids);
    pids.clear();
  });

  /** `procreg run <config> ...args` in `cwd`; `runDir` is where its event log will be, for the cleanup. */
  function startIn(cwd: string, config: string, runDir: string, ...args: string[]): Running {
    logs.add(join(runDir, 'events.jsonl'));
    const proc = spawn(process.execPath, [BIN, 'run', config, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(proc);
    const out$ = new BehaviorSubject('');
    let err = '';
    proc.stdout?.on('data', (d) => out$.next(out$.value + String(d)));
    proc.stderr?.on('data', (d) => {
      out$.next(out$.value + String(d));
      err += String(d);
    });
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    return {
      proc,
      pid: proc.pid as number,
      exit,
      output: () => out$.value,
      stderr: () => err,
      printed: async (text, ms) => {
        await firstMatch(out$, (o) => o.includes(text), JSON.stringify(text), ms);
      },
    };
  }

  return {
    /** `procreg run <config> ...args`; `runDir` is where its event log will be, for the cleanup. */
    start: (config: string, runDir: string, ...args: string[]) =>
      startIn(process.cwd(), config, runDir, ...args),
    startIn,
    /** Kill this process too at the end of the test. */
    track(pid: number): number {
      pids.add(pid);
      return pid;
    },
  };
}

/** The PID in `<runDir>/<name>.pid` once there is one (other than `not`). */
export function pidFileOf(runDir: string, name: string, not?: number, ms = 10_000): Promise<number> {
  return waitFor(
    `${name}.pid`,
    () => {
      const p = readPidFile(join(runDir, `${name}.pid`));
      return typeof p === 'number' && p !== not ? p : undefined;
    },
    ms,
  );
}

/**
 * The first event appended to the log at `path` after byte `from` that matches `match`,
 * following the file as procreg writes it (no event stream crosses the process boundary).
 */
export async function logEvent<E extends Event>(
  path: string,
  match: (e: Event) => e is E,
  what: string,
  from = 0,
  ms = 10_000,
): Promise<E> {
  let offset = from;
  return waitFor(
    what,
    () => {
      if (!existsSync(path)) return undefined;
      const { events, next } = readAppended(path, offset);
      offset = next;
      return events.find(match);
    },
    ms,
  );
}
