import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { ProcregError } from '../errors.js';
import { resolveParent } from './run-dir.js';
import { type DirHandle, DirWalkError } from './safe-dir.js';

// DESIGN.md invariant 4 and keepalived #2460: a PID file either does not exist or holds
// exactly `<pid>\n` of the live incarnation. It is written whole (temp file + rename in the
// same directory), never appended or truncated in place, never through a symlink, and removed
// only if it still names the exiting PID. Inside an open runDir every step goes through the
// runDir's descriptor (see run-dir.ts).
//
// No fsync, of the file or of its directory (issue 15). rename(2) makes the new content
// visible whole to every reader at once whether or not it is on disk: fsync adds nothing to
// what a reader sees while the machine runs. It only matters after a power loss or a kernel
// crash, and then every PID a PID file names is stale: no process survives a reboot, so no
// content, old, new or empty, would be right. procreg's next start treats what it finds as
// untrusted anyway: a file whose content is not exactly `<pid>\n` (empty, torn) names no
// process (readPidFile gives null) and is never removed as someone's, and each service's
// file is replaced by a rename when it starts again. The fsync cost a restart 0.3-3 ms on
// the journal of a busy disk, in the middle of the restart path.

export type PidFileErrorCode = 'EPIDSYMLINK' | 'EPIDNOTFILE' | 'EPIDIO';

export class PidFileError extends ProcregError {
  declare readonly code: PidFileErrorCode;
  constructor(
    code: PidFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(code, message);
  }
}

let tmpCounter = 0;

/**
 * The directory of a PID file, held open, and the file's name in it: inside an open runDir
 * through its descriptor (no symlink followed on the way), elsewhere by a checked walk from /.
 */
function parentOf(path: string): { dir: DirHandle; name: string; release: () => void } {
  return resolveParent(path, { what: `PID file ${path}`, code: 'EPIDIO' });
}

/** Replace the PID file at `path` with exactly `<pid>\n`, atomically for every reader. */
export function writePidFile(path: string, pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw new TypeError(`pid must be a positive integer, got ${pid}`);
  const { dir, name, release } = parentOf(path);
  try {
    writeIn(dir, name, path, pid);
  } finally {
    release();
  }
}

function writeIn(dir: DirHandle, name: string, path: string, pid: number): void {
  // What stands at the name is checked once, right before the rename (below): a check before
  // the temporary file too spared only a file created and removed again when refusing, and
  // cost every restart a system call before its PID file (issue 15).
  const tmpName = `.${name}.${process.pid}.${++tmpCounter}.tmp`;
  const tmp = dir.at(tmpName);
  let fd: number;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (e) {
    throw ioError(path, `cannot create a temporary file next to it (${tmpName})`, e);
  }
  try {
    fchmodSync(fd, 0o644); // whatever the umask: readable by the tools that read PID files
    const buf = Buffer.from(`${pid}\n`);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(tmp);
    throw ioError(path, 'cannot write the temporary file', e);
  }
  closeSync(fd);
  try {
    refuseLinkOrNonFile(dir.at(name), path); // right before the rename: the window between check and rename is ours only
    renameSync(tmp, dir.at(name));
  } catch (e) {
    unlinkQuietly(tmp);
    if (e instanceof PidFileError) throw e;
    throw ioError(path, 'cannot rename the temporary file into place', e);
  }
  // No fsync of the file or the directory: see the top of this file.
}

export type RemoveOutcome = 'removed' | 'not-owner' | 'absent';

/** Remove the PID file only if it still names `pid`: an older incarnation never removes a newer one's file. */
export function removePidFileIfOwned(path: string, pid: number): RemoveOutcome {
  const { dir, name, release } = parentOf(path);
  try {
    const current = readIn(dir, name, path);
    if (current === 'absent') return 'absent';
    if (current !== pid) return 'not-owner';
    try {
      unlinkSync(dir.at(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw ioError(path, 'cannot remove it', e);
    }
    return 'removed'; // no directory fsync, for the reason given at the top of this file
  } finally {
    release();
  }
}

/**
 * The PID a PID file names: a number, 'absent', or null when the content is not exactly one
 * line `<pid>\n` (anything else is not ours to trust). Never follows a symlink; a FIFO, socket,
 * device or directory in its place is refused (EPIDNOTFILE) without blocking on it.
 */
export function readPidFile(path: string): number | 'absent' | null {
  let parent: ReturnType<typeof parentOf>;
  try {
    parent = parentOf(path);
  } catch (e) {
    // No directory, no file. (A directory that cannot be trusted is still refused.)
    if (e instanceof DirWalkError && e.errno === 'ENOENT') return 'absent';
    throw e;
  }
  try {
    return readIn(parent.dir, parent.name, path);
  } finally {
    parent.release();
  }
}

function readIn(dir: DirHandle, name: string, path: string): number | 'absent' | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in its place must not block procreg (fstat then refuses it).
    fd = openSync(dir.at(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'ELOOP')
      throw new PidFileError(
        'EPIDSYMLINK',
        path,
        `PID file ${path} is a symbolic link; refusing to read through it`,
      );
    const st = lstatSync(dir.at(name), { throwIfNoEntry: false });
    if (st && !st.isFile()) throw notAFile(path);
    throw ioError(path, 'cannot open it', e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notAFile(path);
    const buf = Buffer.alloc(32);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const m = /^([1-9]\d{0,9})\n$/.exec(buf.subarray(0, n).toString('latin1'));
    return m ? Number(m[1]) : null;
  } finally {
    closeSync(fd);
  }
}

function refuseLinkOrNonFile(at: string, path: string): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(at);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(path, 'cannot inspect it', e);
  }
  if (st.isSymbolicLink()) {
    throw new PidFileError(
      'EPIDSYMLINK',
      path,
      `PID file ${path} is a symbolic link; refusing to write through or over it`,
    );
  }
  if (!st.isFile()) throw notAFile(path);
}

function notAFile(path: string): PidFileError {
  return new PidFileError('EPIDNOTFILE', path, `PID file ${path} exists and is not a regular file`);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function ioError(path: string, what: string, e: unknown): PidFileError {
  return new PidFileError('EPIDIO', path, `PID file ${path}: ${what}: ${(e as Error).message}`);
}
