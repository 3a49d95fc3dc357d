import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openOutputFile } from '../../../src/shell/files/output-file.js';
import { staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

function open(path: string): number {
  const fd = openOutputFile(path);
  fds.push(fd);
  return fd;
}

/** The open flags of one of our descriptors, as the kernel reports them. */
const flagsOf = (fd: number) =>
  Number.parseInt(/flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? 'x', 8);

/** Our descriptors open on `path`: none may be left behind by a refusal. */
const openOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // the descriptor readdir itself used, closed meanwhile
    }
  });

const umask = process.umask();

describe('openOutputFile', () => {
  it('creates the file 0640 and its directories, open for appending, never through a symlink', () => {
    const dir = tmp();
    const path = join(dir, 'logs', 'web', 'web.out');
    const fd = open(path);
    expect(statSync(path).isFile()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~umask);
    expect(statSync(join(dir, 'logs')).mode & 0o777).toBe(0o750 & ~umask);
    expect(statSync(join(dir, 'logs', 'web')).mode & 0o777).toBe(0o750 & ~umask);
    const flags = flagsOf(fd);
    expect(flags & 0o3).toBe(constants.O_WRONLY); // the access mode bits
    expect(flags & constants.O_APPEND).toBe(constants.O_APPEND);
    expect(flags & constants.O_NOFOLLOW).toBe(constants.O_NOFOLLOW);
  });

  it('appends to what is there: two writers (stdout and stderr, or two incarnations) never overwrite each other', () => {
    const path = join(tmp(), 'web.out');
    writeFileSync(path, 'before\n');
    const a = open(path);
    const b = open(path);
    writeSync(a, 'a1\n');
    writeSync(b, 'b1\n');
    writeSync(a, 'a2\n', 0); // even at an explicit position: O_APPEND writes at the end
    expect(readFileSync(path, 'utf8')).toBe('before\na1\nb1\na2\n');
  });

  it('accepts a character device such as /dev/null', () => {
    const fd = open('/dev/null');
    expect(writeSync(fd, 'discarded\n')).toBe(10);
  });

  it('refuses a symlink in its place, dangling or not, and writes nothing through it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'target'), 'precious\n');
    symlinkSync(join(dir, 'target'), join(dir, 'web.out'));
    symlinkSync(join(dir, 'nothing'), join(dir, 'dangling.out'));
    for (const name of ['web.out', 'dangling.out']) {
      const path = join(dir, name);
      expect(() => openOutputFile(path)).toThrow(
        new Error(`output file ${path}: is a symlink, which procreg never writes through`),
      );
    }
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('precious\n');
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
    expect(openOn(join(dir, 'target'))).toEqual([]);
  });

  it('refuses a FIFO (without blocking on it), a directory and a socket, with the reason', async () => {
    const dir = tmp();
    const fifo = join(dir, 'fifo.out');
    execFileSync('mkfifo', [fifo]);
    const sub = join(dir, 'dir.out');
    mkdirSync(sub);
    const socket = join(dir, 'sock.out');
    await staleSocket(socket);
    for (const path of [fifo, sub, socket]) {
      expect(() => openOutputFile(path)).toThrow(
        new Error(`output file ${path}: not a regular file or character device`),
      );
      expect(openOn(path)).toEqual([]);
    }
  });

  it('names the path and what is in the way when it cannot be opened at all', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), '');
    const path = join(dir, 'file', 'web.out'); // its directory is a file
    const notDir = `${join(dir, 'file')} is not a directory`;
    expect(() => openOutputFile(path)).toThrow(new Error(`output file ${path}: ${notDir}`));
    const deeper = join(dir, 'file', 'logs', 'web.out'); // its directory would be inside a file
    expect(() => openOutputFile(deeper)).toThrow(new Error(`output file ${deeper}: ${notDir}`));
  });
});
