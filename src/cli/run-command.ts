import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { serveControl } from '../shell/control-socket.js';
import { loadConfigFile } from '../shell/load-config.js';
import { readPidFile, removePidFileIfOwned, writePidFile } from '../shell/pidfile.js';
import { Supervisor } from '../shell/supervisor.js';
import type { CommandIO } from './replay-command.js';

type Signal = 'SIGHUP' | 'SIGTERM' | 'SIGINT';
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * procreg's own log on stdout: JSON lines for collectors, or pino-pretty's rendering for a
 * person at a terminal. Pretty is written synchronously in this thread (no transport worker).
 */
async function humanLogger(format: LogFormat): Promise<Logger> {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  // No base fields: a line's `pid` is the process it is about (procreg's own is in "procreg running").
  if (!pretty) return pino({ name: 'procreg', base: null }, pino.destination({ dest: 1, sync: true }));
  const { PinoPretty } = await import('pino-pretty'); // only loaded for a person at a terminal
  return pino(
    { name: 'procreg', base: null },
    PinoPretty({
      sync: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      hideObject: true, // every message says what it is about; the fields are for JSON consumers
      // A child's own output is prefixed with its name: "web| listening on ...".
      messageFormat: (log, key) =>
        log.stream ? `${String(log.service ?? log.check)}| ${String(log[key])}` : String(log[key]),
    }),
  );
}

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
      for (const e of loaded.errors) io.err(e);
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

/** One live procreg per runDir: refuse if another owns it; replace a dead one's PID file. */
function claimRunDir(path: string, runDir: string): { refused?: string; stale?: number } {
  const current = readPidFile(path);
  if (typeof current === 'number' && current !== process.pid && isProcreg(current)) {
    return { refused: `procreg: ${runDir} is in use by procreg pid ${current} (${path}); stop it first` };
  }
  writePidFile(path, process.pid);
  return typeof current === 'number' && current !== process.pid ? { stale: current } : {};
}

function isProcreg(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('procreg');
  } catch {
    return false;
  }
}
