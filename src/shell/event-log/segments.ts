// The files of one event log: its closed segments, oldest first, and the live segment.
import { lstatSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { segmentSeqOf, segmentStem } from '../../config/run-dir.js';

export interface SegmentFile {
  readonly path: string;
  readonly name: string;
  /** The seq of its first line, as its name says; null for the live segment (its name says none). */
  readonly firstSeq: number | null;
  readonly bytes: number;
  /** Its last write (epoch ms): a closed segment's age is counted from it. */
  readonly mtimeMs: number;
}

export interface LogFiles {
  /** The live segment's path: the configured `eventLog`. */
  readonly live: string;
  /** The closed segments, by first seq. */
  readonly closed: readonly SegmentFile[];
  /** The live segment, or null when there is no file at its path. */
  readonly liveFile: SegmentFile | null;
}

/**
 * The files of the log whose live segment is `live`: the closed segments beside it
 * (`<stem>.<first seq>.jsonl`, see config/run-dir.ts) in the order of their first seq, then
 * the live one. Only regular files count; anything else under a segment's name is left to
 * the reader to refuse. A directory that does not exist holds no segments.
 */
export function listLogFiles(live: string): LogFiles {
  const dir = dirname(live);
  const logName = basename(live);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw e;
  }
  const closed: SegmentFile[] = [];
  let liveFile: SegmentFile | null = null;
  for (const name of names) {
    const firstSeq = name === logName ? null : segmentSeqOf(logName, name);
    if (name !== logName && firstSeq === null) continue;
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue; // deleted meanwhile (retention of a running procreg)
    const file: SegmentFile = { path, name, firstSeq, bytes: st.size, mtimeMs: st.mtimeMs };
    if (firstSeq === null) liveFile = file;
    else closed.push(file);
  }
  closed.sort((a, b) => (a.firstSeq as number) - (b.firstSeq as number));
  return { live, closed, liveFile };
}

/** Every file of the log in reading order: the closed segments, then the live one. */
export function allFiles(files: LogFiles): readonly SegmentFile[] {
  return files.liveFile ? [...files.closed, files.liveFile] : files.closed;
}

/** The paths of every file of the log whose live segment is `live`, in reading order. */
export function logFilePaths(live: string): string[] {
  return allFiles(listLogFiles(live)).map((f) => f.path);
}

/**
 * The live segment of the log a path names: the live segment itself, or one of its closed
 * segments (`events.0000000000000042.jsonl` → `events.jsonl` beside it), or a directory (its
 * `events.jsonl`, or the one log it holds segments of).
 */
export function liveSegmentOf(given: string, isDirectory: boolean): string {
  if (isDirectory) {
    let names: string[] = [];
    try {
      names = readdirSync(given);
    } catch {
      // unreadable: the default name, which the caller's open then explains
    }
    if (names.includes('events.jsonl')) return join(given, 'events.jsonl');
    const stems = new Set(
      names
        .map((n) => /^(.*)\.\d{1,20}\.jsonl$/.exec(n)?.[1])
        .filter((stem): stem is string => stem !== undefined),
    );
    if (stems.size === 1) return join(given, `${[...stems][0] as string}.jsonl`);
    return join(given, 'events.jsonl');
  }
  const name = basename(given);
  const m = /^(.*)\.\d{1,20}\.jsonl$/.exec(name);
  if (!m) return given;
  const stem = m[1] as string;
  // The live segment of `app.log` has segments `app.log.<n>.jsonl`: prefer a live file that exists.
  const candidates = [`${stem}.jsonl`, stem];
  for (const c of candidates) {
    if (segmentStem(c) !== stem || segmentSeqOf(c, name) === null) continue;
    if (lstatSync(join(dirname(given), c), { throwIfNoEntry: false })) return join(dirname(given), c);
  }
  return join(dirname(given), `${stem}.jsonl`);
}
