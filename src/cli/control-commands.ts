import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NormalizedConfig } from '../config/types.js';
import { decodeEvent } from '../events/codec.js';
import type { ReloadApplied, ReloadFailed } from '../events/types.js';
import { requestStatus } from '../shell/control-socket.js';
import { loadConfigFile } from '../shell/load-config.js';
import { readPidFile } from '../shell/pidfile.js';
import { type CommandIO, formatView } from './replay-command.js';

/** `procreg status <config> [--json]`: the live registry, from the running supervisor. Exit 1 if none runs. */
export async function statusCommand(file: string, json: boolean, io: CommandIO): Promise<number> {
  const config = configOrReport(file, io);
  if (!config) return 2;
  try {
    const view = await requestStatus(join(config.runDir, 'procreg.sock'));
    io.out(json ? JSON.stringify(view, null, 2) : formatView(view, view.seq, Date.now()));
    return 0;
  } catch (e) {
    io.err(`procreg status: ${(e as Error).message}`);
    return 1;
  }
}

/** `procreg reload <config>`: SIGHUP to the running supervisor, then its verdict from the event log. */
export async function reloadCommand(file: string, io: CommandIO, timeoutMs = 15_000): Promise<number> {
  const config = configOrReport(file, io);
  if (!config) {
    io.err(
      `procreg reload: ${file} is invalid; the running supervisor was not asked to reload and keeps its generation`,
    );
    return 2;
  }
  const pid = runningPid(config, io);
  if (pid === null) return 1;
  const from = statSync(config.eventLog).size;
  process.kill(pid, 'SIGHUP');
  const verdict = await waitForVerdict(config.eventLog, from, timeoutMs);
  if (!verdict) {
    io.err(`procreg reload: no verdict from procreg pid ${pid} within ${timeoutMs} ms`);
    return 1;
  }
  if (verdict.type === 'reload-failed') {
    io.err(`procreg reload: failed, the running generation is unchanged: ${verdict.reason}`);
    return 1;
  }
  io.out(`procreg reload: generation ${verdict.gen} applied`);
  return 0;
}

/** `procreg stop <config>`: SIGTERM to the running supervisor, then wait until it is gone. */
export async function stopCommand(file: string, io: CommandIO): Promise<number> {
  const config = configOrReport(file, io);
  if (!config) return 2;
  const pid = runningPid(config, io);
  if (pid === null) return 1;
  const longest = Math.max(0, ...Object.values(config.services).map((s) => s.stopTimeoutMs));
  const deadline = Date.now() + longest + 10_000;
  process.kill(pid, 'SIGTERM');
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      io.out(`procreg stop: procreg pid ${pid} stopped every service and exited`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  io.err(`procreg stop: procreg pid ${pid} is still running after ${longest + 10_000} ms`);
  return 1;
}

function configOrReport(file: string, io: CommandIO): NormalizedConfig | null {
  const res = loadConfigFile(file);
  if (res.ok) return res.config;
  for (const e of res.errors) io.err(e);
  return null;
}

function runningPid(config: NormalizedConfig, io: CommandIO): number | null {
  const path = join(config.runDir, 'procreg.pid');
  const pid = readPidFile(path);
  if (typeof pid !== 'number' || !isAlive(pid)) {
    io.err(
      `no procreg is running for this config (${path}: ${typeof pid === 'number' ? `pid ${pid} is not alive` : (pid ?? 'unreadable')})`,
    );
    return null;
  }
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Verdict = ReloadApplied | ReloadFailed;

/** Poll the event log past byte `from` for the first reload verdict, reading whole lines only. */
async function waitForVerdict(path: string, from: number, timeoutMs: number): Promise<Verdict | null> {
  const deadline = Date.now() + timeoutMs;
  let offset = from;
  while (Date.now() < deadline) {
    const size = statSync(path).size;
    if (size > offset) {
      const fd = openSync(path, 'r');
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      // A line still being written stays for the next round, bytes and all.
      const end = buf.lastIndexOf(0x0a) + 1;
      offset += end;
      for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
        const res = decodeEvent(line);
        if (res.ok && (res.event.type === 'reload-applied' || res.event.type === 'reload-failed'))
          return res.event;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}
