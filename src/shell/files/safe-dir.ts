// Directories held open by descriptor, and the trust rules for them (keepalived CVE-2018-19046).
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { ProcregError } from '../errors.js';

/**
 * Node has no openat(2). A directory held open as descriptor N is reached again through the
 * magic link `/proc/self/fd/N`: the kernel jumps to that very directory whatever its path now
 * names, and resolves only `<name>` inside it. Every file procreg writes or removes inside its
 * runDir goes through such a path (one component at a time, each directory opened
 * O_DIRECTORY | O_NOFOLLOW), so a symlink or a renamed directory on the way cannot send a
 * write elsewhere.
 */
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** As the kernel's own limit (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/** A directory refused or not found on a walk; `errno` when the system said why (e.g. ENOENT). */
export class DirWalkError extends ProcregError {
  constructor(
    code: string,
    message: string,
    readonly errno: string | null = null,
  ) {
    super(code, message);
  }
}

/** A directory held open: names inside it are reached through its descriptor, never by its path again. */
export class DirHandle {
  constructor(
    /** The path it was opened by, for messages. */
    readonly path: string,
    private descriptor: number,
  ) {}

  get fd(): number {
    if (this.descriptor < 0) throw new Error(`directory ${this.path}: its handle is closed`);
    return this.descriptor;
  }

  /** A path that names `name` inside exactly this directory (one component: no `/`, `.` or `..`). */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/'))
      throw new TypeError(`not a single file name: ${JSON.stringify(name)}`);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  stat(): Stats {
    return fstatSync(this.fd);
  }

  close(): void {
    if (this.descriptor < 0) return;
    closeSync(this.descriptor);
    this.descriptor = -1;
  }
}

export interface WalkOptions {
  /** Names the walk in errors, e.g. `runDir /srv/app/run`. */
  readonly what: string;
  /** ProcregError code of a failure to open (ENOENT, EACCES, ...); an untrusted directory is always ERUNDIR. */
  readonly code: string;
  /** Create missing directories with this mode (as `mkdir -p`); default: a missing one is an error. */
  readonly create?: number;
  /**
   * Whether a symbolic link may be followed: `ancestors` (above the last component; the last
   * must be a real directory), `all`, or `none` (inside the runDir: nothing is followed).
   */
  readonly follow: 'none' | 'ancestors' | 'all';
  /**
   * How strict the trust check is for the last directory (as root): `private` — owned by root
   * and writable by no one else, sticky or not (the runDir and the directories inside it);
   * `shared` — a root-owned sticky directory such as /tmp is also accepted (the directory
   * holding a file outside the runDir). Directories above it are always checked as `shared`.
   */
  readonly last: 'private' | 'shared';
}

/**
 * Open the directory at absolute `path` from `/`, one component at a time, each with
 * O_DIRECTORY | O_NOFOLLOW: a symlink is seen, never silently followed. Where `follow` allows,
 * its target is walked the same way (every directory it passes through checked too). As root,
 * every directory from `/` down must be owned by root and writable by no one else — a sticky
 * root-owned directory such as /tmp excepted where allowed — or another user could rename or
 * replace what procreg then writes as root (keepalived CVE-2018-19046). Throws a ProcregError
 * with `options.code` naming the directory and why.
 */
export function openDirPath(path: string, options: WalkOptions): DirHandle {
  if (!path.startsWith('/')) throw new TypeError(`not an absolute path: ${path}`);
  const root = openRoot(options);
  return new DirHandle(path, walk(root, path.split('/'), options));
}

/**
 * Open `parts` below the directory `base` (a runDir): no symlink is ever followed, each
 * directory is checked as `private`. `base` stays open and is the caller's.
 */
export function openDirBelow(base: DirHandle, parts: readonly string[], options: WalkOptions): DirHandle {
  const path = [base.path, ...parts].join('/');
  return new DirHandle(path, walk({ fd: base.fd, real: base.path, owned: false }, parts, options));
}

interface Held {
  readonly fd: number;
  /** Where it is, symlinks resolved: what errors name. */
  readonly real: string;
  /** Whether the walk opened it (and closes it when moving on). */
  readonly owned: boolean;
}

