import { closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, extname, resolve } from 'node:path';
import { type Document, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument } from 'yaml';
import { normalizeConfig } from '../../config/normalize.js';
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { formatBytes, openRegularFile, readAtMost } from './regular-file.js';
import { runAsProblems, withEnvFiles } from './process-settings.js';
import { unsafeScripts } from './script-security.js';

const isRoot = () => process.getuid?.() === 0;

/** How the built-in shipper runs this very procreg: node and bin/procreg.js (from dist/shell/config or src/shell/config). */
const procregArgv = [process.execPath, fileURLToPath(new URL('../../../bin/procreg.js', import.meta.url))];

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
  const res = normalizeConfig(parsed.value, { baseDir: dirname(path), defaultHost: hostname(), procregArgv });
  if (!res.ok) return fail(res.problems);
  const withEnv = withEnvFiles(res.config);
  // Every problem at once: a missing env file and an unknown user are both reported.
  if (!withEnv.ok) return fail([...withEnv.problems, ...runAsProblems(res.config)]);
  const unsafe = vetConfig(withEnv.config);
  if (unsafe.length > 0) return fail(unsafe);
  return { ok: true, path, config: withEnv.config };
}

/**
 * What keeps a valid config from being run by this process: as root, programs that non-root
 * users could modify (keepalived's script security), unless the config allows them. The one
 * check every config passes before it runs, from a file or handed to the library.
 */
export function vetConfig(config: NormalizedConfig): ConfigProblem[] {
  const runAs = runAsProblems(config); // users and groups that must exist, as root or not
  if (!isRoot() || config.allowUnsafeScripts) return runAs;
  return [...runAs, ...unsafeScripts(config)];
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
  // The yaml parser recurses per level of nesting: past a few thousand levels it runs out of
  // stack, and a few hundred thousand exhaust memory and abort the process. Nesting and
  // aliases are measured before it runs, by scans that do not recurse.
  const scan = scanYaml(text);
  if (scan.flowDepth > MAX_CONFIG_DEPTH || blockDepthOver(text, MAX_CONFIG_DEPTH)) return tooDeep;
  if (scan.aliases > MAX_YAML_ALIAS_COUNT)
    return aliasBomb(`it has more than ${MAX_YAML_ALIAS_COUNT} aliases (*name)`);
  const lines = new LineCounter();
  // uniqueKeys is checked below in linear time (the yaml package's own check is quadratic:
  // 20k keys took 1.3 s); errors are made without stack traces (a garbage file makes a million).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false, lineCounter: lines });
  } finally {
    Error.stackTraceLimit = limit;
  }
  let errors: { pos: number; message: string }[] = doc.errors.map((e) => ({
    pos: e.pos[0],
    message: e.message,
  }));
  if (errors.length === 0) errors = duplicateKeys(doc.contents); // no spread: there may be 100k
  if (errors.length > 0) {
    if (errors.some((e) => /call stack/i.test(e.message))) return tooDeep;
    const problems: ConfigProblem[] = errors.slice(0, MAX_YAML_ERRORS).map((e) => {
      const at = lines.linePos(e.pos);
      return {
        path: null,
        line: at.line,
        column: at.col,
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      };
    });
    const more = errors.length - MAX_YAML_ERRORS;
    if (more > 0) problems.push({ path: null, message: `and ${more} more YAML error(s) not shown` });
    return { ok: false, problems };
  }
  let value: unknown;
  try {
    // The yaml package counts the anchor as one use: a limit of n+1 allows n aliases of a scalar.
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT + 1 });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message))
      return aliasBomb(`its aliases (*name) expand more than ${MAX_YAML_ALIAS_COUNT} times over`);
    throw e;
  }
  if (value === null || value === undefined)
    return { ok: false, problems: [{ path: null, message: 'the config file is empty' }] };
  return { ok: true, value };
}

const aliasBomb = (what: string): Parsed => ({
  ok: false,
  problems: [
    {
      path: null,
      message: `${what}: refused as a "billion laughs" resource-exhaustion attack (YAML aliases are for a few shared values)`,
    },
  ],
});

/**
 * Flow collections (`[`, `{`) nested deepest, and aliases, counted on the lexer's tokens (the
 * lexer does not recurse), and only when there are enough of those characters in the text
 * to matter.
 */
function scanYaml(text: string): { flowDepth: number; aliases: number } {
  let opens = 0;
  let stars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) opens++;
    else if (c === 0x2a) stars++;
  }
  if (opens <= MAX_CONFIG_DEPTH && stars <= MAX_YAML_ALIAS_COUNT) return { flowDepth: 0, aliases: 0 };
  let depth = 0;
  let flowDepth = 0;
  let aliases = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') flowDepth = Math.max(flowDepth, ++depth);
    else if ((token === ']' || token === '}') && depth > 0) depth--;
    else if (token.startsWith('*')) aliases++;
    if (flowDepth > MAX_CONFIG_DEPTH || aliases > MAX_YAML_ALIAS_COUNT) break;
  }
  return { flowDepth, aliases };
}

/** "Map keys must be unique" for every repeated scalar key of every mapping (iterative, linear). */
function duplicateKeys(root: unknown): { pos: number; message: string }[] {
  const out: { pos: number; message: string }[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          const id = `${typeof key.value}:${String(key.value)}`;
          if (seen.has(id)) out.push({ pos: key.range?.[0] ?? 0, message: 'Map keys must be unique' });
          seen.add(id);
        }
        stack.push(key, pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push(item); // no spread: it may be huge
  }
  return out.sort((a, b) => a.pos - b.pos);
}

/**
 * Block collections possibly nested deeper than `max`: an upper bound, line by line, of the
 * indentation levels open plus the compact indicators (`- `, `? `, `: `) and plain `key: `s a
 * line starts with (`- - - x` nests three lists on one line). Over-counts (a block scalar's own
 * indentation), does not recurse.
 */
function blockDepthOver(text: string, max: number): boolean {
  const indents: number[] = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    let i = at;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    const indent = i - at;
    if (i < end && text[i] !== '#' && text[i] !== '\r') {
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
      indents.push(indent);
      let compact = 0;
      while (
        i + 1 < end &&
        '-?:'.includes(text[i] as string) &&
        (text[i + 1] === ' ' || text[i + 1] === '\t')
      ) {
        compact++;
        i += 2;
        while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
      }
      // `a: b: c: ...`: the parser nests implicit keys too (plain keys, each followed by `: `).
      const keys = /^(?:[^\s[\]{},"'#:]+:[ \t]+)+/.exec(text.slice(i, Math.min(end, i + 64 * 1024)));
      if (keys) compact += keys[0].split(':').length - 1;
      if (indents.length + compact > max) return true;
    }
    at = end + 1;
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
