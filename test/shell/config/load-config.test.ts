import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/schema.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { spawnChild } from '../../../src/shell/supervisor/children.js';
import { waitFor } from '../../support/wait.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

function file(name: string, text: string): string {
  const path = join(tmp(), name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfigFile', () => {
  it('reads YAML, resolves relative paths against the file, and normalizes', () => {
    const path = file(
      'app.yaml',
      'runDir: ./run\nservices:\n  web:\n    command: [node, s.js]\n    cwd: app\n    env: { FLAG: on }\n',
    );
    const res = loadConfigFile(path);
    if (!res.ok) throw new Error(res.problems.map((p) => formatProblem(p)).join('\n'));
    const dir = join(path, '..');
    expect(res.config.runDir).toBe(join(dir, 'run'));
    expect(res.config.services.web).toMatchObject({
      cwd: join(dir, 'app'),
      env: { FLAG: 'on' },
      pidFile: join(dir, 'run', 'web.pid'),
    });
  });

  it("runs a relative program from the config's directory by default, not procreg's working directory", async () => {
    const home = tmp();
    mkdirSync(join(home, 'bin'));
    const script = join(home, 'bin', 'where.sh');
    writeFileSync(script, '#!/bin/sh\npwd > where.out\n');
    chmodSync(script, 0o755);
    const path = join(home, 'procreg.yaml');
    writeFileSync(path, 'services:\n  where: { command: [bin/where.sh] }\n');
    const res = loadConfigFile(path);
    if (!res.ok) throw new Error(res.problems.map((p) => formatProblem(p)).join('\n'));
    const def = res.config.services.where;
    expect(def).toMatchObject({ command: [script], cwd: home });
    // The spawn, from another working directory, runs that same file in that same directory.
    const before = process.cwd();
    process.chdir(tmp());
    let code: number | null | undefined;
    try {
      const started = spawnChild(
        { command: def?.command ?? [], cwd: def?.cwd ?? null, env: {}, stdout: null, stderr: null },
        { onLine: () => {}, onExit: (c) => (code = c) },
      );
      expect(started).toHaveProperty('pid');
    } finally {
      process.chdir(before);
    }
    expect(await waitFor('where.sh to exit', () => code)).toBe(0);
    expect(readFileSync(join(home, 'where.out'), 'utf8').trim()).toBe(home);
  });

  it('reads JSON by extension', () => {
    const res = loadConfigFile(file('app.json', '{"services": {"a": {"command": ["x"]}}}'));
    expect(res.ok).toBe(true);
  });

  it.each([
    [
      'dup.yaml',
      'services:\n  a: { command: [x] }\n  a: { command: [y] }\n',
      /dup\.yaml:3:3: not valid YAML: Map keys must be unique/,
    ],
    ['flow.yml', 'services: [1, 2\n', /flow\.yml:2:1: not valid YAML:/],
    ['empty.yaml', '\n', /empty\.yaml: the config file is empty/],
    ['bad.json', '{"services": }', /bad\.json: not valid JSON:/],
    ['top.yaml', '- a\n- b\n', /top\.yaml: \(top level\): must be a mapping, got \["a","b"\] \(array\)/],
  ])('names the file and the place for %s', (name, text, message) => {
    const res = loadConfigFile(file(name, text));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems.map((p) => formatProblem(p)).join('\n')).toMatch(message);
  });

  it('reports a missing file without throwing', () => {
    const res = loadConfigFile(join(tmp(), 'none.yaml'));
    expect(res).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({ message: expect.stringMatching(/cannot read the config file: ENOENT/) }),
      ],
    });
  });
});
