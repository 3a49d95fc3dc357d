/**
 * Where the debugging commands read events from. `<log>` is an event log, a directory (its
 * events.jsonl), or a config file (the event log it names). This is the one place that
 * decides; a reader of segmented logs (a directory of segments) or of a NATS stream replaces
 * resolveLog and openLog, and every command follows.
 */
import { closeSync, statSync } from 'node:fs';
import { allFiles, listLogFiles, liveSegmentOf } from '../event-log/segments.js';
import { loadConfigFile } from '../config/load-config.js';
import { openRegularFile, readHead } from '../config/regular-file.js';
import { formatProblem } from '../../config/schema.js';

export interface LogSource {
  /** The argument as given. */
  readonly given: string;
  /** The log's live segment (its configured path), which may not exist (a crash mid-rotation). */
  readonly path: string;
  /** Every file of the log in reading order: its closed segments by first seq, then the live one. */
  readonly files: readonly string[];
  /** How it was found, when not given directly: `the event log of config demo.yaml`. */
  readonly via: string | null;
}

export type Resolved =
  { readonly ok: true; readonly source: LogSource } | { readonly ok: false; readonly message: string };

/** Formats this procreg reads (docs/event-log.md, Versions). */
const READ_VERSIONS = [1, 2];

export function resolveLog(given: string): Resolved {
  let st;
  try {
    st = statSync(given);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return missing(given);
    return { ok: false, message: `${given}: cannot read it: ${(e as Error).message}` };
  }
  if (st.isDirectory()) {
    const live = liveSegmentOf(given, true);
    const found = logAt(given, live, `the event log in directory ${given}`);
    if (found) return found;
    return {
      ok: false,
      message: `${given} is a directory without an event log (looked for ${live} and its segments)`,
    };
  }
  const why = whyNotAnEventLog(given);
  if (why?.gone) return missing(given); // renamed away since the stat
  const refused = why?.message ?? null;
  if (refused === null) {
    const live = liveSegmentOf(given, false);
    const found = logAt(given, live, null) ?? checked({ given, path: given, files: [given], via: null });
    return found === 'gone' ? missing(given) : found;
  }
  if (!st.isFile()) return { ok: false, message: `${given}: ${refused}` };
  // Not an event log: maybe a config, whose event log is what was meant.
  const loaded = loadConfigFile(given);
  if (loaded.ok) {
    const path = loaded.config.eventLog;
    const found = logAt(given, path, `the event log of config ${given}`);
    if (found) return found;
    return {
      ok: false,
      message: `${given} is a config; its event log ${path} does not exist (procreg has not run with this config here)`,
    };
  }
  const first = loaded.problems[0];
  const looksConfig = /\.(ya?ml|json)$/i.test(given) || refused.includes('looks like a config');
  if (looksConfig && first)
    return {
      ok: false,
      message: `${given} is neither an event log nor a config procreg can read: ${formatProblem(first)}${loaded.problems.length > 1 ? ` (and ${loaded.problems.length - 1} more problem(s): procreg validate ${given})` : ''}`,
    };
  return { ok: false, message: `${given}: ${refused}` };
}

/**
 * A path that names no file: a live segment in the instant of a rotation (renamed, its
 * successor not yet created), or after a crash in it, is its closed segments.
 */
function missing(given: string): Resolved {
  return logAt(given, given, null) ?? { ok: false, message: `${given}: no such event log file` };
}

/** The log whose live segment is `live`, with its segments, or null when it has no file at all. */
function logAt(given: string, live: string, via: string | null): Resolved | null {
  // A file listed can be gone when it is looked at — the live segment renamed by a rotation, a
  // closed one deleted by retention — and the listing is taken again (a few times at most).
  for (let attempt = 1; ; attempt++) {
    const found = logAtOnce(given, live, via);
    if (found !== 'gone' || attempt === MAX_LISTINGS) return found === 'gone' ? logGone(live) : found;
  }
}

/** How many times a log's files are listed when one of them is gone by the time it is read. */
const MAX_LISTINGS = 10;

const logGone = (live: string): Resolved => ({
  ok: false,
  message: `${live}: its files change faster than they can be listed and read; try again`,
});

