import { execFile } from 'node:child_process';
import { cpSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const run = promisify(execFile);

/**
 * A copy of the package (bin/, dist/, package.json, node_modules linked), in which the bundle
 * `procreg run` loads is replaced by one that only says it ran: which entry bin/procreg.js
 * picks is then what the process prints.
 */
function packageCopy(): { dir: string; bundle: string; main: string } {
  const dir = tmp();
  for (const part of ['bin', 'dist', 'package.json']) cpSync(part, join(dir, part), { recursive: true });
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  const bundle = join(dir, 'dist', 'shell', 'cli', 'run.bundle.js');
  writeFileSync(
    bundle,
    "export async function main(argv) { process.stdout.write('the bundle ran ' + argv[2] + '\\n'); return 0; }\n",
  );
  return { dir, bundle, main: join(dir, 'dist', 'shell', 'cli', 'main.js') };
}

async function procregIn(dir: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'bin', 'procreg.js'), ...args], {
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('bin/procreg.js: the bundle of `procreg run` (scripts/bundle-run.js)', () => {
  it('`run` loads the bundle when it is at least as new as dist/; other commands never do', async () => {
    const { dir, bundle, main } = packageCopy();
    const past = new Date(Date.now() - 60_000);
    utimesSync(main, past, past);
    expect(await procregIn(dir, 'run', 'nowhere.yaml')).toEqual({
      code: 0,
      stdout: 'the bundle ran run\n',
      stderr: '',
    });
    utimesSync(bundle, past, past); // the same age counts as new enough
    expect((await procregIn(dir, 'run', 'nowhere.yaml')).stdout).toBe('the bundle ran run\n');
    const validate = await procregIn(dir, 'validate', join(dir, 'nowhere.yaml'));
    expect(validate.stdout).not.toContain('the bundle ran');
    expect(validate.code).toBe(2);
  });

  it('a bundle older than dist/ (tsc run alone since) is not run: the modules load instead', async () => {
    const { dir, bundle } = packageCopy();
    const past = new Date(Date.now() - 60_000);
    utimesSync(bundle, past, past);
    const r = await procregIn(dir, 'run', join(dir, 'nowhere.yaml'));
    expect(r.stdout).not.toContain('the bundle ran');
    expect(r.code).toBe(2); // the real run command: the config file does not exist
    expect(r.stderr).toContain(join(dir, 'nowhere.yaml'));
  });
});
