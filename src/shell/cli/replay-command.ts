import { closeSync } from 'node:fs';
import { registryView } from '../../core/view.js';
import { formatView } from '../../report/registry-table.js';
import { openRegularFile, readHead } from '../config/regular-file.js';
import { replayLogFile } from '../event-log/replay-file.js';
import type { CommandIO } from './io.js';

export interface ReplayCommandOptions {
  readonly json?: boolean;
  readonly check?: boolean;
}

/** Exit codes: 0 fine, 1 --check found violations, 2 the log cannot be read or is not an event log. */
export async function replayCommand(
  path: string,
  options: ReplayCommandOptions,
  io: CommandIO,
): Promise<number> {
  const refused = notAnEventLog(path);
  if (refused !== null) {
    io.err(`procreg replay: ${path}: ${refused}`);
    return 2;
  }
  const check = options.check ?? false;
  let replayed: Awaited<ReturnType<typeof replayLogFile>>;
  try {
    replayed = await replayLogFile(path, { check });
  } catch (e) {
    io.err(`procreg replay: ${path}: cannot read the event log: ${(e as Error).message}`);
    return 2;
  }
  const { result, problems: logProblems } = replayed;
  for (const p of logProblems) io.err(`${path}:${p.line}: ${p.kind}: ${p.message}`);
  const view = registryView(result.state, result.lastSeq);
  io.out(options.json ? JSON.stringify(view, null, 2) : formatView(view, result.events, result.lastTime));
  if (!check) return 0;
  // A torn tail is what a crash leaves and is expected; anything else in the file is damage.
  const damage = logProblems.filter((p) => p.kind !== 'torn');
  for (const p of result.problems) io.err(`seq ${p.seq}: ${p.kind}: ${p.message}`);
  if (result.problems.length === 0 && damage.length === 0) {
    io.err(
      `check: ${result.events} events, every invariant holds after every event, every logged decision re-derived`,
    );
    return 0;
  }
  io.err(`check: FAILED — ${result.problems.length} violation(s) and ${damage.length} damaged line(s)`);
  return 1;
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
  const opened = openRegularFile(path);
  if (!opened.ok) {
    if (opened.code === 'ENOENT') return 'no such event log file';
    if (opened.code) return `cannot read the event log: ${opened.reason}`;
    return `not an event log: ${opened.reason}`;
  }
  let head: Buffer;
  try {
    head = readHead(opened.fd, HEAD_BYTES);
  } catch (e) {
    return `cannot read the event log: ${(e as Error).message}`;
  } finally {
    closeSync(opened.fd);
  }
  if (head.length === 0) return null; // an empty log
  const end = head.indexOf(0x0a);
  const first = head.subarray(0, end < 0 ? head.length : end);
  const nul = first.indexOf(0);
  if (nul >= 0) return `not an event log: it is binary (a NUL byte at offset ${nul})`;
  const text = first.toString('utf8');
  if (end < 0 && /^\{\s*"v"\s*:/.test(text)) return null; // the first line itself was torn by a crash
  if (end >= 0 && isEventStart(text)) return null;
  const what = looksLikeConfig(head.toString('utf8'))
    ? ': it looks like a config file — replay reads the event log a config names (eventLog, default <runDir>/events.jsonl)'
    : '';
  return `not an event log: its first line is not a procreg event (a JSON object with "v", "seq", "time" and "type")${what}`;
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
