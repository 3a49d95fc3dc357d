import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** For the config and replay CLI tests: a user that is not root. */
export const NOBODY = 65534;

/**
 * Run the real `bin/procreg.js` (optionally as another user): its exit code and output. It is
 * killed after `timeoutMs`, and `code` is then null, so a command that blocks fails the test
 * instead of hanging it.
 */
let mirror: string | null = null;
afterAll(() => {
  if (mirror !== null) rmSync(mirror, { recursive: true, force: true });
  mirror = null;
});

/**
 * Where another user can run procreg from: the checkout itself when others may enter it, else
 * (a checkout in a private directory, such as one made by mktemp -d) a copy of what the CLI
 * needs — bin, dist, package.json, node_modules, hard-linked — in a directory they may enter,
 * removed after the test file.
 */
function runnableBy(uid: number): string {
  try {
    execFileSync('setpriv', [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      'test',
      '-r',
      'bin/procreg.js',
    ]);
    return process.cwd();
  } catch {
    // not readable by that user: make a copy that is
  }
  if (mirror === null) {
    const dir = mkdtempSync(join(tmpdir(), 'procreg-as-'));
    chmodSync(dir, 0o755);
    execFileSync('cp', ['-al', 'bin', 'dist', 'package.json', 'node_modules', dir]);
    accessSync(join(dir, 'bin', 'procreg.js'), constants.R_OK);
    mirror = dir;
  }
  return mirror;
}

export function procregAs(
  args: string[],
  opts: { uid?: number; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/procreg.js', ...args],
      {
        ...(opts.uid !== undefined ? { cwd: runnableBy(opts.uid) } : {}),
        timeout: opts.timeoutMs ?? 20_000,
        killSignal: 'SIGKILL',
        ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        const code = e === null ? 0 : e.killed ? null : typeof e.code === 'number' ? e.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The non-empty lines of an output. */
export const lines = (text: string): string[] => text.split('\n').filter(Boolean);
