import { join } from 'node:path';
import { formatProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { formatView } from '../../report/registry-table.js';
import { loadConfigFile } from '../config/load-config.js';
import {
  findSupervisor,
  logOffset,
  requestStatus,
  signalSupervisor,
  waitForExit,
  waitForReloadVerdict,
} from '../control/client.js';
import type { CommandIO } from './io.js';

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
  const found = findSupervisor(config.runDir);
  if ('none' in found) {
    io.err(found.none);
    return 1;
  }
  const from = logOffset(config.eventLog);
  signalSupervisor(found.pid, 'SIGHUP');
  const verdict = await waitForReloadVerdict(config.eventLog, from, timeoutMs);
  if (!verdict) {
    io.err(`procreg reload: no verdict from procreg pid ${found.pid} within ${timeoutMs} ms`);
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
  const found = findSupervisor(config.runDir);
  if ('none' in found) {
    io.err(found.none);
    return 1;
  }
  const longest = Math.max(0, ...Object.values(config.services).map((s) => s.stopTimeoutMs));
  signalSupervisor(found.pid, 'SIGTERM');
  if (await waitForExit(found.pid, longest + 10_000)) {
    io.out(`procreg stop: procreg pid ${found.pid} stopped every service and exited`);
    return 0;
  }
  io.err(`procreg stop: procreg pid ${found.pid} is still running after ${longest + 10_000} ms`);
  return 1;
}

function configOrReport(file: string, io: CommandIO): NormalizedConfig | null {
  const res = loadConfigFile(file);
  if (res.ok) return res.config;
  for (const p of res.problems) io.err(formatProblem(p));
  return null;
}
