import { execFile } from 'node:child_process';

/** For the config and replay CLI tests: a user that is not root. */
export const NOBODY = 65534;

/**
 * Run the real `bin/procreg.js` (optionally as another user): its exit code and output. It is
 * killed after `timeoutMs`, and `code` is then null, so a command that blocks fails the test
 * instead of hanging it.
 */
export function procregAs(
  args: string[],
  opts: { uid?: number; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/procreg.js', ...args],
      {
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
