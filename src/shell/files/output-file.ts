import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Open a service's output file for appending, the way the child will write it: O_APPEND so
 * concurrent writers (stdout and stderr, or several incarnations) never overwrite each other,
 * O_NOFOLLOW so it is never written through a symlink, created 0640 with its directory.
 * Each incarnation opens it afresh, so a file rotated away (renamed) is replaced at the next
 * start. Only regular files and character devices (e.g. /dev/null) are accepted: a FIFO
 * would block the open, a socket or directory cannot be written.
 *
 * Returns the descriptor; throws an Error whose message names the path and the reason.
 */
export function openOutputFile(path: string): number {
  const refuse = (why: string) => new Error(`output file ${path}: ${why}`);
  const symlink = 'is a symlink, which procreg never writes through';
  const notFile = 'not a regular file or character device';
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const before = lstatSync(path, { throwIfNoEntry: false });
    if (before?.isSymbolicLink()) throw refuse(symlink);
    if (before && !before.isFile() && !before.isCharacterDevice()) throw refuse(notFile);
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o640,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e; // one of ours
    throw refuse(code === 'ELOOP' ? symlink : code);
  }
  const st = fstatSync(fd); // what was opened, should the path have changed after the lstat
  if (!st.isFile() && !st.isCharacterDevice()) {
    closeSync(fd);
    throw refuse(notFile);
  }
  return fd;
}
