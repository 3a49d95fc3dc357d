import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';
import { killAll } from './wait.js';

const DIST = pathToFileURL(join(process.cwd(), 'dist', 'shell', 'instance-lock.js')).href;

/** A process of its own holding (or failing to take) a lock, as another procreg would. */
export interface Holder {
  readonly pid: number;
  readonly proc: ChildProcess;
  /** What it said once it tried: {"held":true} or {"held":false,"holder":...}. */
  readonly said: Promise<{ held: boolean; holder?: unknown }>;
  readonly exited: Promise<void>;
}

/** Takes the lock with the compiled instance-lock.js, says whether it got it, and stays. */
const HOLD = `
const { InstanceLock } = await import(process.argv[1]);
const [kind, path, phase] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const stat = readFileSync('/proc/self/stat', 'latin1');
const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
const res = await InstanceLock.acquire(kind, path, () => ({
  pid: process.pid, startTime, bootId, runDir: path, eventLog: path + '/events.jsonl',
  config: '/test/holder.yaml', version: 'holder', phase, stopWithinMs: 1000,
}));
console.log(JSON.stringify(res.ok ? { held: true } : { held: false, holder: res.holder }));
setInterval(() => {}, 1000);
`;

/**
 * Binds the lock's abstract address itself and answers every connection with `hello`: a
 * squatter that pretends to be a procreg.
 */
const SQUAT = `
const net = await import('node:net');
const [name, hello] = process.argv.slice(1);
net.createServer((c) => c.end(hello + '\\n')).listen('\\0' + name, () => console.log(JSON.stringify({ held: true })));
setInterval(() => {}, 1000);
`;

/** Start lock holders; each is killed after the test, whatever happened. */
export function useLockHolders() {
  const procs: ChildProcess[] = [];
  afterEach(() => {
    killAll(procs.splice(0).map((p) => p.pid as number));
  });

  function start(args: string[], prefix: string[] = []): Holder {
    const [cmd, ...rest] = [...prefix, process.execPath, '--input-type=module', ...args];
    const proc = spawn(cmd as string, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(proc);
    const said = new Promise<{ held: boolean; holder?: unknown }>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (d) => {
        out += String(d);
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { held: boolean });
      });
      proc.on('exit', (code) => reject(new Error(`lock holder exited (${code}) before saying anything`)));
    });
    said.catch(() => {});
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    return { pid: proc.pid as number, proc, said, exited };
  }

  return {
    /** A process that takes the `kind` lock on `path` (its hello says `phase`); `prefix` runs it, e.g. under unshare. */
    hold: (kind: 'run' | 'log', path: string, phase = 'running', prefix: string[] = []) =>
      start(['-e', HOLD, DIST, kind, path, phase], prefix),
    /** A process that binds the abstract `address` (leading NUL included) and answers with `hello`. */
    squat: (address: string, hello: string) => start(['-e', SQUAT, address.slice(1), hello]),
  };
}