function openRoot(options: WalkOptions): Held {
  let fd: number;
  try {
    fd = openSync('/', O_DIR);
  } catch (e) {
    throw refuse(options, `cannot open /: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    lstatSync(`/proc/self/fd/${fd}`);
  } catch {
    closeSync(fd);
    throw refuse(
      options,
      'procreg needs /proc mounted: it reaches files inside a directory through /proc/self/fd/<descriptor>',
    );
  }
  const why = untrustedDir(fstatSync(fd), '/', 'shared');
  if (why) {
    closeSync(fd);
    throw distrust(options, why);
  }
  return { fd, real: '/', owned: true };
}

function walk(start: Held, parts: readonly string[], options: WalkOptions): number {
  let cur = start;
  const queue = parts.filter((p) => p !== '' && p !== '.');
  let hops = 0;
  const moveTo = (fd: number, real: string) => {
    if (cur.owned) closeSync(cur.fd);
    cur = { fd, real, owned: true };
  };
  try {
    while (queue.length > 0) {
      const name = queue.shift() as string;
      const last = queue.length === 0;
      if (name === '..') {
        // Only from a symlink's target: the real parent of where the walk stands.
        if (options.follow === 'none') throw refuse(options, `${cur.real}: ".." is not allowed here`);
        const fd = openSync(`/proc/self/fd/${cur.fd}/..`, O_DIR);
        const real = cur.real === '/' ? '/' : cur.real.slice(0, cur.real.lastIndexOf('/')) || '/';
        moveTo(fd, real);
        continue;
      }
      const shown = cur.real === '/' ? `/${name}` : `${cur.real}/${name}`;
      const at = `/proc/self/fd/${cur.fd}/${name}`;
      let fd: number;
      try {
        fd = openSync(at, O_DIR);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && options.create !== undefined) {
          try {
            mkdirSync(at, options.create);
          } catch (m) {
            const mcode = (m as NodeJS.ErrnoException).code;
            if (mcode !== 'EEXIST') throw refuse(options, `cannot create ${shown}: ${mcode}`, mcode);
          }
          queue.unshift(name); // open it now (or see what raced in)
          continue;
        }
        if (code === 'ENOTDIR' || code === 'ELOOP') {
          const st = lstatSync(at, { throwIfNoEntry: false });
          if (!st?.isSymbolicLink()) throw refuse(options, `${shown} is not a directory`);
          const mayFollow = options.follow === 'all' || (options.follow === 'ancestors' && !last);
          if (!mayFollow) throw distrust(options, symlinkRefusal(options, shown, last));
          if (++hops > MAX_SYMLINKS) throw refuse(options, `${shown}: too many levels of symbolic links`);
          const target = readlinkSync(at);
          if (target.startsWith('/')) moveTo(openSync('/', O_DIR), '/');
          queue.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
          continue;
        }
        throw refuse(options, `cannot open ${shown}: ${code}`, code);
      }
      const why = untrustedDir(fstatSync(fd), shown, last ? options.last : 'shared');
      if (why) {
        closeSync(fd);
        throw distrust(options, why);
      }
      moveTo(fd, shown);
    }
    if (!cur.owned) return openSync(`/proc/self/fd/${cur.fd}`, O_DIR & ~constants.O_NOFOLLOW); // a copy: the base stays the caller's
    return cur.fd;
  } catch (e) {
    if (cur.owned) closeSync(cur.fd);
    if (e instanceof ProcregError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(options, `cannot open it: ${code ?? (e as Error).message}`, code);
  }
}

function symlinkRefusal(options: WalkOptions, shown: string, last: boolean): string {
  if (options.follow === 'none')
    return `${shown} is a symbolic link; procreg follows none inside its runDir (replace it with a directory)`;
  return last
    ? `${shown} is a symbolic link; refused (set allowSymlinkedRunDir: true to follow it, or name the real directory)`
    : `${shown} is a symbolic link`;
}

function refuse(options: WalkOptions, why: string, errno?: string): DirWalkError {
  return new DirWalkError(options.code, `${options.what}: ${why}`, errno ?? null);
}

/**
 * A directory on the way that procreg must not trust (another user's, writable by others, a
 * symlink where none may be): ERUNDIR whatever file was being reached, so that the one code
 * says "fix the directories" (and the CLI exits 2) for the runDir, the log and PID files alike.
 */
function distrust(options: WalkOptions, why: string): DirWalkError {
  return new DirWalkError('ERUNDIR', `${options.what}: ${why}`);
}

/** procreg checks ownership only as root: it writes as root only there. */
export const checksOwnership = (): boolean => process.geteuid?.() === 0;

/**
 * Why root must not trust this directory, or null: owned by another user, or writable by group
 * or others (other than a root-owned sticky directory, where allowed: others cannot rename or
 * remove what they do not own there).
 */
export function untrustedDir(st: Stats, path: string, rule: 'private' | 'shared'): string | null {
  if (!checksOwnership()) return null;
  const mode = st.mode & 0o7777;
  if (st.uid !== 0)
    return `${path} is owned by ${userName(st.uid)}, not root: that user could replace what procreg writes below it as root; refused (chown root it, or choose another directory)`;
  const sticky = (mode & 0o1000) !== 0;
  if ((mode & 0o022) !== 0 && !(rule === 'shared' && sticky))
    return `${path} is writable by ${writers(mode)} (mode ${octal(mode)}): they could replace what procreg writes below it as root; refused (chmod go-w it, or choose another directory)`;
  return null;
}

/** Why root must not trust this file (the event log), or null: another user's, or writable by others. */
export function untrustedFile(st: Stats, path: string): string | null {
  if (!checksOwnership()) return null;
  const mode = st.mode & 0o7777;
  if (st.uid !== 0)
    return `${path} is owned by ${userName(st.uid)}, not root: that user could rewrite what procreg reads back; refused (chown root it, or move it aside)`;
  if ((mode & 0o022) !== 0)
    return `${path} is writable by ${writers(mode)} (mode ${octal(mode)}); refused (chmod go-w it, or move it aside)`;
  return null;
}

/** What kind of file `st` is, in words, for "X is a FIFO, not a regular file". */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');
const writers = (mode: number) =>
  [mode & 0o020 ? 'group' : '', mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');

/** `uid 65534 (nobody)`, from /etc/passwd where it says. */
function userName(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    const name = line?.split(':')[0];
    return name ? `uid ${uid} (${name})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}
