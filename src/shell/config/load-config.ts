import { closeSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { Lexer, LineCounter, parseDocument } from 'yaml';
import { normalizeConfig } from '../../config/normalize.js';
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { formatBytes, openRegularFile, readAtMost } from './regular-file.js';
import { unsafeScripts } from './script-security.js';

const isRoot = () => process.getuid?.() === 0;

/** Largest config file read. A real one is a few KiB; YAML this size already takes ~2 s to parse. */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Deepest nesting of mappings and lists accepted; a config needs 5. */
export const MAX_CONFIG_DEPTH = 64;
/** Alias expansions YAML may do (the `yaml` package's `maxAliasCount`): a "billion laughs" needs far more. */
export const MAX_YAML_ALIAS_COUNT = 100;
/** YAML syntax errors listed; past this many the file is hardly a config. */
const MAX_YAML_ERRORS = 10;

export type LoadResult =
  | { readonly ok: true; readonly config: NormalizedConfig; readonly path: string }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly path: string };

/**
 * Read, parse and validate a config file. YAML (1.2 core schema: `on` stays a string,
 * duplicate keys are errors) or JSON, by extension; anything else is read as YAML, of
 * which JSON is a subset. Every problem names the file, and the line and column or the
 * field path, the bad value and what is allowed. Relative paths in the config resolve
 * against the file's directory. Never throws for a bad or missing file, and never blocks or
 * runs away on one: a symlink is followed, but anything but a regular file of at most
 * MAX_CONFIG_BYTES of UTF-8 text (a FIFO, socket, device, directory, binary) is one problem,
 * and so is YAML nested deeper than MAX_CONFIG_DEPTH or expanding aliases without bound.
 */
export function loadConfigFile(file: string): LoadResult {
  const path = resolve(file);
  const fail = (problems: readonly ConfigProblem[]): LoadResult => ({
    ok: false,
    path,
    problems: problems.map((p) => ({ file, ...p })),
  });
  const read = readConfigText(path);
  if (!read.ok) return fail([{ path: null, message: read.message }]);
  const log = eventLogLine(read.text);
  if (log)
    return fail([
      {
        path: null,
        message: `this is a procreg event log (its first line is a "${log}" event), not a config: read it with procreg replay`,
      },
    ]);
  const parsed = parse(read.text, extname(path).toLowerCase() === '.json');
  if (!parsed.ok) return fail(parsed.problems);
  const res = normalizeConfig(parsed.value, { baseDir: dirname(path) });
  if (!res.ok) return fail(res.problems);
  const unsafe = vetConfig(res.config);
  if (unsafe.length > 0) return fail(unsafe);
  return { ok: true, path, config: res.config };
}

/**
 * What keeps a valid config from being run by this process: as root, programs that non-root
 * users could modify (keepalived's script security), unless the config allows them. The one
 * check every config passes before it runs, from a file or handed to the library.
 */
export function vetConfig(config: NormalizedConfig): ConfigProblem[] {
  if (!isRoot() || config.allowUnsafeScripts) return [];
  return unsafeScripts(config);
}

function readConfigText(path: string): { ok: true; text: string } | { ok: false; message: string } {
  const opened = openRegularFile(path);
  if (!opened.ok)
    return {
      ok: false,
      message: opened.code
        ? `cannot read the config file: ${opened.reason}`
        : `not a config file: ${opened.reason}; a config is a regular file (a symlink to one is followed)`,
    };
  const tooBig = (size: string) =>
    `not a config file: it is ${size}; a config is at most ${formatBytes(MAX_CONFIG_BYTES)}`;
  try {
    if (opened.size > MAX_CONFIG_BYTES) return { ok: false, message: tooBig(`${opened.size} bytes`) };
    const bytes = readAtMost(opened.fd, MAX_CONFIG_BYTES);
    if (bytes === null) return { ok: false, message: tooBig(`more than ${formatBytes(MAX_CONFIG_BYTES)}`) };
    const nul = bytes.indexOf(0);
    if (nul >= 0)
      return {
        ok: false,
        message: `not a config file: it is binary (a NUL byte at offset ${nul}), not text`,
      };
    try {
      return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
    } catch {
      return { ok: false, message: 'not a config file: it is not UTF-8 text' };
    }
  } catch (e) {
    return { ok: false, message: `cannot read the config file: ${(e as Error).message}` };
  } finally {
    closeSync(opened.fd);
  }
}

/** The event type when the first line is a procreg event log line (`{"v":..,"seq":..,"type":..`), else null. */
function eventLogLine(text: string): string | null {
  const end = text.indexOf('\n');
  const first = (end < 0 ? text : text.slice(0, end)).trim();
  if (!first.startsWith('{')) return null;
  try {
    const o = JSON.parse(first) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    return Number.isInteger(o.v) && Number.isInteger(o.seq) && typeof o.type === 'string' ? o.type : null;
  } catch {
    return null;
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] };

const tooDeep: Parsed = {
  ok: false,
  problems: [
    {
      path: null,
      message: `nested deeper than ${MAX_CONFIG_DEPTH} levels of mappings and lists (or holds an alias of itself); a config is never this deep`,
    },
  ],
};

function parse(text: string, json: boolean): Parsed {
  try {
    const parsed = json ? parseJson(text) : parseYaml(text);
    if (parsed.ok && depthOver(parsed.value, MAX_CONFIG_DEPTH)) return tooDeep;
    return parsed;
  } catch (e) {
    // The parsers guard themselves; this is the net under them (a stack overflow in recursion).
    if (e instanceof RangeError) return tooDeep;
    return {
      ok: false,
      problems: [{ path: null, message: `cannot parse the config: ${(e as Error).message}` }],
    };
  }
}

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, problems: [{ path: null, message: `not valid JSON: ${(e as Error).message}` }] };
  }
}

function parseYaml(text: string): Parsed {
  // The yaml parser recurses per level of nesting: past a few thousand `[` it runs out of stack,
  // and a hundred thousand can exhaust memory outright. Flow nesting is measured on the lexer's
  // tokens first (the lexer does not recurse), and only when there are brackets enough to matter.
  if (flowDepthOver(text, MAX_CONFIG_DEPTH)) return tooDeep;
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    if (doc.errors.some((e) => /call stack/i.test(e.message))) return tooDeep;
    const problems: ConfigProblem[] = doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => {
      const at = lines.linePos(e.pos[0]);
      return {
        path: null,
        line: at.line,
        column: at.col,
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      };
    });
    const more = doc.errors.length - MAX_YAML_ERRORS;
    if (more > 0) problems.push({ path: null, message: `and ${more} more YAML error(s) not shown` });
    return { ok: false, problems };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message))
      return {
        ok: false,
        problems: [
          {
            path: null,
            message: `its YAML aliases (*name) expand too much (more than ${MAX_YAML_ALIAS_COUNT} times over): refused as a "billion laughs" resource-exhaustion attack`,
          },
        ],
      };
    throw e;
  }
  if (value === null || value === undefined)
    return { ok: false, problems: [{ path: null, message: 'the config file is empty' }] };
  return { ok: true, value };
}

/** Flow collections (`[`, `{`) nested deeper than `max` anywhere in the YAML text. */
function flowDepthOver(text: string, max: number): boolean {
  let opens = 0;
  for (let i = 0; i < text.length && opens <= max; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) opens++;
  }
  if (opens <= max) return false; // not enough brackets in the whole file to be too deep
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > max) return true;
    } else if ((token === ']' || token === '}') && depth > 0) depth--;
  }
  return false;
}

/** A parsed value nested deeper than `max` (iterative: a deep value cannot overflow the stack here). */
function depthOver(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}
