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
): DeletedSegment[] {
  const closed = files.closed;
  let total = closed.reduce((a, f) => a + f.bytes, 0) + (files.liveFile?.bytes ?? 0);
  const out: DeletedSegment[] = [];
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
