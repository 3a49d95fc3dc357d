import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { freePort } from './free-port.js';

/** A real `nats-server -js` on a free loopback port with its own store directory. */
export interface NatsServer {
  readonly port: number;
  readonly url: string;
  readonly pid: () => number;
  /** kill -9 it. */
  readonly crash: () => Promise<void>;
  /** Start it again on the same port and store. */
  readonly restart: () => Promise<void>;
}

export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

/** Start nats-servers; after each test, kill them and remove their stores, whatever happened. */
export function useNatsServer(): () => Promise<NatsServer> {
  const procs = new Set<ChildProcess>();
  const dirs: string[] = [];
  afterEach(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    procs.clear();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procreg-nats-'));
    dirs.push(dir);
    const port = await freePort();
    let proc: ChildProcess;
    const start = async () => {
      proc = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      procs.add(proc);
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`nats-server did not start in 10 s: ${err}`)), 10_000);
        proc.stderr?.on('data', (d) => {
          err += String(d);
          if (err.includes('Server is ready')) {
            clearTimeout(t);
            resolve();
          }
        });
        proc.once('exit', (code) => {
          clearTimeout(t);
          reject(new Error(`nats-server exited (${code}): ${err}`));
        });
      });
      proc.stderr?.resume();
    };
    await start();
    return {
      port,
      url: `nats://127.0.0.1:${port}`,
      pid: () => proc.pid as number,
      crash: async () => {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      },
      restart: start,
    };
  };
}
