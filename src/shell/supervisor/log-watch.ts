import { type FSWatcher, watch } from 'node:fs';
import { basename } from 'node:path';

/**
 * How long after a rename or removal the check runs: a burst of directory events (an `rm -rf`
 * emptying the runDir) is over by then, and the runDir is not re-created under it. A second,
 * as soon as the once-a-second poll this replaces noticed it on average: what `procreg status`
 * and `stop` see of a supervisor whose runDir was just removed is as before.
 */
export const LOG_WATCH_SETTLE_MS = 1000;

/**
 * Wakes the supervisor's log check when something happens to what it checks — the runDir
 * removed or renamed, the event log moved or deleted — instead of looking at them every
 * second: an idle supervisor makes no system call at all (issue 15: idle CPU 0). inotify
 * watches the runDir and the log's directory; only a rename or removal of the directory
 * itself or of the log file counts (the writes of the log, PID files and output files come
 * through the same watch and are ignored). The check polls every `intervalMs` only while it
 * has something to retry (a degraded log, a rotation to try again) or a directory could not
 * be watched (inotify's limits): then it behaves as before.
 */
export class LogWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private poll: NodeJS.Timeout | null = null;
  private due: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    /** The directories to watch and the file names in them that matter. */
    private readonly targets: () => readonly { readonly dir: string; readonly files: readonly string[] }[],
    private readonly check: () => void,
    private readonly retrying: () => boolean,
    private readonly intervalMs: number,
  ) {}

  /** After each check: watch what is there now (again, after a directory was re-created), poll only if needed. */
  arm(): void {
    if (this.closed) return;
    let unwatched = false;
    for (const { dir, files } of this.targets()) {
      if (this.watchers.has(dir)) continue;
      const self = basename(dir);
      try {
        const w = watch(dir, { persistent: false }, (type, name) => {
          if (type !== 'rename') return;
          if (name !== null && name !== self && !files.includes(name)) return;
          // The directory itself went (or this is its last event): watch afresh after the check.
          if (name === null || name === self) this.unwatch(dir);
          this.soon();
        });
        w.on('error', () => {
          this.unwatch(dir);
          this.soon();
        });
        this.watchers.set(dir, w);
      } catch {
        unwatched = true;
      }
    }
    const poll = unwatched || this.retrying();
    if (poll && !this.poll) {
      this.poll = setInterval(() => this.run(), this.intervalMs);
      this.poll.unref();
    } else if (!poll && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }

  close(): void {
    this.closed = true;
    for (const dir of [...this.watchers.keys()]) this.unwatch(dir);
    if (this.poll) clearInterval(this.poll);
    if (this.due) clearTimeout(this.due);
    this.poll = null;
    this.due = null;
  }

  private soon(): void {
    if (this.due || this.closed) return;
    this.due = setTimeout(() => {
      this.due = null;
      this.run();
    }, LOG_WATCH_SETTLE_MS);
    this.due.unref();
  }

  private run(): void {
    if (this.closed) return;
    this.check();
  }

  private unwatch(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }
}
