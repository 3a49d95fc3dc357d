import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg } from '../../support/cli.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

describe('procreg validate', () => {
  it('accepts the bundled demo config', async () => {
    const r = await procreg('validate', 'examples/demo.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('examples/demo.yaml: valid');
    expect(r.stdout).toContain('services (3): clock, flaky, web');
  });

  it('exits 2 listing every error with the file, the field, the value and what is allowed', async () => {
    const path = join(tmp(), 'bad.yaml');
    writeFileSync(path, 'services:\n  web:\n    command: node\n    restart: sometimes\n    colour: blue\n');
    const r = await procreg('validate', path);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `${path}: services.web.colour: unknown key; allowed: command, cwd, env, restart, backoff, maxRestarts, stopSignal, stopTimeout, pidFile, fatalExitCodes, stdout, stderr, got "blue" (string)`,
      `${path}: services.web.command: must be a non-empty list of strings (argv; no shell unless you write one, e.g. [sh, -c, "..."]), got "node" (string)`,
      `${path}: services.web.restart: must be one of always | on-failure | never, got "sometimes" (string)`,
      `${path}: invalid, 3 error(s)`,
    ]);
  });
});
