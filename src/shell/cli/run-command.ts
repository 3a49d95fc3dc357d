import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem } from '../../config/schema.js';
import { loadConfigFile } from '../config/load-config.js';
import { serveControl } from '../control/server.js';
import { removePidFileIfOwned } from '../files/pidfile.js';
import { claimRunDir } from '../files/run-dir-claim.js';
import { humanLogger, type LogFormat } from '../logger.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { CommandIO } from './io.js';

type Signal = 'SIGHUP' | 'SIGTERM' | 'SIGINT';

/**
 * `procreg run <config>`: the supervisor in the foreground. Signal handlers are installed
 * before anything else, so a SIGHUP or SIGTERM during start-up neither kills procreg nor is
 * lost: it is applied as soon as the supervisor exists. Resolves with the exit code.
 */
export async function runCommand(
  configPath: string,
  version: string,
  io: CommandIO,
  logFormat: LogFormat = 'auto',
): Promise<number> {
  // Signals caught by bin/procreg.js before this module was even loaded come first.
  const early: Signal[] = (globalThis as { procregEarlySignals?: Signal[] }).procregEarlySignals ?? [];
  let sup: Supervisor | null = null;
  const onSignal = (signal: Signal) => {
    if (!sup) early.push(signal);
    else if (signal === 'SIGHUP') sup.reload();
    else void sup.stop(signal);
  };
  const handlers = (['SIGHUP', 'SIGTERM', 'SIGINT'] as const).map((s) => {
    const h = () => onSignal(s);
    process.removeAllListeners(s); // the bin's early catcher: from now on this one decides
    process.on(s, h);
    return [s, h] as const;
  });
  try {
    const loaded = loadConfigFile(configPath);
    if (!loaded.ok) {
      for (const p of loaded.problems) io.err(formatProblem(p));
      return 2;
    }
    const { runDir } = loaded.config;
    mkdirSync(runDir, { recursive: true, mode: 0o700 }); // PID files, the event log: not for others
    const ownPid = join(runDir, 'procreg.pid');
    const logger = await humanLogger(logFormat);
    const claim = claimRunDir(ownPid, runDir);
    if (claim.refused) {
      io.err(claim.refused);
      return 1;
    }
    if (claim.stale)
      logger.warn(
        { pidFile: ownPid, stalePid: claim.stale },
        'replacing the PID file of a procreg that is not running',
      );
    sup = await Supervisor.open({ configPath, logger, version });
    const running = sup;
    const socket = join(runDir, 'procreg.sock');
    const control = await serveControl(socket, () => running.status());
    for (const s of early.splice(0)) onSignal(s);
    logger.info(
      { config: configPath, runDir, pid: process.pid },
      `procreg running: pid ${process.pid}, config ${configPath}, runDir ${runDir}`,
    );
    await sup.stopped;
    await new Promise<void>((resolve) => control.close(() => resolve()));
    rmSync(socket, { force: true });
    removePidFileIfOwned(ownPid, process.pid);
    logger.info('procreg stopped: every service and check is gone');
    return 0;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}
