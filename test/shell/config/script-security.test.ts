import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/schema.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;

/** A config running `script` (made here with `mode`) as a service, through node as an interpreter too. */
function setup(opts: { mode: number; dirMode?: number; owner?: number; allow?: boolean }) {
  const root = tmp();
  const dir = join(root, 'bin');
  mkdirSync(dir);
  const script = join(dir, 'run.sh');
  writeFileSync(script, '#!/bin/sh\nexec sleep 1\n');
  chmodSync(script, opts.mode);
  if (opts.dirMode !== undefined) chmodSync(dir, opts.dirMode);
  if (opts.owner !== undefined) chownSync(script, opts.owner, opts.owner);
  const config = join(root, 'procreg.yaml');
  writeFileSync(
    config,
    `${opts.allow ? 'allowUnsafeScripts: true\n' : ''}services:\n  direct: { command: [${script}] }\n  interpreted: { command: [sh, ${script}] }\n`,
  );
  return { config, script, dir };
}

describe.runIf(asRoot)('script security when procreg runs as root', () => {
  it('accepts root-owned programs in root-owned directories (a sticky shared one like /tmp included)', () => {
    const { config } = setup({ mode: 0o755 });
    expect(loadConfigFile(config)).toMatchObject({ ok: true });
    const sticky = setup({ mode: 0o755, dirMode: 0o1777 });
    expect(loadConfigFile(sticky.config)).toMatchObject({ ok: true });
  });

  it('refuses a program others can write, naming the service, the file and the way out', () => {
    const { config, script } = setup({ mode: 0o757 });
    const res = loadConfigFile(config);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.problems.map((p) => formatProblem(p))).toEqual([
      `${config}: services.direct.command: ${script} is writable by others (mode 0757); as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
      `${config}: services.interpreted.command: ${script} is writable by others (mode 0757); as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
    ]);
  });

  it('refuses a program owned by another user, and one in a directory others can write', () => {
    const owned = setup({ mode: 0o755, owner: 1000 });
    expect(loadConfigFile(owned.config)).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({
          message: expect.stringContaining(`${owned.script} is owned by uid 1000, not root`),
        }),
        expect.anything(),
      ],
    });
    const openDir = setup({ mode: 0o755, dirMode: 0o777 });
    expect(loadConfigFile(openDir.config)).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({
          message: expect.stringContaining(
            `${openDir.dir} (above ${openDir.script}) is writable by group and others (mode 0777)`,
          ),
        }),
        expect.anything(),
      ],
    });
  });

  it('runs it anyway when the config says allowUnsafeScripts: true', () => {
    const { config } = setup({ mode: 0o777, allow: true });
    expect(loadConfigFile(config)).toMatchObject({ ok: true, config: { allowUnsafeScripts: true } });
  });
});

describe.runIf(asRoot)('script security resolves relative commands where they will run', () => {
  it("checks a relative command in the config's directory, where the spawn runs it, whatever procreg's working directory", () => {
    const work = tmp(); // procreg's working directory: a safe ./run.sh
    writeFileSync(join(work, 'run.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(work, 'run.sh'), 0o755);
    const home = tmp(); // where the config lives: an unsafe ./run.sh
    writeFileSync(join(home, 'run.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(home, 'run.sh'), 0o757);
    const config = join(home, 'procreg.yaml');
    writeFileSync(config, 'checks:\n  probe: { command: [./run.sh] }\n');
    const before = process.cwd();
    process.chdir(work);
    try {
      const res = loadConfigFile(config);
      expect(res.ok).toBe(false);
      if (!res.ok)
        expect(res.problems.map((p) => formatProblem(p))[0]).toContain(
          `checks.probe.command: ${join(home, 'run.sh')} is writable by others`,
        );
      chmodSync(join(home, 'run.sh'), 0o755);
      chmodSync(join(work, 'run.sh'), 0o757);
      expect(loadConfigFile(config)).toMatchObject({
        ok: true,
        config: { checks: { probe: { command: [join(home, 'run.sh')], cwd: home } } },
      });
    } finally {
      process.chdir(before);
    }
  });
});
