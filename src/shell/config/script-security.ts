import { constants, lstatSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { analyseCommand, type CommandUse } from '../../config/command-analysis.js';
import type { ConfigProblem } from '../../config/schema.js';
import { envOf, runAsOf } from '../../config/run-as.js';
import type { CheckDef, NormalizedConfig, ServiceDef } from '../../config/types.js';
import { launchOf } from '../supervisor/run-as.js';

/**
 * keepalived's script security, for a procreg running as root: every program a service or
 * check runs — its executable, the program a wrapper such as `nohup` or `env` runs, the
 * commands of a `sh -c` script, any script a shell runs or sources, and any argument naming an
 * existing file (`node web.js` runs web.js) — and every directory above it must be owned by
 * root and not writable by group or others, or a non-root user could make root run their code.
 * A sticky shared directory such as /tmp is allowed above an existing file (others cannot
 * replace what they do not own). A program or script that does not exist yet is refused when
 * a non-root user could create it (its nearest existing directory is theirs or writable by
 * them, sticky or not), and so is a program name looked up in PATH when a directory searched
 * before the one it is found in (or any, if it is not found) is. A `sh -c` script that cannot
 * be analysed (shell-script.ts) is refused. Returns the problems, each naming the service or
 * check and the file or construct, and why.
 */
export function unsafeScripts(config: NormalizedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const vet = (where: string, def: ServiceDef | CheckDef) => {
    // With the environment and as the user it will run with; a user that does not exist is
    // reported by runAsProblems, and its programs are then judged as root's.
    const launch = launchOf(runAsOf(def), envOf(def), where);
    const [env, runsAs] =
      'error' in launch ? [{ ...process.env, ...envOf(def) }, null] : [launch.env, launch.uid];
    problems.push(...commandProblems(`${where}.command`, def.command, def.cwd, env, runsAs));
  };
  for (const [name, s] of Object.entries(config.services)) vet(`services.${name}`, s);
  for (const [name, c] of Object.entries(config.checks)) vet(`checks.${name}`, c);
  return problems;
}

const isRoot = () => process.getuid?.() === 0;

export interface VetOptions {
  /** Names the command in the problem: `services.web.command`. */
  readonly where?: string;
  /** The config's `allowUnsafeScripts`: nothing is refused. */
  readonly allowUnsafeScripts?: boolean;
  /** `env` is the child's whole environment, not what is added to procreg's. */
  readonly wholeEnv?: boolean;
  /** The uid the program runs as (`user`): files that user owns are as safe as root's. */
  readonly runsAs?: number | null;
}

/**
 * The check that matters is the one at exec time: the shell calls this immediately before
 * every spawn of a service or check run, with exactly what it will spawn (`env`: what is added
 * to procreg's environment; `cwd` null: procreg's own). As root, and unless the config allows
 * unsafe scripts, the first reason the command must not run; otherwise null.
 */
export function vetCommand(
  command: readonly string[],
  cwd: string | null,
  env: Readonly<Record<string, string>>,
  options: VetOptions = {},
): ConfigProblem | null {
  if (!isRoot() || options.allowUnsafeScripts) return null;
  const whole = options.wholeEnv ? env : withProcessEnv(env);
  return commandProblems(options.where ?? 'command', command, cwd, whole, options.runsAs ?? null)[0] ?? null;
}

/**
 * procreg's environment under `env`, read variable by variable: the check reads a few (PATH,
 * LD_PRELOAD, BASH_ENV, CDPATH), and copying all of process.env (a call into C++ per variable)
 * cost more than the check itself.
 */
function withProcessEnv(env: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>> {
  return new Proxy(
    {},
    {
      get: (_target, name) =>
        typeof name !== 'string' ? undefined : Object.hasOwn(env, name) ? env[name] : process.env[name],
    },
  );
}

const REFUSED = 'as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)';

/**
 * Everything unsafe about running `command` in `cwd` with the environment `env`, as root or as
 * the user `runsAs`: that user may own what it runs (it could change it, but only to run as
 * itself); nobody else may.
 */
export function commandProblems(
  where: string,
  command: readonly string[],
  cwd: string | null,
  env: Readonly<Record<string, string | undefined>>,
  runsAs: number | null = null,
): ConfigProblem[] {
  // Where the spawn runs it: the given cwd, else procreg's own working directory.
  const dir = cwd ?? process.cwd();
  const owner = runsAs === 0 ? null : runsAs;
  const key = JSON.stringify([command, dir, owner]);
  let verdict = verdicts.get(key);
  if (verdict !== undefined && stillHolds(verdict, env)) memoCounts.hits++;
  else {
    memoCounts.misses++;
    verdict = judge(command, dir, env, owner);
    verdicts.delete(key);
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
    verdicts.set(key, verdict);
  }
  return verdict.messages.map((message) => ({ path: where, message }));
}

/**
 * A verdict on one command (its program, cwd and run-as user), with what it was drawn from:
 * every file looked at and every variable of the environment read, each with the part of the
 * answer the verdict depends on. The check runs before every spawn — a crash loop runs it
 * many times a second on the same command — and each time it would parse the command again
 * and lstat every directory above every candidate in PATH. Instead, a verdict is kept and
 * reused as long as each of those answers is still the same: the verdict is a function of them
 * (and of the key), so equal answers give an equal verdict, and a file chmod'ed, chown'ed,
 * replaced by a symlink, re-pointed or created in a PATH directory is judged again.
 */
interface Verdict {
  readonly messages: readonly string[];
  readonly seen: readonly Observation[];
}
/** [how, what, answer]: `s` stat, `l` lstat, `r` realpath of a path, `e` a variable. */
type Observation = readonly ['s' | 'l' | 'r' | 'e', string, string];

const MAX_VERDICTS = 1024;
const verdicts = new Map<string, Verdict>();
const memoCounts = { hits: 0, misses: 0 };

/** Verdicts served from the memo and drawn afresh, since the process started (tests, benchmarks). */
export function scriptSecurityMemo(): { readonly hits: number; readonly misses: number } {
  return { ...memoCounts };
}

/** Forget every verdict kept (the benchmark's peer: every check drawn afresh, as before the memo). */
export function forgetScriptSecurityVerdicts(): void {
  verdicts.clear();
}

function stillHolds(verdict: Verdict, env: Readonly<Record<string, string | undefined>>): boolean {
  for (const [how, what, answer] of verdict.seen) {
    const now =
      how === 'e'
        ? variable(env[what])
        : how === 's'
          ? statAnswer(statOf(what))
          : how === 'l'
            ? statAnswer(lstatOf(what))
            : (realpathOf(what) ?? NONE);
    if (now !== answer) return false;
  }
  return true;
}

const NONE = '\0none';
/** What the verdict reads of a stat: the file type, the permission bits and the owner. */
const statAnswer = (st: Stats | undefined): string => (st === undefined ? NONE : `${st.mode}:${st.uid}`);
const variable = (v: string | undefined): string => v ?? NONE;

function judge(
  command: readonly string[],
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  owner: number | null,
): Verdict {
  const memo = new Memo(owner, env);
  const analysis = analyseCommand(command, { cwd: dir, env: memo.env });
  if (!analysis.ok)
    return {
      messages: [
        `cannot check the shell script: ${analysis.construct}; as root procreg refuses a script it cannot check (set allowUnsafeScripts: true to run it anyway)`,
      ],
      seen: memo.seen(),
    };
  const messages = new Set<string>();
  for (const u of analysis.uses) for (const why of useProblems(u, memo)) messages.add(`${why}; ${REFUSED}`);
  return { messages: [...messages], seen: memo.seen() };
}

/**
 * What one check looked at, each path and variable once (PATH is searched per program, and
 * every candidate's directories share their ancestors), and its verdicts on paths.
 */
class Memo {
  private readonly untrusted = new Map<string, string | null>();
  private readonly missing = new Map<string, string | null>();
  private readonly stats = new Map<string, Stats | undefined>();
  private readonly lstats = new Map<string, Stats | undefined>();
  private readonly reals = new Map<string, string | null>();
  private readonly vars = new Map<string, string | undefined>();
  /** The environment as the analysis reads it: each variable read is remembered. */
  readonly env: Readonly<Record<string, string | undefined>>;

  /** `owner`: besides root, the uid the command runs as (null: root only). */
  constructor(
    readonly owner: number | null,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    const vars = this.vars;
    this.env = new Proxy(
      {},
      {
        get: (_target, name) => {
          if (typeof name !== 'string') return undefined;
          if (!vars.has(name)) vars.set(name, env[name]);
          return vars.get(name);
        },
      },
    );
  }

  untrustedFile(file: string): string | null {
    let v = this.untrusted.get(file);
    if (v === undefined) this.untrusted.set(file, (v = untrusted(file, this)));
    return v;
  }

  /** Why a file created in `dir` would be unsafe (the text after "`path` does not exist, and "). */
  missingIn(dir: string): string | null {
    let v = this.missing.get(dir);
    if (v === undefined) this.missing.set(dir, (v = creatableIn(dir, this)));
    return v;
  }

  stat(p: string): Stats | undefined {
    if (!this.stats.has(p)) this.stats.set(p, statOf(p));
    return this.stats.get(p);
  }

  lstat(p: string): Stats | undefined {
    if (!this.lstats.has(p)) this.lstats.set(p, lstatOf(p));
    return this.lstats.get(p);
  }

  /** The real path (every link resolved), null when it cannot be resolved. */
  realpath(p: string): string | null {
    let v = this.reals.get(p);
    if (v === undefined) this.reals.set(p, (v = realpathOf(p)));
    return v;
  }

  /**
   * Everything looked at, with the answers the verdict was drawn from — less what the other
   * answers imply, so that checking the verdict again costs fewer system calls (issue 15: a
   * restart of `sleep`, found in the 9th PATH directory, went from 40 statx and 25 readlink to 32
   * and none):
   * - a stat of a path whose lstat is also kept and gave the same answer, not a symlink (or
   *   nothing): stat and lstat differ only when the last component is a symlink;
   * - a realpath that gave the path itself, when the lstat of every component of it (the
   *   path, each directory above it, up to /) is kept and none is a symlink: the path holds no
   *   link to resolve, so while those answers hold its real path is itself.
   * If any lstat answer changes the verdict is drawn again, so nothing dropped goes unchecked.
   */
  seen(): Observation[] {
    const out: Observation[] = [];
    const lstats = new Map<string, string>();
    for (const [p, st] of this.lstats) lstats.set(p, statAnswer(st));
    const noLink = (answer: string | undefined) => answer !== undefined && !isLinkAnswer(answer);
    const linkFree = (p: string): boolean => {
      for (let q = p; ; q = dirname(q)) {
        const a = lstats.get(q);
        if (a === undefined || a === NONE || !noLink(a)) return false;
        if (q === dirname(q)) return true;
      }
    };
    for (const [name, v] of this.vars) out.push(['e', name, variable(v)]);
    for (const [p, st] of this.stats) {
      const answer = statAnswer(st);
      if (lstats.get(p) !== answer || !noLink(answer)) out.push(['s', p, answer]);
    }
    for (const [p, answer] of lstats) out.push(['l', p, answer]);
    for (const [p, real] of this.reals) if (real !== p || !linkFree(p)) out.push(['r', p, real ?? NONE]);
    return out;
  }
}

/** Whether a kept stat answer (`mode:uid`) is a symbolic link's. */
function isLinkAnswer(answer: string): boolean {
  return (
    answer !== NONE && (Number(answer.slice(0, answer.indexOf(':'))) & constants.S_IFMT) === constants.S_IFLNK
  );
}

/** Who may own what a command runs: root, and the user it runs as. */
const trustedOwner = (uid: number, owner: number | null) => uid === 0 || (owner !== null && uid === owner);
const notTrusted = (uid: number, owner: number | null) =>
  `owned by uid ${uid}, not root${owner === null ? '' : ` or uid ${owner} it runs as`}`;

/** What is unsafe about one file the command runs or reads. */
function useProblems(u: CommandUse, memo: Memo): string[] {
  const out: string[] = [];
  const add = (why: string | null) => {
    if (why) out.push(why);
  };
  if (u.role === 'argument') {
    for (const c of u.cwds) {
      const p = kernelResolve(c, u.word, memo);
      if (memo.stat(p)?.isFile()) add(memo.untrustedFile(p));
    }
    return out;
  }
  if (!u.searchPath || u.role === 'script') {
    // A path (or a script, which shells also look for in the cwd): where it is, or would be.
    for (const c of u.cwds) {
      const p = kernelResolve(c, u.word, memo);
      add(memo.stat(p) !== undefined ? memo.untrustedFile(p) : missing(p, memo));
    }
  }
  if (u.searchPath) {
    for (const path of u.paths) {
      for (const entry of path.split(':')) {
        // An empty or relative PATH entry is relative to the working directory.
        const dirs = isAbsolute(entry) ? [entry] : u.cwds.map((c) => `${c}/${entry || '.'}`);
        let found = false;
        for (const d of dirs) {
          const p = kernelResolve(d, u.word, memo);
          const st = memo.stat(p);
          if (st?.isFile()) {
            add(memo.untrustedFile(p));
            // execvp passes over a file it may not execute; a sourced script need only be readable.
            if (u.role === 'script' || (st.mode & 0o111) !== 0) found = true;
          } else add(missing(p, memo));
        }
        if (found) break; // the directories after it are never searched
      }
    }
  }
  return out;
}

/**
 * `rel` against `base` as the kernel resolves it at exec time. path.resolve drops `x/..` as
 * text, but the kernel goes up from where `x` leads: with `link -> user/app`, `link/../bin/tool`
 * is `user/bin/tool`, not `bin/tool` — the file checked would not be the one run. The part up
 * to the last `..` is looked up for real (through the memo, so a kept verdict notices a
 * re-pointed link); the rest has no `..` and resolves as text.
 */
function kernelResolve(base: string, rel: string, memo: Memo): string {
  const joined = isAbsolute(rel) ? rel : `${base}/${rel}`;
  const parts = joined.split('/');
  const lastUp = parts.lastIndexOf('..');
  if (lastUp < 0) return resolve(joined);
  const head = parts.slice(0, lastUp + 1).join('/') || '/';
  const real = memo.realpath(head);
  // Not there: nothing can be run through it; said as the textual path would be.
  return real === null ? resolve(joined) : resolve(real, parts.slice(lastUp + 1).join('/'));
}

/** stat without an exception for a missing path (exceptions are what makes a PATH search slow). */
function statOf(p: string) {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, ELOOP, ...: not there either
  }
}

function lstatOf(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function realpathOf(p: string): string | null {
  try {
    return realpathSync.native(p);
  } catch {
    return null;
  }
}

const modeText = (mode: number) => `mode ${mode.toString(8).padStart(4, '0')}`;
const writers = (mode: number) =>
  `${mode & 0o020 ? 'group' : ''}${(mode & 0o022) === 0o022 ? ' and ' : ''}${mode & 0o002 ? 'others' : ''}`;

/**
 * Why a file is not safe for root to run, or null: the file and every directory above it, on
 * its real path (every link resolved) and on the path as written (a directory holding a
 * symlink could re-point it; a symlink not owned by root could be replaced by its owner).
 */
function untrusted(file: string, memo: Memo): string | null {
  const real = memo.realpath(file);
  if (real === null) return null; // vanished meanwhile: the spawn will fail and say so
  return (
    chainProblem(real, real, memo) ??
    (file === real ? null : chainProblem(resolve(file), resolve(file), memo))
  );
}

/** The first of `start` and the directories above it that a user other than root (or `owner`) could change. */
function chainProblem(start: string, named: string, memo: Memo): string | null {
  const owner = memo.owner;
  for (let p = start; ; p = dirname(p)) {
    const st = memo.lstat(p);
    if (st === undefined) return null;
    const where = `${p}${p === named ? '' : ` (above ${named})`}`;
    if (st.isSymbolicLink()) {
      if (!trustedOwner(st.uid, owner)) return `${where} is a symlink ${notTrusted(st.uid, owner)}`;
    } else {
      const mode = st.mode & 0o7777;
      const sharedSticky = st.isDirectory() && (mode & 0o1000) !== 0;
      if (!trustedOwner(st.uid, owner)) return `${where} is ${notTrusted(st.uid, owner)}`;
      if ((mode & 0o022) !== 0 && !sharedSticky)
        return `${where} is writable by ${writers(mode)} (${modeText(mode)})`;
    }
    if (p === dirname(p)) return null;
  }
}

/**
 * Why a program or script that does not exist is not safe either: the nearest directory that
 * does exist is owned or writable by a non-root user (a sticky one included: anyone may create
 * a new file in /tmp), or one above it could be changed, so that user could create it.
 */
function missing(p: string, memo: Memo): string | null {
  let d = dirname(p);
  while (!(memo.stat(d)?.isDirectory() ?? false) && d !== dirname(d)) d = dirname(d);
  const why = memo.missingIn(d);
  return why ? `${p} does not exist, and ${why}` : null;
}

function creatableIn(d: string, memo: Memo): string | null {
  const owner = memo.owner;
  const real = memo.realpath(d);
  const st = real === null ? undefined : memo.lstat(real);
  if (real === null || st === undefined) return null; // vanished meanwhile: the spawn will fail and say so
  const mode = st.mode & 0o7777;
  const dir = d === real ? d : `${d} (${real})`;
  if (!trustedOwner(st.uid, owner))
    return `${dir} is ${notTrusted(st.uid, owner)}: that user could create it`;
  if ((mode & 0o022) !== 0)
    return `${dir} is writable by ${writers(mode)} (${modeText(mode)}): another user could create it`;
  const above = untrusted(d, memo);
  return above ? `${above}: another user could create it` : null;
}