function logAtOnce(given: string, live: string, via: string | null): Resolved | null | 'gone' {
  let files;
  try {
    files = allFiles(listLogFiles(live)).map((f) => f.path);
  } catch (e) {
    return { ok: false, message: `${live}: cannot list the event log's segments: ${(e as Error).message}` };
  }
  if (files.length === 0) return null;
  // A segment whose first line is damaged is damage in a log, reported by line and seq like
  // any other (exit 1 for replay), not a file that is no event log; only when no file of the
  // log starts with an event is the whole refused as that. A file gone since
  // the listing (renamed by a rotation, deleted by retention) is no longer one of the log's;
  // the readers list them again as they go.
  const refusals = files.map((f) => ({ f, why: whyNotAnEventLog(f) })).filter((r) => !r.why?.gone);
  if (refusals.length === 0) return 'gone';
  files = refusals.map((r) => r.f);
  const hard = refusals.find((r) => r.why !== null && (!r.why.headOnly || files.length === 1));
  const anyLog = refusals.some((r) => r.why === null);
  const refused = hard ?? (anyLog ? undefined : refusals[0]);
  if (refused?.why) return { ok: false, message: `${refused.f}: ${refused.why.message}` };
  // The first file that starts with an event says the format; one deleted meanwhile, the next.
  for (const r of refusals.filter((r) => r.why === null)) {
    const c = checked({ given, path: live, files, via }, r.f);
    if (c !== 'gone') return c;
  }
  return 'gone';
}

/** Refuse, in one message, a log of a format version this procreg cannot read. */
function checked(source: LogSource, headOf: string = source.path): Resolved | 'gone' {
  const opened = openRegularFile(headOf);
  if (!opened.ok && opened.code === 'ENOENT') return 'gone';
  if (!opened.ok) return { ok: false, message: `${headOf}: ${opened.reason}` };
  let head: Buffer;
  try {
    head = readHead(opened.fd, 64 * 1024);
  } catch (e) {
    return { ok: false, message: `${headOf}: cannot read it: ${(e as Error).message}` };
  } finally {
    closeSync(opened.fd);
  }
  const m = /^\{\s*"v"\s*:\s*(-?\d+)/.exec(head.toString('utf8', 0, Math.min(head.length, 64)));
  if (m && !READ_VERSIONS.includes(Number(m[1])))
    return {
      ok: false,
      message: `${headOf}:1: event log format version ${m[1]}: this procreg reads versions ${READ_VERSIONS.join(' and ')} (a newer procreg wrote it?)`,
    };
  return { ok: true, source };
}

/** How much of the file is read to find its first line. */
const HEAD_BYTES = 1 << 20;

/**
 * Why `path` is not an event log, or null when it is one (docs/event-log.md, "Which files are
 * event logs"): a regular file, empty or starting with an event — its first line, or the
 * text so far when a crash cut the very first line short, is a JSON object with integer `v`
 * and `seq` and a string `type`. Anything else is refused as a whole, in one message, rather
 * than reported line by line as damage.
 */
export function notAnEventLog(path: string): string | null {
  return whyNotAnEventLog(path)?.message ?? null;
}

/** The same, and whether the only fault is its first line (`headOnly`): in a segment, damage. */
function whyNotAnEventLog(path: string): { message: string; headOnly: boolean; gone?: true } | null {
  const no = (message: string) => ({ message, headOnly: false });
  const opened = openRegularFile(path);
  if (!opened.ok) {
    if (opened.code === 'ENOENT') return { ...no('no such event log file'), gone: true };
    if (opened.code) return no(`cannot read the event log: ${opened.reason}`);
    return no(`not an event log: ${opened.reason}`);
  }
  let head: Buffer;
  try {
    head = readHead(opened.fd, HEAD_BYTES);
  } catch (e) {
    return no(`cannot read the event log: ${(e as Error).message}`);
  } finally {
    closeSync(opened.fd);
  }
  if (head.length === 0) return null; // an empty log
  const end = head.indexOf(0x0a);
  const first = head.subarray(0, end < 0 ? head.length : end);
  const nul = first.indexOf(0);
  if (nul >= 0) return no(`not an event log: it is binary (a NUL byte at offset ${nul})`);
  const text = first.toString('utf8');
  if (end < 0 && /^\{\s*"v"\s*:/.test(text)) return null; // the first line itself was torn by a crash
  if (end >= 0 && isEventStart(text)) return null;
  const what = looksLikeConfig(head.toString('utf8'))
    ? ': it looks like a config file — replay reads the event log a config names (eventLog, default <runDir>/events.jsonl)'
    : '';
  return {
    message: `not an event log: its first line is not a procreg event (a JSON object with "v", "seq", "time" and "type")${what}`,
    headOnly: true,
  };
}

function isEventStart(line: string): boolean {
  try {
    const o = JSON.parse(line) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
    const e = o as Record<string, unknown>;
    return Number.isInteger(e.v) && Number.isInteger(e.seq) && typeof e.type === 'string';
  } catch {
    return false;
  }
}

/** A top-level YAML key `services:`, `checks:`, `runDir:` or `eventLog:` on a line of its own, as a procreg config has. */
function looksLikeConfig(text: string): boolean {
  return /^(services|checks|runDir|eventLog)\s*:/m.test(text);
}
