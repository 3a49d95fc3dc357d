import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';

/**
 * keepalived's script security, for a procreg running as root: every program a service or
 * check runs — its executable, and any argument naming an existing file (`node web.js` runs
 * web.js) — and every directory above it must be owned by root and not writable by group or
 * others, or a non-root user could make root run their code. A sticky shared directory such
 * as /tmp is allowed (others cannot replace what they do not own). Returns the problems, each
 * naming the service or check, the file, and why.
 */
export function unsafeScripts(config: NormalizedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (
    where: string,
    command: readonly string[],
    cwd: string,
    env: Readonly<Record<string, string>>,
  ) => {
    const files = [resolveExecutable(command[0] as string, cwd, env.PATH ?? process.env.PATH ?? '')];
    for (const arg of command.slice(1)) {
      const p = resolve(cwd, arg);
      if (!arg.startsWith('-') && existsSync(p) && statSync(p).isFile()) files.push(p);
    }
    for (const file of files) {
      if (!file) continue;
      const why = untrusted(file);
      if (why)
        problems.push({
          path: where,
          message: `${why}; as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
        });
    }
  };
  // Where the spawn will run them: the service's or check's cwd, else procreg's own working directory.
  const base = process.cwd();
  for (const [name, s] of Object.entries(config.services))
    check(`services.${name}.command`, s.command, s.cwd ?? base, s.env);
  for (const [name, c] of Object.entries(config.checks))
    check(`checks.${name}.command`, c.command, c.cwd ?? base, {});
  return problems;
}

function resolveExecutable(cmd: string, cwd: string, path: string): string | null {
  if (cmd.includes('/')) {
    const p = isAbsolute(cmd) ? cmd : resolve(cwd, cmd);
    return existsSync(p) ? p : null;
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null; // not found: the spawn fails and says so
}

/** Why a file is not safe for root to run, or null. Checks the real path, link by link resolved. */
function untrusted(file: string): string | null {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return null;
  }
  for (let p = real; ; p = dirname(p)) {
    const st = lstatSync(p);
    const mode = st.mode & 0o7777;
    const sharedSticky = st.isDirectory() && (mode & 0o1000) !== 0;
    if (st.uid !== 0)
      return `${p}${p === real ? '' : ` (above ${real})`} is owned by uid ${st.uid}, not root`;
    if ((mode & 0o022) !== 0 && !sharedSticky) {
      return `${p}${p === real ? '' : ` (above ${real})`} is writable by ${mode & 0o020 ? 'group' : ''}${(mode & 0o022) === 0o022 ? ' and ' : ''}${mode & 0o002 ? 'others' : ''} (mode ${mode.toString(8).padStart(4, '0')})`;
    }
    if (p === dirname(p)) return null;
  }
}
