/**
 * `<eventLog>.ship-cursor`: how far the shipper has shipped the log, written after each
 * stored batch. Not the truth (the stream is: the shipper asks it on every connect) but what
 * the supervisor reads without talking to NATS: retention keeps every segment past it, and
 * `procreg status` shows the lag from it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface ShipCursor {
  readonly host: string;
  readonly logId: string;
  /** The last seq the stream holds. */
  readonly seq: number;
  /** That event's time (epoch ms). */
  readonly time: number;
  /** When the shipper last wrote the cursor (epoch ms). */
  readonly at: number;
  readonly to: string;
  readonly stream: string;
}

export const shipCursorPath = (eventLog: string): string => `${eventLog}.ship-cursor`;

export function writeShipCursor(eventLog: string, c: ShipCursor): void {
  const path = shipCursorPath(eventLog);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(c)}\n`, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** The cursor, or null when there is none or it cannot be read (then nothing is known shipped). */
export function readShipCursor(eventLog: string): ShipCursor | null {
  try {
    const c = JSON.parse(readFileSync(shipCursorPath(eventLog), 'utf8')) as ShipCursor;
    return Number.isSafeInteger(c.seq) && typeof c.logId === 'string' ? c : null;
  } catch {
    return null;
  }
}
