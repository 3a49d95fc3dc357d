// `envFile`: a dotenv file, read when the config is loaded (and on every reload).
import { closeSync } from 'node:fs';
import { openRegularFile, readAtMost } from './regular-file.js';

/** An env file is a handful of lines; more than this is not one. */
const MAX_ENV_FILE_BYTES = 1 << 20;
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export type EnvFileRead =
  | { readonly ok: true; readonly values: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly message: string };

/** Read and parse the dotenv file at `path`; a missing or bad file says what and where. */
export function readEnvFile(path: string): EnvFileRead {
  const opened = openRegularFile(path);
  if (!opened.ok) return { ok: false, message: `cannot read the env file ${path}: ${opened.reason}` };
  try {
    const bytes = readAtMost(opened.fd, MAX_ENV_FILE_BYTES);
    if (bytes === null) return { ok: false, message: `the env file ${path} is larger than 1MB` };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, message: `the env file ${path} is not UTF-8 text` };
    }
    const parsed = parseDotenv(text);
    return 'error' in parsed
      ? { ok: false, message: `${path}:${parsed.line}: ${parsed.error}` }
      : { ok: true, values: parsed.values };
  } catch (e) {
    return { ok: false, message: `cannot read the env file ${path}: ${(e as Error).message}` };
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * dotenv syntax: `KEY=value` lines, optionally `export KEY=value`; blank lines and `#` comments
 * skipped; a value unquoted (trimmed, ` #...` cut off), in single quotes (literal) or in double
 * quotes (`\n`, `\t`, `\"`, `\\` escapes; may span lines). No `$VAR` expansion: a value is what
 * the file says. A line that is none of these is an error naming its number.
 */
export function parseDotenv(
  text: string,
): { readonly values: Record<string, string> } | { readonly error: string; readonly line: number } {
  const values: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    if (eq <= 0) return { line: lineNo, error: `expected KEY=value, got ${JSON.stringify(line)}` };
    const key = body.slice(0, eq).trim();
    if (!KEY.test(key))
      return {
        line: lineNo,
        error: `${JSON.stringify(key)} is not a variable name ([A-Za-z_][A-Za-z0-9_.-]*)`,
      };
    let rest = body.slice(eq + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // The closing quote may be on a later line.
      let j = i;
      let close = closingQuote(rest, quote);
      while (close < 0 && j + 1 < lines.length) {
        j += 1;
        rest += `\n${lines[j] as string}`;
        close = closingQuote(rest, quote);
      }
      if (close < 0) return { line: lineNo, error: `${key}: the ${quote} quote is never closed` };
      const after = rest.slice(close + 1).trim();
      if (after !== '' && !after.startsWith('#'))
        return { line: lineNo, error: `${key}: unexpected ${JSON.stringify(after)} after the closing quote` };
      const inner = rest.slice(1, close);
      values[key] = quote === "'" ? inner : unescape(inner);
      i = j;
      continue;
    }
    const hash = rest.search(/\s#/);
    values[key] = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
  }
  return { values };
}

/** Index of the quote closing the one at 0, or -1; in double quotes a backslash escapes the next character. */
function closingQuote(s: string, quote: string): number {
  for (let k = 1; k < s.length; k++) {
    if (quote === '"' && s[k] === '\\') k++;
    else if (s[k] === quote) return k;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}
