// Which process holds a listening unix socket: /proc/net/unix and /proc/<pid>/fd.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** __SO_ACCEPTCON in /proc/net/unix's Flags column: the socket listens. */
const ACCEPTCON = 0x10000;

/**
 * The inode of the socket listening on the abstract address `name` (without its leading NUL),
 * from /proc/net/unix — which lists the sockets of the reader's network namespace — or null
 * when none listens there. `name` is compared whole: Node binds a shorter abstract name padded
 * with NULs to the length of sun_path (shown as `@` there), so procreg's names fill it.
 */
export function listeningInode(name: string, procRoot = '/proc'): number | null {
  let table: string;
  try {
    table = readFileSync(`${procRoot}/net/unix`, 'latin1');
  } catch {
    return null;
  }
  const want = `@${name}`;
  for (const line of table.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8 || cols.slice(7).join(' ') !== want) continue;
    const flags = Number.parseInt(cols[3] as string, 16);
    const inode = Number(cols[6]);
    if ((flags & ACCEPTCON) !== 0 && Number.isSafeInteger(inode) && inode > 0) return inode;
  }
  return null;
}

/**
 * Whether process `pid` has socket `inode` among its open descriptors: true, false, or
 * 'unknown' when its /proc/<pid>/fd cannot be read (another user's process, without root).
 */
export function holdsSocket(pid: number, inode: number, procRoot = '/proc'): boolean | 'unknown' {
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'unknown' : false;
  }
  const want = `socket:[${inode}]`;
  for (const fd of fds) {
    try {
      if (readlinkSync(`${procRoot}/${pid}/fd/${fd}`) === want) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/**
 * Every process that holds socket `inode`, by a scan of /proc/<pid>/fd (at most `limit`
 * processes reported). Used to name the holder of a lock that does not say who it is.
 */
export function socketHolders(inode: number, limit = 8, procRoot = '/proc'): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    if (holdsSocket(Number(p), inode, procRoot) === true) out.push(Number(p));
    if (out.length >= limit) break;
  }
  return out;
}
