/**
 * Which files a command runs or reads, as script security must check them: the program,
 * the program a wrapper (`nohup`, `env`, `exec`, ...) runs, the script a shell runs or
 * sources, the commands of a `sh -c` script, and every argument that may name a file. Pure:
 * it only says where to look (which working directories, which PATH); the shell looks.
 */
import { basenameOf, isAbsolutePath, resolvePath } from './paths.js';
import { parseShellScript, type ShellWord, type SimpleCommand } from './shell-script.js';

/**
 * - `program`: executed; a name without `/` is looked up in PATH, else relative to the cwd.
 *   A missing one is checked too: someone could create it.
 * - `script`: run or sourced by a shell (`sh file`, `. file`): relative to the cwd, and for
 *   `.`/`source` and bash also looked up in PATH. A missing one is checked too.
 * - `argument`: any other word: checked when it names an existing regular file (`node web.js`).
 */
export type UseRole = 'program' | 'script' | 'argument';

export interface CommandUse {
  readonly role: UseRole;
  /** The word, after quote removal. */
  readonly word: string;
  /** Directories a relative word is resolved against (more than one after a `cd` in a script). */
  readonly cwds: readonly string[];
  /** Whether a word without `/` is looked up in PATH. */
  readonly searchPath: boolean;
  /** The PATH values it may be looked up in (more than one after a script changes PATH). */
  readonly paths: readonly string[];
}

export type CommandAnalysis =
  | { readonly ok: true; readonly uses: readonly CommandUse[] }
  /** `construct`: what could not be followed (`the command word "$CMD" is an expansion`). */
  | { readonly ok: false; readonly construct: string };

export interface AnalysisContext {
  /** Absolute working directory the command starts in. */
  readonly cwd: string;
  /** The environment the command runs with (PATH, BASH_ENV, LD_PRELOAD are looked at). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** PATH of an environment that has none (glibc's execvp default). */
export const DEFAULT_PATH = '/bin:/usr/bin';

/** Shells whose `-c` script is read, and whose script argument is checked as a script. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'yash', 'busybox']);
/** Shells that look a script argument up in PATH when it is not in the cwd, and read BASH_ENV. */
const BASHES = new Set(['bash']);

/** Builtins of a shell that run no program (their arguments may still name files). */
const NO_EXEC_BUILTINS = new Set([
  ':',
  'true',
  'false',
  'echo',
  'printf',
  'test',
  '[',
  'pwd',
  'read',
  'wait',
  'set',
  'shift',
  'unset',
  'umask',
  'ulimit',
  'return',
  'exit',
  'break',
  'continue',
  'type',
  'hash',
  'alias',
  'unalias',
  'getopts',
  'jobs',
  'fg',
  'bg',
  'kill',
  'times',
  'let',
  'shopt',
  'popd',
  'dirs',
]);
/** Builtins that set variables: `export PATH=...` changes where programs are found. */
const SETTERS = new Set(['export', 'readonly', 'local', 'declare', 'typeset']);

interface WrapperSpec {
  /** A shell builtin (not a program of its own). */
  readonly builtin?: boolean;
  /** Options that take the next word as their value. */
  readonly valued?: readonly string[];
  /** Positional words between the options and the program (timeout's duration). */
  readonly positionals?: number;
  /** Options after which no program runs (`command -v`). */
  readonly noExec?: readonly string[];
}

/** Programs and builtins that run the program named by their first non-option word. */
const WRAPPERS: Record<string, WrapperSpec> = {
  exec: { builtin: true, valued: ['-a'] },
  command: { builtin: true, noExec: ['-v', '-V'] },
  builtin: { builtin: true },
  nohup: {},
  setsid: {},
  nice: { valued: ['-n', '--adjustment'] },
  timeout: { valued: ['-s', '--signal', '-k', '--kill-after'], positionals: 1 },
  stdbuf: { valued: ['-i', '-o', '-e', '--input', '--output', '--error'] },
  time: { valued: ['-f', '--format', '-o', '--output'] },
  ionice: { valued: ['-c', '--class', '-n', '--classdata', '-p', '--pid', '-P', '--pgid', '-u', '--uid'] },
  xargs: {
    valued: [
      '-a',
      '--arg-file',
      '-d',
      '--delimiter',
      '-E',
      '-I',
      '-L',
      '--max-lines',
      '-n',
      '--max-args',
      '-P',
      '--max-procs',
      '-s',
      '--max-chars',
    ],
  },
  // env is handled by its own rules (assignments, -i, -C, -S).
};

class Refused extends Error {
  constructor(readonly construct: string) {
    super(construct);
  }
}

/** How deep `sh -c` may nest inside `sh -c` before the command is refused. */
const MAX_DEPTH = 8;
/** How many PATH values or working directories a script may switch between. */
const MAX_VARIANTS = 16;

/** Where the analysis stands in a script: the working directories and PATHs seen so far. */
interface Scope {
  cwds: string[];
  paths: string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly uses: CommandUse[];
  readonly depth: number;
}

/**
 * The files `command` (an argv, spawned without a shell) runs or reads, for a command
 * started in `context.cwd` with `context.env`. A `sh -c` script is read word by word
 * (shell-script.ts); a construct that cannot be followed refuses the whole command.
 */
export function analyseCommand(command: readonly string[], context: AnalysisContext): CommandAnalysis {
  const scope: Scope = {
    cwds: [context.cwd],
    paths: [context.env.PATH ?? DEFAULT_PATH],
    env: context.env,
    uses: [],
    depth: 0,
  };
  try {
    // Libraries the dynamic linker loads into every program.
    for (const lib of (context.env.LD_PRELOAD ?? '').split(/[\s:]+/))
      if (lib) use(scope, 'script', lib, false);
    runWords(
      scope,
      command.map((a) => ({ raw: a, text: a, expansion: null, quoted: false })),
      false,
    );
    return { ok: true, uses: scope.uses };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, construct: e.construct };
    throw e;
  }
}

