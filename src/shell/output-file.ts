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
 * Returns the descriptor, or a message naming the path and the reason.
 */
export function openOutputFile(path: string): number | string {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const before = lstatSync(path, { throwIfNoEntry: false });
    if (before?.isSymbolicLink()) return symlink(path);
    if (before && !before.isFile() && !before.isCharacterDevice())
      return `output file ${path}: not a regular file or character device`;
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o640,
    );
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isCharacterDevice()) {
      closeSync(fd);
      return `output file ${path}: not a regular file or character device`;
    }
    return fd;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return symlink(path);
    return `output file ${path}: ${code ?? (e as Error).message}`;
  }
}

function symlink(path: string): string {
  return `output file ${path}: is a symlink, which procreg never writes through`;
}
