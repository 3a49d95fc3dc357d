/**
 * What procreg keeps in its runDir, and the rules for the files a config asks it to write
 * there (PID files, output files, the event log). Pure: names and paths only.
 */
import { basenameOf, dirnameOf, isAbsolutePath, normalizePath, resolvePath } from './paths.js';

/** procreg's own PID file in runDir: which procreg owns the directory. */
export const PROCREG_PID_FILE = 'procreg.pid';
/** The control socket in runDir (`procreg status`). */
export const PROCREG_SOCKET = 'procreg.sock';

/** A name procreg keeps for itself: no PID or output file may take it. */
export interface ReservedName {
  /** Where the name is reserved: runDir itself, or the directory of the event log. */
  readonly in: 'runDir' | 'eventLogDir';
  /** The name or pattern, as documented: `events.<digits>.jsonl`. */
  readonly pattern: string;
  /** What procreg keeps under that name. */
  readonly what: string;
  readonly matches: (basename: string) => boolean;
}

/**
 * The names procreg reserves, for an event log named `eventLogBasename` (`events.jsonl` by
 * default): the log itself, its future segments `<stem>.<digits>.jsonl` (stem: the name
 * without `.jsonl`), its snapshots `<log>.snapshot*` and torn-tail fragments `<log>.torn-*`,
 * all in the log's directory; `procreg.pid` and `procreg.sock` in runDir. The one place
 * these patterns are defined.
 */
export function reservedRunDirNames(eventLogBasename: string): readonly ReservedName[] {
  const log = eventLogBasename;
  const stem = segmentStem(log);
  const isSegment = (name: string): boolean => {
    if (!name.startsWith(`${stem}.`) || !name.endsWith('.jsonl')) return false;
    return /^\d+$/.test(name.slice(stem.length + 1, name.length - '.jsonl'.length));
  };
  return [
    { in: 'eventLogDir', pattern: log, what: 'the event log', matches: (n) => n === log },
    {
      in: 'eventLogDir',
      pattern: `${stem}.<digits>.jsonl`,
      what: 'a segment of the event log',
      matches: isSegment,
    },
    {
      in: 'eventLogDir',
      pattern: `${log}.snapshot*`,
      what: 'a snapshot of the event log',
      matches: (n) => n.startsWith(`${log}.snapshot`),
    },
    {
      in: 'eventLogDir',
      pattern: `${log}.torn-*`,
      what: 'a torn tail cut off the event log',
      matches: (n) => n.startsWith(`${log}.torn-`),
    },
    {
      in: 'eventLogDir',
      pattern: `${stem}.<digits>.jsonl.torn-*`,
      what: 'a torn tail cut off a segment of the event log',
      matches: (n) => {
        const at = n.indexOf('.jsonl.torn-');
        return at > 0 && isSegment(n.slice(0, at + '.jsonl'.length));
      },
    },
    {
      in: 'eventLogDir',
      pattern: `${log}.displaced-*`,
      what: 'a file that stood where procreg started a fresh event log',
      matches: (n) => n.startsWith(`${log}.displaced-`),
    },
    {
      in: 'eventLogDir',
      pattern: `${log}.ship-cursor*`,
      what: "the shipper's cursor (how far the log is shipped)",
      matches: (n) => n.startsWith(`${log}.ship-cursor`),
    },
    {
      in: 'runDir',
      pattern: PROCREG_PID_FILE,
      what: "procreg's own PID file",
      matches: (n) => n === PROCREG_PID_FILE,
    },
    {
      in: 'runDir',
      pattern: PROCREG_SOCKET,
      what: "procreg's control socket",
      matches: (n) => n === PROCREG_SOCKET,
    },
  ];
}

/** Digits of the first seq in a segment's name: 16, so that names sort as their seqs do. */
const SEGMENT_DIGITS = 16;

/** A log's name without `.jsonl`: what its segments' names start with. */
export function segmentStem(logBasename: string): string {
  return logBasename.endsWith('.jsonl') ? logBasename.slice(0, -'.jsonl'.length) : logBasename;
}

/**
 * The name of the closed segment of the log `logBasename` whose first line has seq `firstSeq`:
 * `events.0000000000000042.jsonl` for `events.jsonl`. Immutable once it has that name.
 */
export function segmentName(logBasename: string, firstSeq: number): string {
  return `${segmentStem(logBasename)}.${String(firstSeq).padStart(SEGMENT_DIGITS, '0')}.jsonl`;
}

/** The first seq a closed segment's name says, or null when `name` is not one of this log's segments. */
export function segmentSeqOf(logBasename: string, name: string): number | null {
  const stem = segmentStem(logBasename);
  if (!name.startsWith(`${stem}.`) || !name.endsWith('.jsonl')) return null;
  const middle = name.slice(stem.length + 1, name.length - '.jsonl'.length);
  if (!/^\d{1,20}$/.test(middle)) return null;
  const seq = Number(middle);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

/** The reserved name `path` (absolute, normalized) would take, if any. */
export function reservedNameAt(path: string, runDir: string, eventLog: string): ReservedName | undefined {
  const dir = dirnameOf(path);
  const name = basenameOf(path);
  return reservedRunDirNames(basenameOf(eventLog)).find(
    (r) => (r.in === 'runDir' ? dir === runDir : dir === dirnameOf(eventLog)) && r.matches(name),
  );
}

/** `path` lies strictly inside `dir` (both absolute and normalized). */
export function isInside(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(`${dir}/`);
}

/** `p` written with a `..` component. */
const hasDotDot = (p: string): boolean => p.split('/').includes('..');

/**
 * A file procreg writes inside runDir (a PID file, an output file): its absolute path, or why
 * the value is not allowed. It must be relative, without `..`, and name a file inside runDir.
 */
export function runDirFile(value: string, runDir: string): { path: string } | { error: string } {
  if (isAbsolutePath(value))
    return { error: `must be a path relative to runDir (${runDir}), not an absolute path` };
  if (hasDotDot(value)) return { error: `must stay inside runDir (${runDir}): no ".." component` };
  const path = resolvePath(runDir, value);
  if (!isInside(path, runDir) || value.endsWith('/'))
    return { error: `must name a file inside runDir (${runDir})` };
  return { path };
}

/**
 * The event log's absolute path: relative to runDir, or absolute under it; default
 * `<runDir>/events.jsonl`. Or why the value is not allowed.
 */
export function eventLogPath(
  value: string | undefined,
  runDir: string,
  baseDir: string,
): { path: string } | { error: string } {
  if (value === undefined) return { path: resolvePath(runDir, 'events.jsonl') };
  if (hasDotDot(value)) return { error: `must stay inside runDir (${runDir}): no ".." component` };
  // Relative to the config file's directory, like every other path a person writes there.
  const path = normalizePath(resolvePath(baseDir, value));
  if (!isInside(path, runDir) || value.endsWith('/'))
    return { error: `must be a file inside runDir (${runDir})` };
  const own = reservedRunDirNames(basenameOf(path)).find(
    (r) => r.in === 'runDir' && dirnameOf(path) === runDir && r.matches(basenameOf(path)),
  );
  if (own) return { error: `must not be ${own.what} (${own.pattern})` };
  return { path };
}