function use(scope: Scope, role: UseRole, word: string, searchPath: boolean, paths = scope.paths): void {
  if (word === '') return; // names no file: running it fails
  scope.uses.push({
    role,
    word,
    cwds: [...scope.cwds],
    searchPath: searchPath && !word.includes('/'),
    paths,
  });
}

/** Every literal word that may name a file, as an argument (options and expansions are not files). */
function argumentsOf(scope: Scope, words: readonly ShellWord[]): void {
  for (const w of words)
    if (w.text !== null && w.text !== '' && !w.text.startsWith('-')) use(scope, 'argument', w.text, false);
}

/** The literal text of a word in a position that decides what runs, or a refusal naming it. */
function literal(w: ShellWord, what: string): string {
  if (w.text === null) throw new Refused(`${what} ${JSON.stringify(w.raw)} is an expansion (${w.expansion})`);
  return w.text;
}

/**
 * A simple command's words from its command word on. `inScript`: run by a shell (so its
 * builtins apply), else exec'd directly from an argv. `paths`: the PATH this one command sees.
 */
function runWords(scope: Scope, words: readonly ShellWord[], inScript: boolean, paths = scope.paths): void {
  for (;;) {
    const w = words[0];
    if (w === undefined) return;
    const name = literal(w, 'the command word');
    const rest = words.slice(1);
    if (inScript && NO_EXEC_BUILTINS.has(name)) return argumentsOf(scope, rest);
    if (inScript && name === 'cd') return changeDirectory(scope, rest);
    if (inScript && name === 'pushd') return changeDirectory(scope, rest);
    if (inScript && SETTERS.has(name)) {
      for (const a of rest) if (a.raw.startsWith('PATH=')) setPath(scope, a.raw.slice('PATH='.length));
      return; // names and values of variables, not files
    }
    if (inScript && name === 'eval') throw new Refused('eval');
    if (inScript && name === 'trap') return trap(scope, rest);
    if (inScript && (name === '.' || name === 'source')) {
      const j = rest.findIndex((a) => a.text !== '--');
      const file = rest[j];
      if (file === undefined) return;
      use(scope, 'script', literal(file, `the file ${name} reads`), true, paths);
      return argumentsOf(scope, rest.slice(j + 1));
    }
    const base = basenameOf(name);
    if (name === 'env' || base === 'env') {
      use(scope, 'program', name, true, paths);
      const next = envWrapper(scope, rest, paths);
      words = rest.slice(next.at);
      paths = next.paths;
      continue;
    }
    const wrapper = Object.hasOwn(WRAPPERS, base) ? (WRAPPERS[base] as WrapperSpec) : undefined;
    if (wrapper && (!wrapper.builtin || (inScript && name === base))) {
      if (!wrapper.builtin) use(scope, 'program', name, true, paths);
      const at = skipOptions(rest, wrapper);
      if (at < 0) return argumentsOf(scope, rest); // `command -v x`: nothing runs
      argumentsOf(scope, rest.slice(0, at));
      words = rest.slice(at);
      continue;
    }
    use(scope, 'program', name, true, paths);
    if (SHELLS.has(base)) return shell(scope, base, rest, paths);
    return argumentsOf(scope, rest);
  }
}

