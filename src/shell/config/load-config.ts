import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { normalizeConfig } from '../../config/normalize.js';
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { unsafeScripts } from './script-security.js';

const isRoot = () => process.getuid?.() === 0;

export type LoadResult =
  | { readonly ok: true; readonly config: NormalizedConfig; readonly path: string }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly path: string };

/**
 * Read, parse and validate a config file. YAML (1.2 core schema: `on` stays a string,
 * duplicate keys are errors) or JSON, by extension; anything else is read as YAML, of
 * which JSON is a subset. Every problem names the file, and the line and column or the
 * field path, the bad value and what is allowed. Relative paths in the config resolve
 * against the file's directory. Never throws for a bad or missing file.
 */
export function loadConfigFile(file: string): LoadResult {
  const path = resolve(file);
  const fail = (problems: readonly ConfigProblem[]): LoadResult => ({
    ok: false,
    path,
    problems: problems.map((p) => ({ file, ...p })),
  });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return fail([{ path: null, message: `cannot read the config file: ${(e as Error).message}` }]);
  }
  const parsed = parse(text, extname(path).toLowerCase() === '.json');
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

function parse(
  text: string,
  json: boolean,
): { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] } {
  if (json) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (e) {
      return { ok: false, problems: [{ path: null, message: `not valid JSON: ${(e as Error).message}` }] };
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return {
          path: null,
          line: at.line,
          column: at.col,
          message: `not valid YAML: ${e.message.split('\n')[0]}`,
        };
      }),
    };
  }
  const value = doc.toJS();
  if (value === null || value === undefined)
    return { ok: false, problems: [{ path: null, message: 'the config file is empty' }] };
  return { ok: true, value };
}
