// A service that daemonizes itself: what procreg saw, and what to tell its operator.
import type { DaemonSuspected, Pid } from '../events/types.js';

/** How long after its start a main process exiting 0 with processes left behind looks like a daemon's parent. */
export const DAEMONIZE_WINDOW_MS = 3_000;

/** The reason a daemonizing service fails with: what was seen, and how to run it in the foreground. */
export function daemonAdvice(ev: DaemonSuspected, left: readonly Pid[]): string {
  const pids = `pid${left.length > 1 ? 's' : ''} ${left.join(', ')}`;
  const where = ev.escaped
    ? `${pids} it forked live${left.length > 1 ? '' : 's'} on in a session of its own, out of procreg's reach (stop it yourself)`
    : `${pids} it forked stayed in its process group (stopped with it)`;
  return (
    `looks like it daemonized itself: its main process exited 0 after ${ev.afterMs}ms and ${where}; ` +
    "run it in the foreground (redis-server --daemonize no, nginx -g 'daemon off;', postgres instead of pg_ctl start, sshd -D, " +
    'php-fpm -F, a script that runs its program with exec instead of &); procreg supervises foreground processes only (no Type=forking)'
  );
}
