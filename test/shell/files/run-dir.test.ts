import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { writePidFile } from '../../../src/shell/files/pidfile.js';
import { openRunDir, RunDir } from '../../../src/shell/files/run-dir.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

function config(dir: string, raw: Record<string, unknown> = {}): NormalizedConfig {
  const res = normalizeConfig({ runDir: './run', ...raw }, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

describe('openRunDir', () => {
  it('creates the runDir 0700 and holds it, once per path however often it is opened', () => {
    const dir = tmp();
    const a = openRunDir(config(dir));
    const b = openRunDir(config(dir));
    expect(b).toBe(a);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
    expect(RunDir.containing(join(dir, 'run', 'web.pid'))).toEqual({ runDir: a, rel: 'web.pid' });
    a.close();
    expect(RunDir.containing(join(dir, 'run', 'web.pid'))?.runDir).toBe(a); // b still holds it
    b.close();
    expect(RunDir.containing(join(dir, 'run', 'web.pid'))).toBeNull();
  });

  it('writes inside the directory it opened, whatever the path names later; isGone() says when they differ', () => {
    const dir = tmp();
    const rd = openRunDir(config(dir));
    try {
      expect(rd.isGone()).toBe(false);
      renameSync(join(dir, 'run'), join(dir, 'run.old'));
      mkdirSync(join(dir, 'run'), { mode: 0o700 }); // someone else's directory at the path now
      expect(rd.isGone()).toBe(true);
      writePidFile(join(dir, 'run', 'web.pid'), 42); // never into the stranger
      expect(readdirSync(join(dir, 'run'))).toEqual([]);
      expect(readFileSync(join(dir, 'run.old', 'web.pid'), 'utf8')).toBe('42\n');
      rd.reopen(); // at its path again, checked as at the start
      expect(rd.isGone()).toBe(false);
      writePidFile(join(dir, 'run', 'web.pid'), 43);
      expect(readFileSync(join(dir, 'run', 'web.pid'), 'utf8')).toBe('43\n');
    } finally {
      rd.close();
    }
  });

  it('notices a removed runDir and re-creates it 0700', () => {
    const dir = tmp();
    const rd = openRunDir(config(dir));
    try {
      rmSync(join(dir, 'run'), { recursive: true });
      expect(rd.isGone()).toBe(true);
      rd.reopen();
      expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
      expect(rd.isGone()).toBe(false);
    } finally {
      rd.close();
    }
  });

  it('refuses an event log (a Supervisor option) outside the runDir whose directory does not exist, creating nothing', () => {
    const dir = tmp();
    const log = join(dir, 'nowhere', 'events.jsonl');
    expect(() => openRunDir(config(dir), { eventLog: log })).toThrow(
      expect.objectContaining({
        code: 'ERUNDIR',
        message: `event log ${log}: cannot open ${join(dir, 'nowhere')}: ENOENT`,
      }),
    );
    expect(readdirSync(dir)).toEqual(['run']); // the runDir is made first; its handle was released
    expect(RunDir.containing(join(dir, 'run', 'x'))).toBeNull();
  });
});