/** Index of the program word after a wrapper's options and positionals; -1 when none runs. */
function skipOptions(words: readonly ShellWord[], spec: WrapperSpec): number {
  let i = 0;
  for (; i < words.length; i++) {
    const t = (words[i] as ShellWord).text;
    if (t === null || !t.startsWith('-') || t === '-') break;
    if (t === '--') {
      i++;
      break;
    }
    if (spec.noExec?.includes(t)) return -1;
    if (spec.valued?.includes(t)) i++;
  }
  return i + (spec.positionals ?? 0);
}

/** `env [-i] [-u NAME] [NAME=VALUE]... program`: where the program word is, and the PATH it sees. */
function envWrapper(
  scope: Scope,
  words: readonly ShellWord[],
  paths: readonly string[],
): { at: number; paths: string[] } {
  let out = [...paths];
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i] as ShellWord;
    const t = literal(w, 'an argument of env');
    if (t === '--') {
      i++;
      break;
    }
    if (t === '-i' || t === '--ignore-environment' || t === '-') out = [...out, DEFAULT_PATH];
    else if (t === '-u' || t === '--unset') i++;
    else if (/^-[CS]|^--(chdir|split-string)/.test(t)) throw new Refused(`env ${t}`);
    else if (t.startsWith('-')) continue;
    else if (t.startsWith('PATH=')) out = [...out, ...pathValues(scope, t.slice('PATH='.length))];
    else if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) break;
  }
  return { at: i, paths: capped(out, 'PATH values') };
}

/** The PATH values `value` may stand for, `$PATH` in it replaced by each one known. */
function pathValues(scope: Scope, value: string): string[] {
  if (!value.includes('$')) return [value];
  return scope.paths.map((p) => value.replace(/\$\{PATH\}|\$PATH(?![A-Za-z0-9_])/g, () => p));
}

/**
 * The value of a PATH assignment as written (`"/opt/bin:$PATH"`): quotes removed, `$PATH`
 * kept for pathValues. Any other expansion, or quoting this cannot undo, refuses it.
 */
