import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirHandle, openDirBelow, openDirPath, type WalkOptions } from '../../../src/shell/files/safe-dir.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

const runDirRules: WalkOptions = { what: 'runDir', code: 'ERUNDIR', follow: 'ancestors', last: 'private' };

/** Open, and close again: what the walk says about `path`. */
function verdict(path: string, options: WalkOptions = runDirRules): string {
  try {
    openDirPath(path, options).close();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('openDirPath: a directory opened from / one component at a time', () => {
  it('holds the directory itself: renaming its path afterwards changes nothing for what is opened through it', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'run'));
    const h = openDirPath(join(dir, 'run'), runDirRules);
    try {
      writeFileSync(h.at('a'), 'x');
      expect(readdirSync(join(dir, 'run'))).toEqual(['a']);
    } finally {
      h.close();
    }
  });

  it('creates what is missing with the mode given (as mkdir -p)', () => {
    const dir = tmp();
    const h = openDirPath(join(dir, 'a', 'b'), { ...runDirRules, create: 0o700 });
    h.close();
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
  });

  it('refuses a symlink as the last component, follows one above it, and with follow "all" follows both', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'real', 'run'), { recursive: true });
    symlinkSync('real', join(dir, 'up')); // relative target
    symlinkSync(join(dir, 'real', 'run'), join(dir, 'run'));
    expect(verdict(join(dir, 'up', 'run'))).toBe('ok');
    expect(verdict(join(dir, 'run'))).toBe(
      `runDir: ${join(dir, 'run')} is a symbolic link; refused (set allowSymlinkedRunDir: true to follow it, or name the real directory)`,
    );
    expect(verdict(join(dir, 'run'), { ...runDirRules, follow: 'all' })).toBe('ok');
    symlinkSync('../real/run', join(dir, 'real', 'loop')); // '..' in a target: the real parent
    expect(verdict(join(dir, 'real', 'loop'), { ...runDirRules, follow: 'all' })).toBe('ok');
  });

  it('says what is in the way when a component is not a directory', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), '');
    expect(verdict(join(dir, 'file', 'run'))).toBe(`runDir: ${join(dir, 'file')} is not a directory`);
  });

  describe.runIf(asRoot)(
    'as root, every directory from / down must be trusted (keepalived CVE-2018-19046)',
    () => {
      it('refuses a directory another user owns, above the runDir or the runDir itself, naming it and why', () => {
        const dir = tmp();
        const theirs = join(dir, 'theirs');
        mkdirSync(join(theirs, 'run'), { recursive: true, mode: 0o755 });
        chownSync(theirs, NOBODY, NOBODY);
        expect(verdict(join(theirs, 'run'))).toBe(
          `runDir: ${theirs} is owned by uid 65534 (nobody), not root: that user could replace what procreg writes below it as root; refused (chown root it, or choose another directory)`,
        );
        const mine = join(dir, 'mine');
        mkdirSync(mine);
        chownSync(mine, NOBODY, NOBODY);
        expect(verdict(mine)).toMatch(/is owned by uid 65534 \(nobody\), not root/);
      });

      it('refuses a directory others may write, unless it is a sticky root-owned one (like /tmp) above the last', () => {
        const dir = tmp();
        const shared = join(dir, 'shared');
        mkdirSync(join(shared, 'run'), { recursive: true });
        chmodSync(shared, 0o775);
        expect(verdict(join(shared, 'run'))).toBe(
          `runDir: ${shared} is writable by group (mode 0775): they could replace what procreg writes below it as root; refused (chmod go-w it, or choose another directory)`,
        );
        chmodSync(shared, 0o1777);
        expect(verdict(join(shared, 'run'))).toBe('ok'); // /tmp-like: others cannot replace root's run
        expect(verdict(shared)).toMatch(/is writable by group and others \(mode 1777\)/); // but not as the runDir
        expect(verdict(shared, { ...runDirRules, last: 'shared' })).toBe('ok'); // ...or where a file sits
      });

      it('checks where a symlink leads too: a root-owned link into another user’s directory is refused', () => {
        const dir = tmp();
        mkdirSync(join(dir, 'theirs', 'run'), { recursive: true });
        chownSync(join(dir, 'theirs'), NOBODY, NOBODY);
        symlinkSync(join(dir, 'theirs'), join(dir, 'link'));
        expect(verdict(join(dir, 'link', 'run'))).toMatch(
          new RegExp(`^runDir: ${join(dir, 'theirs')} is owned by uid 65534`),
        );
      });
    },
  );
});

describe('openDirBelow: inside a runDir nothing is followed', () => {
  it('refuses a symlinked directory, and creates missing ones with the mode given', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'elsewhere'));
    const run = openDirPath(dir, runDirRules);
    try {
      symlinkSync(join(dir, 'elsewhere'), join(dir, 'logs'));
      expect(() => openDirBelow(run, ['logs'], { ...runDirRules, follow: 'none' })).toThrow(
        `runDir: ${dir}/logs is a symbolic link; procreg follows none inside its runDir (replace it with a directory)`,
      );
      const made = openDirBelow(run, ['a', 'b'], { ...runDirRules, follow: 'none', create: 0o750 });
      made.close();
      expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o750 & ~process.umask());
    } finally {
      run.close();
    }
  });
});

describe('DirHandle.at', () => {
  it('names exactly one entry of the directory', () => {
    const h = new DirHandle('/x', 7);
    expect(h.at('web.pid')).toBe('/proc/self/fd/7/web.pid');
    for (const bad of ['', '.', '..', 'a/b', '/etc'])
      expect(() => h.at(bad)).toThrow(/not a single file name/);
  });
});
