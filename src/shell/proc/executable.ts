// Finding the file a command runs, as execvp(3) would: a path as given, a bare name in PATH.
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** systemd's default PATH for services: what a service gets without procreg's environment. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Found = { readonly path: string } | { readonly error: string };

/**
 * The file `program` names for a process started in `cwd` with `PATH`: a name with a `/` is
 * that path (relative to `cwd`); a bare name is the first executable regular file of that name
 * in PATH (an empty entry is the working directory). The error says what is wrong: not
 * found (and where it was looked for), a directory, not executable.
 */
export function findExecutable(program: string, cwd: string, path: string | undefined): Found {
  if (program.includes('/')) {
    const p = resolve(cwd, program);
    const why = notExecutable(p);
    return why === null ? { path: p } : { error: `${p} ${why}` };
  }
  const dirs = (path ?? DEFAULT_PATH).split(':');
  let firstProblem: string | null = null;
  for (const d of dirs) {
    const p = join(isAbsolute(d) ? d : resolve(cwd, d || '.'), program);
    const why = notExecutable(p);
    if (why === null) return { path: p };
    if (why !== 'does not exist') firstProblem ??= `${p} ${why}`;
  }
  return {
    error: firstProblem ?? `${program} is not found in PATH (${dirs.join(':') || 'empty'})`,
  };
}

/** Why `p` cannot be executed, or null when it can. */
function notExecutable(p: string): string | null {
  let st;
  try {
    st = statSync(p, { throwIfNoEntry: false });
  } catch {
    return 'does not exist'; // ENOTDIR, ELOOP: not there either
  }
  if (st === undefined) return 'does not exist';
  if (st.isDirectory()) return 'is a directory';
  if (!st.isFile()) return 'is not a regular file';
  try {
    accessSync(p, constants.X_OK);
  } catch {
    return `is not executable (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  }
  // root passes access(X_OK) when any execute bit is set; with none, exec fails all the same.
  if ((st.mode & 0o111) === 0)
    return `is not executable (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return null;
}
