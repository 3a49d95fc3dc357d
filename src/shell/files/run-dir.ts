// The runDir held open, checked before anything in it is read or written.
import { closeSync, constants, fstatSync, lstatSync, openSync, type Stats, statSync } from 'node:fs';
import type { NormalizedConfig } from '../../config/types.js';
import { ProcregError } from '../errors.js';
import { DirHandle, fileKind, openDirBelow, openDirPath, untrustedFile } from './safe-dir.js';

/** Mode of a runDir procreg creates, and of directories it creates inside for its own files. */
export const RUN_DIR_MODE = 0o700;

/**
 * A runDir opened with `openRunDir`: held by descriptor, so every file procreg writes or
 * removes inside it (PID files, output files, the event log and its temporary and torn files)
 * is reached through that descriptor, one component at a time, following no symlink.
 *
 * Open runDirs are known process-wide by their path: the path-based file functions
 * (`writePidFile`, `openOutputFile`, `LogWriter.open`, the log reader) find the runDir a path
 * lies in and go through its descriptor. A path outside every open runDir is reached by a
 * walk from `/` with the same checks (see `resolveParent`).
 */
export class RunDir {
  private static readonly byPath = new Map<string, RunDir>();
  private refs = 1;

  private constructor(
    /** The configured path (a symlink itself, where allowed). */
    readonly path: string,
    private handle: DirHandle,
    private readonly followLink: boolean,
  ) {}

  /** The directory's handle; after `reopen()` a new one. */
  get dir(): DirHandle {
    return this.handle;
  }

  /** The open runDir `path` lies in (the deepest one), and its path relative to it. */
  static containing(path: string): { runDir: RunDir; rel: string } | null {
    let best: RunDir | null = null;
    for (const [p, rd] of RunDir.byPath) {
      if (path.startsWith(`${p}/`) && (!best || p.length > best.path.length)) best = rd;
    }
    return best && { runDir: best, rel: path.slice(best.path.length + 1) };
  }

  /** @internal openRunDir's: one handle per path, counted. */
  static acquire(path: string, followLink: boolean): RunDir {
    const held = RunDir.byPath.get(path);
    if (held) {
      held.refs++;
      return held;
    }
    const rd = new RunDir(path, openRunDirPath(path, followLink), followLink);
    RunDir.byPath.set(path, rd);
    return rd;
  }

  /**
   * The runDir is no longer where it was opened: removed (`rm -rf`), or its path now names
   * another directory or nothing (renamed away). Its descriptor then leads to a directory
   * nobody else will look in.
   */
  isGone(): boolean {
    let held: ReturnType<typeof fstatSync>;
    try {
      held = this.handle.stat();
    } catch {
      return true;
    }
    if (held.nlink === 0) return true;
    try {
      const now = this.followLink ? statSync(this.path) : lstatSync(this.path);
      return now.ino !== held.ino || now.dev !== held.dev;
    } catch {
      return true;
    }
  }

  /** Open it afresh at its path, creating it (0700) if it is missing, with every check of `openRunDir`. */
  reopen(): void {
    const fresh = openRunDirPath(this.path, this.followLink);
    this.handle.close();
    this.handle = fresh;
  }

  /** Release one `openRunDir`; the descriptor is closed with the last. */
  close(): void {
    if (--this.refs > 0) return;
    this.handle.close();
    if (RunDir.byPath.get(this.path) === this) RunDir.byPath.delete(this.path);
  }
}

function openRunDirPath(path: string, followLink: boolean): DirHandle {
  return openDirPath(path, {
    what: `runDir ${path}`,
    code: 'ERUNDIR',
    create: RUN_DIR_MODE,
    follow: followLink ? 'all' : 'ancestors',
    last: 'private',
  });
}

/**
 * The one check before procreg reads or writes anything in its runDir: open the runDir
 * (creating it 0700), refusing — as root — one that another user owns or others can write,
 * or with such a directory anywhere above it (a root-owned sticky directory such as /tmp
 * excepted), or that is a symlink unless the config says `allowSymlinkedRunDir: true`. The
 * same for the event log (`eventLog`, or `options.eventLog` where it is written instead): the
 * directories above it, and the file itself if it exists — a regular file, root's, writable by
 * no one else. Returns the runDir held open (release it with `close()`); throws a
 * ProcregError: `ERUNDIR`, or for the event log `ELOGSYMLINK` / `ELOGNOTFILE`.
 */
export function openRunDir(config: NormalizedConfig, options: { readonly eventLog?: string } = {}): RunDir {
  const runDir = RunDir.acquire(config.runDir, config.allowSymlinkedRunDir === true);
  try {
    checkEventLog(options.eventLog ?? config.eventLog);
    return runDir;
  } catch (e) {
    runDir.close();
    throw e;
  }
}

/** The event log's directories and, if it exists, the file: as `openRunDir` says. */
export function checkEventLog(path: string): void {
  const { dir, name, release } = resolveParent(path, {
    what: `event log ${path}`,
    code: 'ERUNDIR',
    // Inside the runDir its directories are procreg's to make; elsewhere they must exist.
    create: RunDir.containing(path) ? RUN_DIR_MODE : undefined,
  });
  try {
    let fd: number;
    try {
      fd = openSync(dir.at(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      const st = lstatSync(dir.at(name), { throwIfNoEntry: false });
      if (code === 'ELOOP' || st?.isSymbolicLink())
        throw new ProcregError(
          'ELOGSYMLINK',
          `event log ${path} is a symbolic link; refusing to write through it (replace it with the file, or point eventLog at it)`,
        );
      if (st) throw notRegular(path, st);
      throw new ProcregError('ERUNDIR', `event log ${path}: cannot open it: ${code}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw notRegular(path, st);
      const why = untrustedFile(st, path);
      if (why) throw new ProcregError('ERUNDIR', `event log ${why}`);
    } finally {
      closeSync(fd);
    }
  } finally {
    release();
  }
}

/** The event log must be a regular file: a FIFO would block a reader, a device never end. */
export function notRegular(path: string, st: Stats): ProcregError {
  return new ProcregError(
    'ELOGNOTFILE',
    `event log ${path} is ${fileKind(st)}, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
  );
}

export interface ResolveOptions {
  /** Names the file in errors, e.g. `PID file /srv/run/web.pid`. */
  readonly what: string;
  readonly code: string;
  /** Create missing directories with this mode; default: none are created. */
  readonly create?: number;
}

/**
 * The directory a file at absolute `path` is in, held open, and the file's name in it. Inside
 * an open runDir: through the runDir's descriptor, one component at a time, no symlink
 * followed. Elsewhere: a walk from `/` (`openDirPath`: symlinks above the file's directory are
 * followed only through directories root can trust). `release()` when done.
 */
export function resolveParent(
  path: string,
  options: ResolveOptions,
): { dir: DirHandle; name: string; release: () => void } {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const name = parts.pop();
  if (!path.startsWith('/') || name === undefined || parts.includes('..'))
    throw new TypeError(`not a normalized absolute file path: ${path}`);
  const hit = RunDir.containing(path);
  if (hit) {
    const below = hit.rel.split('/').filter((p) => p !== '');
    below.pop();
    if (below.length === 0) return { dir: hit.runDir.dir, name, release: () => {} };
    const dir = openDirBelow(hit.runDir.dir, below, { ...options, follow: 'none', last: 'private' });
    return { dir, name, release: () => dir.close() };
  }
  const dir = openDirPath(`/${parts.join('/')}`, { ...options, follow: 'all', last: 'shared' });
  return { dir, name, release: () => dir.close() };
}
