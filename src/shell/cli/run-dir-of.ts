// The runDir of a config, read without validating the rest of it.
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';

export type RunDirOf =
  { readonly ok: true; readonly runDir: string } | { readonly ok: false; readonly problem: string };

/**
 * The runDir a config names (absolute; `./run` when it names none), resolved as `procreg run`
 * resolves it: against the config file's directory. Only the file's syntax and `runDir`
 * itself must be right: a config half edited, with a typo in a service or a script that now
 * fails script security, still leads `status` and `stop` to the supervisor it started.
 */
export function runDirOf(file: string): RunDirOf {
  const path = resolve(file);
  const fail = (problem: string): RunDirOf => ({ ok: false, problem: `${file}: ${problem}` });
  try {
    const st = statSync(path);
    if (!st.isFile()) return fail('not a regular file');
  } catch (e) {
    return fail(`cannot read the config file: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return fail(`cannot read the config file: ${(e as Error).message}`);
  }
  let top: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      top = JSON.parse(text);
    } catch (e) {
      return fail(`not valid JSON: ${(e as Error).message}`);
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length > 0)
      return fail(`not valid YAML: ${(doc.errors[0] as Error).message.split('\n')[0]}`);
    top = doc.toJS();
  }
  if (typeof top !== 'object' || top === null || Array.isArray(top)) return fail('not a mapping');
  const runDir = (top as { runDir?: unknown }).runDir;
  if (runDir === undefined || runDir === null || runDir === '')
    return { ok: true, runDir: resolve(dirname(path), 'run') };
  if (typeof runDir !== 'string') return fail(`runDir: must be a string, got ${JSON.stringify(runDir)}`);
  return { ok: true, runDir: resolve(dirname(path), runDir) };
}
