import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDirOf } from '../../../src/shell/cli/run-dir-of.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

function file(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('runDirOf', () => {
  it('part 4: reads only runDir, resolved against the config file: the rest may be invalid', () => {
    const dir = tmp();
    const typo = file(
      dir,
      'a.yaml',
      'runDir: ./state\nservices:\n  web:\n    comand: [node]\n    restart: sometimes\n',
    );
    expect(runDirOf(typo)).toEqual({ ok: true, runDir: join(dir, 'state') });
    expect(runDirOf(file(dir, 'b.yaml', 'services: {}\n'))).toEqual({ ok: true, runDir: join(dir, 'run') });
    expect(runDirOf(file(dir, 'c.json', '{"runDir": "/srv/x", "services": 7}'))).toEqual({
      ok: true,
      runDir: '/srv/x',
    });
    // Duplicate keys are an error for `validate`, not for finding the runDir.
    expect(runDirOf(file(dir, 'd.yaml', 'runDir: ./r\nservices: {}\nservices: {}\n'))).toEqual({
      ok: true,
      runDir: join(dir, 'r'),
    });
  });

  it('names the file and what is wrong when even the runDir cannot be read', () => {
    const dir = tmp();
    expect(runDirOf(join(dir, 'none.yaml'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(
        new RegExp(`^${join(dir, 'none.yaml')}: cannot read the config file: ENOENT`),
      ),
    });
    const bad = file(dir, 'bad.yaml', 'runDir: [./run\n');
    expect(runDirOf(bad)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^.*bad\.yaml: not valid YAML: /),
    });
    expect(runDirOf(file(dir, 'n.yaml', 'runDir: 7\n'))).toEqual({
      ok: false,
      problem: `${join(dir, 'n.yaml')}: runDir: must be a string, got 7`,
    });
    expect(runDirOf(file(dir, 'l.yaml', '- a\n- b\n'))).toEqual({
      ok: false,
      problem: `${join(dir, 'l.yaml')}: not a mapping`,
    });
    mkdirSync(join(dir, 'sub.yaml'));
    expect(runDirOf(join(dir, 'sub.yaml'))).toEqual({
      ok: false,
      problem: `${join(dir, 'sub.yaml')}: not a regular file`,
    });
    // A FIFO is not read: it could block the command forever.
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    expect(runDirOf(join(dir, 'fifo.yaml'))).toEqual({
      ok: false,
      problem: `${join(dir, 'fifo.yaml')}: not a regular file`,
    });
  });
});
