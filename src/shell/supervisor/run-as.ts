// Starting a process as another user, with its groups, umask and resource limits. Node's spawn
// can set a uid and gid but clears the supplementary groups and has no umask or rlimits, so
// the settings are applied between fork and exec by util-linux's prlimit and setpriv (and a
// shell's `umask`), each of which execs the next: the PID procreg gets is the service's.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { LimitName, LimitPair, RunAs } from '../../config/run-as.js';
import { type Account, lookUpGroup, lookUpUser } from '../config/accounts.js';
import { inheritedEnv } from '../proc/environment.js';
import { DEFAULT_PATH, findExecutable } from '../proc/executable.js';

/** What a spawn needs: the argv to put before the command, the whole environment, and whose it is. */
export interface Launch {
  /** prlimit / setpriv / sh words run before the command; empty when nothing is to be set. */
  readonly wrapper: readonly string[];
  /** The child's whole environment. */
  readonly env: Readonly<Record<string, string>>;
  /** The uid it runs as (script security accepts its files), null: procreg's. */
  readonly uid: number | null;
}

/** Where the helpers are looked for: root's directories only, never the config's PATH. */
const HELPER_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
const helperPaths = new Map<string, string | null>();

/** The absolute path of a util-linux helper, or null when it is not installed. */
export function helper(name: 'prlimit' | 'setpriv' | 'sh'): string | null {
  if (!helperPaths.has(name)) {
    const found = HELPER_DIRS.map((d) => join(d, name)).find((p) =>
      statSync(p, { throwIfNoEntry: false })?.isFile(),
    );
    helperPaths.set(name, found ?? null);
  }
  return helperPaths.get(name) ?? null;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * How to start a process with `runAs` and `env` (a def's envFile values and env): the wrapper,
 * the environment, the uid; or why it cannot be (a user or group that does not exist, procreg
 * not root, a helper missing), as a phrase naming the field.
 */
export function launchOf(
  runAs: RunAs,
  env: Readonly<Record<string, string>>,
  where: string,
): Launch | { error: string } {
  let account: Account | null = null;
  if (runAs.user !== null) {
    const a = lookUpUser(runAs.user);
    if ('error' in a) return { error: `${where}.user: ${a.error}` };
    account = a;
  }
  let gid: number | null = null;
  if (runAs.group !== null) {
    const g = lookUpGroup(runAs.group);
    if ('error' in g) return { error: `${where}.group: ${g.error}` };
    gid = g.gid;
  }
  // procreg's environment is kept between spawns while nothing changes it (./environment.ts).
  const base = runAs.inheritEnv ? inheritedEnv() : { PATH: DEFAULT_PATH };
  const childEnv = account
    ? {
        ...base,
        HOME: account.home,
        USER: account.name,
        LOGNAME: account.name,
        SHELL: account.shell,
        ...env,
      }
    : { ...base, ...env };

  const wrapper: string[] = [];
  const limits = Object.entries(runAs.limits) as [LimitName, LimitPair][];
  if (limits.length > 0) {
    const prlimit = helper('prlimit');
    if (!prlimit)
      return { error: `${where}.limits: needs prlimit (util-linux), not found in ${HELPER_DIRS.join(':')}` };
    wrapper.push(prlimit, ...limits.map(([name, p]) => `--${name}=${p.soft}:${p.hard}`), '--');
  }
  const switching = needsSwitch(account, gid);
  if (switching) {
    if (!isRoot())
      return {
        error: `${where}.${account ? 'user' : 'group'}: procreg must run as root to start a process as another user or group`,
      };
    const setpriv = helper('setpriv');
    if (!setpriv)
      return { error: `${where}.user: needs setpriv (util-linux), not found in ${HELPER_DIRS.join(':')}` };
    wrapper.push(setpriv);
    if (account) {
      wrapper.push(`--reuid=${account.uid}`, `--regid=${gid ?? account.gid}`, '--init-groups');
    } else wrapper.push(`--regid=${gid}`, '--clear-groups');
    wrapper.push('--');
  }
  if (runAs.umask !== null) {
    const sh = helper('sh');
    if (!sh) return { error: `${where}.umask: needs /bin/sh` };
    // The umask as an argument, never in the script text: nothing of the config is parsed by the shell.
    wrapper.push(sh, '-c', 'umask "$0" && exec "$@"', runAs.umask.toString(8).padStart(4, '0'));
  }
  return { wrapper, env: childEnv, uid: account ? account.uid : null };
}

/** Whether the process must change user or group: not when they already are procreg's own. */
function needsSwitch(account: Account | null, gid: number | null): boolean {
  const uid = process.getuid?.();
  const ownGid = process.getgid?.();
  if (account && account.uid !== uid) return true;
  if (account && (gid ?? account.gid) !== ownGid) return true;
  return gid !== null && gid !== ownGid;
}

/**
 * Before a wrapped start: the program must exist and be executable where the last helper will
 * look for it, or the helper would fail after the fork and the failure look like a crash.
 */
export function programProblem(
  command: readonly string[],
  cwd: string | null,
  env: Readonly<Record<string, string>>,
): string | null {
  const found = findExecutable(command[0] as string, cwd ?? process.cwd(), env.PATH);
  return 'error' in found ? `cannot start ${command[0] as string}: ${found.error}` : null;
}
