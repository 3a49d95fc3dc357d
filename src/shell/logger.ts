// procreg's own human-facing log on stdout, as the `run` command writes it.
import type { Writable } from 'node:stream';
import { JsonLineLogger, type OwnLogger } from './json-logger.js';

export type { OwnLogger } from './json-logger.js';
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * JSON lines for collectors (pino's shape, written by ./json-logger.ts), or pino-pretty's
 * rendering for a person at a terminal (the default when stdout is one; pino and
 * pino-pretty are only loaded then). No transport worker: in order with what procreg does.
 * Written to `dest` (`procreg run` gives a BoundedFdWriter, so a stdout that does not drain
 * never stalls supervision).
 */
export async function humanLogger(format: LogFormat, dest: Writable): Promise<OwnLogger> {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  // No base fields: a line's `pid` is the process it is about (procreg's own is in "procreg running").
  if (!pretty) return new JsonLineLogger(dest);
  const [{ pino }, { PinoPretty }] = await Promise.all([import('pino'), import('pino-pretty')]);
  const logger: OwnLogger = pino(
    { name: 'procreg', base: null },
    PinoPretty({
      sync: true,
      destination: dest,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      hideObject: true, // every message says what it is about; the fields are for JSON consumers
      // A child's own output is prefixed with its name: "web| listening on ...".
      messageFormat: (log, key) =>
        log.stream ? `${String(log.service ?? log.check)}| ${String(log[key])}` : String(log[key]),
    }),
  );
  return logger;
}
