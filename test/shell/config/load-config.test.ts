import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/schema.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
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