function pathAssignment(raw: string): string {
  const v = raw.replace(/"/g, '');
  if (/['\\`]/.test(v) || /\$(?!\{PATH\}|PATH(?![A-Za-z0-9_]))/.test(v))
    throw new Refused(`PATH is set from an expansion (PATH=${raw})`);
  return v;
}

/** `PATH=...` on its own or through export: programs from here on may be found there too. */
function setPath(scope: Scope, raw: string): void {
  scope.paths = capped([...scope.paths, ...pathValues(scope, pathAssignment(raw))], 'PATH values');
}

function capped(list: string[], what: string): string[] {
  const unique = [...new Set(list)];
  if (unique.length > MAX_VARIANTS) throw new Refused(`more than ${MAX_VARIANTS} ${what}`);
  return unique;
}

/** `cd DIR`: relative words from here on may be relative to DIR, too. */
function changeDirectory(scope: Scope, words: readonly ShellWord[]): void {
  const args = words.filter(
    (w) => !(w.text === '-P' || w.text === '-L' || w.text === '-e' || w.text === '--'),
  );
  const dir = args[0];
  if (dir === undefined) throw new Refused('cd without a directory (to $HOME)');
  const to = literal(dir, 'the directory of cd');
  if (to === '-') throw new Refused('cd - (to $OLDPWD)');
  if (!isAbsolutePath(to) && scope.env.CDPATH)
    throw new Refused('cd to a relative directory with CDPATH set');
  scope.cwds = capped([...scope.cwds, ...scope.cwds.map((c) => resolvePath(c, to))], 'working directories');
}

/** `trap ACTION SIGNAL...`: the action is a script of its own. */
function trap(scope: Scope, words: readonly ShellWord[]): void {
  const action = words[0];
  if (action === undefined || action.text === '-' || words.length === 1) return;
  script(scope, literal(action, 'the action of trap'));
}

/** A shell: `-c SCRIPT` is read; otherwise its first operand is a script file it runs. */
function shell(scope: Scope, base: string, words: readonly ShellWord[], paths: readonly string[]): void {
  const bash = BASHES.has(base);
  if (bash && scope.env.BASH_ENV) use(scope, 'script', scope.env.BASH_ENV, false);
  let i = 0;
  let command = false;
  let stdin = false;
  if (base === 'busybox') {
    // `busybox sh ...`: the applet name comes first.
    const applet = words[0]?.text;
    if (applet === null || applet === undefined) return argumentsOf(scope, words);
    if (!SHELLS.has(applet) || applet === 'busybox') return argumentsOf(scope, words);
    i = 1;
  }
  for (; i < words.length; i++) {
    const t = (words[i] as ShellWord).text;
    if (t === null) break; // an operand (the script), not an option
    if (t === '--' || t === '-') {
      i++;
      break;
    }
    if (!/^[-+]/.test(t)) break;
    if (t === '--rcfile' || t === '--init-file') {
      const rc = words[++i];
      if (rc) use(scope, 'script', literal(rc, `the ${t} of ${base}`), false);
      continue;
    }
    if (t.startsWith('--')) continue;
    const letters = t.slice(1);
    if (letters.includes('c')) command = true;
    if (letters.includes('s')) stdin = true;
    if (/[oO]$/.test(letters)) i++; // -o pipefail, -O extglob: the next word is the option's name
  }
  const operand = words[i];
  if (operand === undefined) return;
  if (command) {
    script(scope, literal(operand, `the script of ${base} -c`));
    return argumentsOf(scope, words.slice(i + 1)); // $0, $1, ...: data
  }
  if (stdin) return argumentsOf(scope, words.slice(i));
  use(scope, 'script', literal(operand, `the script ${base} runs`), bash, [...paths]);
  return argumentsOf(scope, words.slice(i + 1));
}

/** A script a shell runs: every simple command in it. */
function script(scope: Scope, text: string): void {
  if (scope.depth >= MAX_DEPTH) throw new Refused(`sh -c nested deeper than ${MAX_DEPTH}`);
  const parsed = parseShellScript(text);
  if (!parsed.ok) throw new Refused(parsed.construct);
  const inner: Scope = { ...scope, depth: scope.depth + 1 };
  for (const c of parsed.commands) simpleCommand(inner, c);
  scope.cwds = inner.cwds;
  scope.paths = inner.paths;
}

function simpleCommand(scope: Scope, c: SimpleCommand): void {
  for (const input of c.inputs) if (input.text !== null) use(scope, 'argument', input.text, false);
  if (c.kind === 'arguments') return argumentsOf(scope, c.words);
  let paths = scope.paths;
  for (const a of c.assignments) {
    if (a.name !== 'PATH') continue;
    if (c.words.length === 0) setPath(scope, a.value.raw);
    else paths = capped([...paths, ...pathValues(scope, pathAssignment(a.value.raw))], 'PATH values');
  }
  runWords(scope, c.words, true, paths);
}
