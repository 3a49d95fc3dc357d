// Waiting for a process group to be empty: the kernel tells no one, so it is asked now and then.

/** How often a watched group is looked at. */
const POLL_MS = 25;

/**
 * Reports each watched process group once it has no member left (kill(-pgid, 0) fails with
 * ESRCH). Polls only while something is watched; a PID is not reused while its process group
 * exists, so the answer is about the group that was watched.
 */
export class GroupWatch {
  private readonly watched = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly onEmpty: (pgid: number) => void) {}

  watch(pgid: number): void {
    this.watched.add(pgid);
    if (!this.timer) this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  clear(): void {
    this.watched.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private poll(): void {
    for (const pgid of this.watched) {
      if (groupAlive(pgid)) continue;
      this.watched.delete(pgid);
      this.onEmpty(pgid);
    }
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** Whether any process is left in the process group (EPERM: there is one, not ours to signal). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
