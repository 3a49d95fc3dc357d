import { lstatSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { analyseCommand, type CommandUse } from '../../config/command-analysis.js';
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';

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
  for (const [name, s] of Object.entries(config.services))
    problems.push(...commandProblems(`services.${name}.command`, s.command, s.cwd, s.env));
  for (const [name, c] of Object.entries(config.checks))
    problems.push(...commandProblems(`checks.${name}.command`, c.command, c.cwd, {}));
  return problems;
}

const isRoot = () => process.getuid?.() === 0;

export interface VetOptions {
  /** Names the command in the problem: `services.web.command`. */
  readonly where?: string;
  /** The config's `allowUnsafeScripts`: nothing is refused. */
  readonly allowUnsafeScripts?: boolean;
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
  return commandProblems(options.where ?? 'command', command, cwd, env)[0] ?? null;
}

const REFUSED = 'as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)';

/** Everything unsafe about running `command` in `cwd` with procreg's environment plus `env`. */
export function commandProblems(
  where: string,
  command: readonly string[],
  cwd: string | null,
  env: Readonly<Record<string, string>>,
): ConfigProblem[] {
  // Where the spawn runs it: the given cwd, else procreg's own working directory.
  const dir = cwd ?? process.cwd();
  const analysis = analyseCommand(command, { cwd: dir, env: withProcessEnv(env) });
  if (!analysis.ok)
    return [
      {
        path: where,
        message: `cannot check the shell script: ${analysis.construct}; as root procreg refuses a script it cannot check (set allowUnsafeScripts: true to run it anyway)`,
      },
    ];
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  const memo = new Memo();
  for (const u of analysis.uses) {
    for (const why of useProblems(u, memo)) {
      if (seen.has(why)) continue;
      seen.add(why);
      problems.push({ path: where, message: `${why}; ${REFUSED}` });
    }
  }
  return problems;
}

/**
 * procreg's environment plus `env`, read key by key: the analysis looks at a few variables
 * (PATH, LD_PRELOAD, BASH_ENV, CDPATH), and copying all of process.env (a call into C++ per
 * variable) was a fifth of the check's time.
 */
function withProcessEnv(env: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>> {
  return new Proxy(
    {},
    {
      get: (_target, key) =>
        typeof key !== 'string' ? undefined : Object.hasOwn(env, key) ? env[key] : process.env[key],
    },
  );
}

/**
 * Verdicts on paths already looked at while checking one command: PATH is searched per
 * program, and every candidate's directories share their ancestors, so each path is
 * lstat'd, resolved and judged once per check (issue 15: the check runs before every spawn,
 * and it cost a restart 0.4 ms of 60 lstat calls for a `sleep` found in the 9th PATH entry).
 */
class Memo {
  private readonly untrusted = new Map<string, string | null>();
  private readonly missing = new Map<string, string | null>();
  private readonly stats = new Map<string, Stats | null>();
  private readonly reals = new Map<string, string | null>();
  private readonly chains = new Map<string, { readonly at: string; readonly why: string } | null>();

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

  /** lstat, null for a path that cannot be looked at. */
  lstat(p: string): Stats | null {
    let v = this.stats.get(p);
    if (v === undefined) {
      try {
        v = lstatSync(p);
      } catch {
        v = null;
      }
      this.stats.set(p, v);
    }
    return v;
  }

  /** The real path (every link resolved), null when it cannot be resolved. */
  realpath(p: string): string | null {
    let v = this.reals.get(p);
    if (v === undefined) {
      try {
        v = realpathSync.native(p);
      } catch {
        v = null;
      }
      this.reals.set(p, v);
    }
    return v;
  }

  /** The first of `p` and the directories above it a non-root user could change, and why. */
  chain(p: string): { readonly at: string; readonly why: string } | null {
    let v = this.chains.get(p);
    if (v === undefined) {
      const st = this.lstat(p);
      const why = st === null ? null : pathProblem(st);
      v =
        st === null ? null : why !== null ? { at: p, why } : p === dirname(p) ? null : this.chain(dirname(p));
      this.chains.set(p, v);
    }
    return v;
  }
}

/** What is unsafe about one file the command runs or reads. */
function useProblems(u: CommandUse, memo: Memo): string[] {
  const out: string[] = [];
  const add = (why: string | null) => {
    if (why) out.push(why);
  };
  if (u.role === 'argument') {
    for (const c of u.cwds) {
      const p = resolve(c, u.word);
      if (isFile(p)) add(memo.untrustedFile(p));
    }
    return out;
  }
  if (!u.searchPath || u.role === 'script') {
    // A path (or a script, which shells also look for in the cwd): where it is, or would be.
    for (const c of u.cwds) {
      const p = resolve(c, u.word);
      add(exists(p) ? memo.untrustedFile(p) : missing(p, memo));
    }
  }
  if (u.searchPath) {
    for (const path of u.paths) {
      for (const entry of path.split(':')) {
        // An empty or relative PATH entry is relative to the working directory.
        const dirs = isAbsolute(entry) ? [entry] : u.cwds.map((c) => resolve(c, entry || '.'));
        let found = false;
        for (const d of dirs) {
          const p = join(d, u.word);
          const st = statOf(p);
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

/** stat without an exception for a missing path (exceptions are what makes a PATH search slow). */
function statOf(p: string) {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, ELOOP, ...: not there either
  }
}

const exists = (p: string): boolean => statOf(p) !== undefined;
const isFile = (p: string): boolean => statOf(p)?.isFile() ?? false;

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

/** The first of `start` and the directories above it that a non-root user could change. */
function chainProblem(start: string, named: string, memo: Memo): string | null {
  const found = memo.chain(start);
  if (found === null) return null;
  return `${found.at}${found.at === named ? '' : ` (above ${named})`} ${found.why}`;
}

/** Why root must not trust this one path (not looking above it), or null. */
function pathProblem(st: Stats): string | null {
  if (st.isSymbolicLink()) return st.uid !== 0 ? `is a symlink owned by uid ${st.uid}, not root` : null;
  const mode = st.mode & 0o7777;
  const sharedSticky = st.isDirectory() && (mode & 0o1000) !== 0;
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root`;
  if ((mode & 0o022) !== 0 && !sharedSticky) return `is writable by ${writers(mode)} (${modeText(mode)})`;
  return null;
}

/**
 * Why a program or script that does not exist is not safe either: the nearest directory that
 * does exist is owned or writable by a non-root user (a sticky one included: anyone may create
 * a new file in /tmp), or one above it could be changed, so that user could create it.
 */
function missing(p: string, memo: Memo): string | null {
  let d = dirname(p);
  while (!isDirectory(d) && d !== dirname(d)) d = dirname(d);
  const why = memo.missingIn(d);
  return why ? `${p} does not exist, and ${why}` : null;
}

function creatableIn(d: string, memo: Memo): string | null {
  const real = memo.realpath(d);
  const st = real === null ? null : memo.lstat(real);
  if (real === null || st === null) return null; // vanished meanwhile: the spawn will fail and say so
  const mode = st.mode & 0o7777;
  const dir = d === real ? d : `${d} (${real})`;
  if (st.uid !== 0) return `${dir} is owned by uid ${st.uid}, not root: that user could create it`;
  if ((mode & 0o022) !== 0)
    return `${dir} is writable by ${writers(mode)} (${modeText(mode)}): another user could create it`;
  const above = untrusted(d, memo);
  return above ? `${above}: another user could create it` : null;
}

function isDirectory(p: string): boolean {
  return statOf(p)?.isDirectory() ?? false;
}
