import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readProcStat } from '../../src/shell/proc/proc-stat.js';
import { killAll } from './wait.js';

export interface BenchRun {
  readonly proc: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/**
 * Start a benchmark runner (`node <script> ...args`) with its own TMPDIR and a tag in its
 * environment, which every process it starts inherits (see processesTagged).
 */
export function startBenchRun(
  script: string,
  args: string[],
  env: { TMPDIR: string; tag: string },
): BenchRun {
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, TMPDIR: env.TMPDIR, PROCREG_TEST_TAG: env.tag },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d) => (stdout += String(d)));
  proc.stderr?.on('data', (d) => (stderr += String(d)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const exit = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) =>
      proc.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      }),
  );
  return { proc, exit };
}

/**
 * Running processes (zombies excluded) whose environment carries PROCREG_TEST_TAG=`tag`, and
 * their descendants (a supervisor's services may start from a clean environment): pid and
 * command line.
 */
export function processesTagged(tag: string): { pid: number; cmd: string }[] {
  const mark = `PROCREG_TEST_TAG=${tag}\0`;
  const parentOf = new Map<number, number>();
  const tagged = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readProcStat(pid);
    if (stat === null || stat.state === 'Z') continue;
    parentOf.set(pid, stat.ppid);
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) tagged.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number) => {
    for (
      let p: number | undefined = pid, hops = 0;
      p !== undefined && p > 1 && hops < 64;
      hops++, p = parentOf.get(p)
    )
      if (tagged.has(p)) return true;
    return false;
  };
  return [...parentOf.keys()].filter(under).map((pid) => {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
    } catch {
      // gone meanwhile
    }
    return { pid, cmd };
  });
}

/** Whatever a failed test left running under `tag`. */
export function killTagged(tag: string): void {
  killAll(processesTagged(tag).map((p) => p.pid));
}
