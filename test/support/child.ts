import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Where the compiled modules are (test/support/build.ts builds them before the tests). */
export const DIST = join(process.cwd(), 'dist');

/**
 * Run an ES module `source` in a fresh node process, killed (SIGKILL) after `ms`: for code
 * that, when broken, blocks its whole thread (an open(2) on a FIFO) or never ends (reading a
 * device), which no timeout inside the test process could interrupt. Memory is capped too.
 */
export function runModule(
  source: string,
  ms = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * A character device that never ends (/dev/zero's numbers) at `path`, for tests that put one
 * where a file should be; mknod needs root (CAP_MKNOD): false, and why printed, where it fails.
 */
export function zeroDevice(path: string): boolean {
  try {
    execFileSync('mknod', [path, 'c', '1', '5'], { stdio: 'pipe' });
    return true;
  } catch (e) {
    console.log(`device case skipped: cannot mknod here (${(e as Error).message.split('\n')[0]})`);
    return false;
  }
}
