// Which closed segments of a log retention deletes, and deleting them.
import { fsyncSync, unlinkSync } from 'node:fs';
import type { EventLogPolicy } from '../../config/types.js';
import type { DeletedSegment } from '../../events/types.js';
import { resolveParent } from '../files/run-dir.js';
import type { LogFiles } from './segments.js';

/**
 * The closed segments to delete, oldest first, each with the first bound it breaks: more
 * closed segments than `segments`, all segments together (the live one included) over
 * `maxBytes`, or a last write older than `maxAgeMs`. The live segment is never among them,
 * so neither is the newest snapshot (the live segment starts with one). Only a prefix of the
 * closed segments is ever deleted: the log stays one unbroken chain. `liveFirstSeq` is the
 * live segment's first seq (where the newest closed segment ends).
 */
export function retentionPlan(
  files: LogFiles,
  retain: EventLogPolicy['retain'],
  liveFirstSeq: number,
  now: number,
  hold: ShipHold | null = null,
): DeletedSegment[] {
  const closed = files.closed;
  let total = closed.reduce((a, f) => a + f.bytes, 0) + (files.liveFile?.bytes ?? 0);
  const out: DeletedSegment[] = [];
  // Bytes of the closed segments the shipper has not shipped to their end.
  let unshipped = 0;
  for (let i = 0; i < closed.length; i++)
    if (hold && (closed[i + 1]?.firstSeq ?? liveFirstSeq) - 1 > hold.shippedSeq)
      unshipped += (closed[i] as (typeof closed)[number]).bytes;
  for (let i = 0; i < closed.length; i++) {
    const f = closed[i] as (typeof closed)[number];
    const kept = closed.length - i;
    const reason: DeletedSegment['reason'] | null =
      kept > retain.segments
        ? 'segments'
        : total > retain.maxBytes
          ? 'maxBytes'
          : now - f.mtimeMs > retain.maxAgeMs
            ? 'maxAge'
            : null;
    if (reason === null) break;
    const next = closed[i + 1]?.firstSeq ?? liveFirstSeq;
    if (hold && next - 1 > hold.shippedSeq) {
      // Not shipped yet: kept, unless the unshipped backlog is past its hard cap.
      if (hold.maxBacklogBytes === null || unshipped <= hold.maxBacklogBytes) break;
      unshipped -= f.bytes;
    }
    out.push({
      file: f.name,
      firstSeq: f.firstSeq as number,
      lastSeq: Math.max(f.firstSeq as number, next - 1),
      bytes: f.bytes,
      reason,
    });
    total -= f.bytes;
  }
  return out;
}

/** Retention waits for the shipper (issue 16): what it has shipped, and the cap on what it may hold back. */
export interface ShipHold {
  /** The last seq the fleet's stream holds (the shipper's cursor). */
  readonly shippedSeq: number;
  /** Past this many bytes of unshipped closed segments they are deleted anyway (a ship-gap); null: never. */
  readonly maxBacklogBytes: number | null;
}

/** The seqs of `deleted` the shipper had not shipped: the ship-gap to record, or null. */
export function unshippedRange(
  deleted: readonly DeletedSegment[],
  hold: ShipHold | null,
): { fromSeq: number; toSeq: number; bytes: number } | null {
  if (!hold) return null;
  const lost = deleted.filter((d) => d.lastSeq > hold.shippedSeq);
  const first = lost[0];
  const last = lost.at(-1);
  if (!first || !last) return null;
  return {
    fromSeq: Math.max(first.firstSeq, hold.shippedSeq + 1),
    toSeq: last.lastSeq,
    bytes: lost.reduce((a, d) => a + d.bytes, 0),
  };
}

/** Unlink the segments (files in the live segment's directory), then sync the directory. */
export function deleteSegments(live: string, segments: readonly DeletedSegment[]): void {
  if (segments.length === 0) return;
  const { dir, release } = resolveParent(live, { what: `event log ${live}`, code: 'ELOGOPEN' });
  try {
    for (const s of segments) {
      try {
        unlinkSync(dir.at(s.file));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted already: fine
      }
    }
    fsyncSync(dir.fd);
  } finally {
    release();
  }
}
