/**
 * The benchmark runner's watchdog (session.ts): started detached with the session id and temp
 * root, it waits for its stdin — a pipe from the runner — to close, which happens however
 * the runner ends (normally, SIGINT, SIGTERM, SIGKILL, a crash), then stops every process of
 * the session and removes the temp root. Signals meant for the run do not stop it.
 */
import { cleanUpAfter } from './session.js';

process.stderr.on('error', () => {}); // the runner's stderr may be gone with it

const [id, tempRoot] = process.argv.slice(2) as [string, string];
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
process.stdin.resume();
process.stdin.on('error', () => {});
process.stdin.on('close', () => {
  const { killed, removed } = cleanUpAfter(id, tempRoot);
  if (killed > 0 || removed) {
    try {
      process.stderr.write(
        `procreg bench: the run ended before finishing (a signal or a crash): stopped the ${killed} processes it had started and removed ${tempRoot}\n`,
      );
    } catch {
      // stderr is gone with the runner
    }
  }
  process.exit(0);
});
