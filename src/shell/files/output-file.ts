import { closeSync, constants, fstatSync, lstatSync, openSync } from 'node:fs';
import { ProcregError } from '../errors.js';
import { resolveParent } from './run-dir.js';

/** Mode of the directories procreg creates for output files. */
const OUTPUT_DIR_MODE = 0o750;

/**
 * Open a service's output file for appending, the way the child will write it: O_APPEND so
 * concurrent writers (stdout and stderr, or several incarnations) never overwrite each other,
 * O_NOFOLLOW so it is never written through a symlink, created 0640 with its directories.
 * Inside an open runDir every directory on the way is opened (or created) through the
 * runDir's descriptor, one component at a time, none of them followed if it is a symlink.
 * Each incarnation opens it afresh, so a file rotated away (renamed) is replaced at the next
 * start. Only regular files and character devices (e.g. /dev/null) are accepted: it is opened
 * O_NONBLOCK and checked with fstat before use, so a FIFO never blocks procreg, and a socket,
 * directory or block device is refused.
 *
 * Returns the descriptor; throws an Error whose message names the path and the reason.
 */
export function openOutputFile(path: string): number {
  const refuse = (why: string) => new Error(`output file ${path}: ${why}`);
  const symlink = 'is a symlink, which procreg never writes through';
  const notFile = 'not a regular file or character device';
  let parent: ReturnType<typeof resolveParent>;
  try {
    parent = resolveParent(path, { what: `output file ${path}`, code: 'EOUTPUT', create: OUTPUT_DIR_MODE });
  } catch (e) {
    if (e instanceof ProcregError) throw new Error(e.message); // names the directory and why
    throw e;
  }
  const { dir, name, release } = parent;
  let fd: number;
  try {
    fd = openSync(
      dir.at(name),
      constants.O_WRONLY |
        constants.O_APPEND |
        constants.O_CREAT |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK,
      0o640,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const st = lstatSync(dir.at(name), { throwIfNoEntry: false });
    release();
    if (code === 'ELOOP' || st?.isSymbolicLink()) throw refuse(symlink);
    // A FIFO without a reader or a socket (ENXIO), a directory (EISDIR): not ours to write.
    if (st && !st.isFile() && !st.isCharacterDevice()) throw refuse(notFile);
    throw refuse(code ?? (e as Error).message);
  }
  try {
    const st = fstatSync(fd); // what was opened, whatever the path names by now
    if (st.isFile()) return fd; // O_NONBLOCK means nothing for a regular file
    if (!st.isCharacterDevice()) throw refuse(notFile);
    // A terminal must not be handed to the child non-blocking: the same device, reopened.
    const blocking = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_APPEND);
    closeSync(fd);
    return blocking;
  } catch (e) {
    closeSync(fd);
    throw e;
  } finally {
    release();
  }
}
