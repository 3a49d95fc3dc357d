import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { formatProblem, normalizeConfig } from '../config/normalize.js';
import type { NormalizedConfig } from '../config/types.js';
import { unsafeScripts } from './script-security.js';

const isRoot = () => process.getuid?.() === 0;

export type LoadResult =
  | { readonly ok: true; readonly config: NormalizedConfig; readonly path: string }
  | { readonly ok: false; readonly errors: readonly string[]; readonly path: string };

/**
 * Read, parse and validate a config file. YAML (1.2 core schema: `on` stays a string,
 * duplicate keys are errors) or JSON, by extension; anything else is read as YAML, of
 * which JSON is a subset. Every error names the file, and the line and column or the
 * field path, the bad value and what is allowed. Relative paths in the config resolve
 * against the file's directory. Never throws for a bad or missing file.
 */
export function loadConfigFile(file: string): LoadResult {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { ok: false, path, errors: [`${file}: cannot read the config file: ${(e as Error).message}`] };
  }
  const parsed = parse(text, extname(path).toLowerCase() === '.json', file);
  if (!parsed.ok) return { ok: false, path, errors: parsed.errors };
  const res = normalizeConfig(parsed.value, { baseDir: dirname(path) });
  if (!res.ok) return { ok: false, path, errors: res.problems.map((p) => formatProblem(p, file)) };
  if (isRoot() && !res.config.allowUnsafeScripts) {
    const unsafe = unsafeScripts(res.config);
    if (unsafe.length > 0) return { ok: false, path, errors: unsafe.map((u) => `${file}: ${u}`) };
  }
  return { ok: true, path, config: res.config };
}

function parse(
  text: string,
  json: boolean,
  file: string,
): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  if (json) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (e) {
      return { ok: false, errors: [`${file}: not valid JSON: ${(e as Error).message}`] };
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return `${file}:${at.line}:${at.col}: not valid YAML: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  const value = doc.toJS();
  if (value === null || value === undefined)
    return { ok: false, errors: [`${file}: the config file is empty`] };
  return { ok: true, value };
}
