// Users and groups as the system's name service knows them (getent: /etc/passwd, LDAP, ...).
import { execFileSync } from 'node:child_process';

/** A user's passwd entry, and the groups initgroups(3) would give it. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
  /** Its supplementary groups, its primary group included (`id -G`). */
  readonly groups: readonly number[];
}

/** How long an answer is reused: a spawn storm does not run getent hundreds of times. */
const CACHE_MS = 2_000;
const cache = new Map<string, { readonly at: number; readonly value: unknown }>();

function cached<T>(key: string, look: () => T): T {
  const hit = cache.get(key);
  const now = performance.now();
  if (hit && now - hit.at < CACHE_MS) return hit.value as T;
  const value = look();
  cache.set(key, { at: now, value });
  return value;
}

/** `getent <db> <key>`'s line, or null when there is no such entry (exit 2). */
function getent(db: 'passwd' | 'group', key: string): string | null {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', timeout: 5_000 }).split('\n')[0] ?? null;
  } catch (e) {
    if ((e as { status?: number }).status === 2) return null;
    throw new Error(`cannot look up ${db} entry ${key}: ${(e as Error).message}`);
  }
}

/** The account of a user name or numeric uid, or why not (the phrase after "user X"). */
export function lookUpUser(user: string): Account | { readonly error: string } {
  return cached(`u:${user}`, () => {
    const line = getent('passwd', user);
    if (line === null) return { error: `there is no user ${user} on this system (getent passwd ${user})` };
    const [name = user, , uid, gid, , home = '/', shell = '/bin/sh'] = line.split(':');
    let groups: number[] = [Number(gid)];
    try {
      groups = execFileSync('id', ['-G', name], { encoding: 'utf8', timeout: 5_000 })
        .trim()
        .split(/\s+/)
        .map(Number);
    } catch {
      // a uid without a name (`user: 4242`) has no supplementary groups to find
    }
    return { name, uid: Number(uid), gid: Number(gid), home, shell, groups };
  });
}

/** The gid of a group name or numeric gid, or why not. */
export function lookUpGroup(group: string): { readonly gid: number } | { readonly error: string } {
  return cached(`g:${group}`, () => {
    const line = getent('group', group);
    if (line === null) {
      // A numeric gid need not have a name to be used.
      if (/^\d+$/.test(group)) return { gid: Number(group) };
      return { error: `there is no group ${group} on this system (getent group ${group})` };
    }
    return { gid: Number(line.split(':')[2]) };
  });
}
