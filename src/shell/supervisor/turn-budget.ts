// Heavy effects (a fork costs milliseconds) share the event loop with the control socket.

/**
 * Runs jobs at once while this turn of the event loop has used less than `budgetMs` on them,
 * and the rest on later turns (setImmediate), in order. A crash storm that makes hundreds of
 * backoff timers fire in one timer phase would otherwise fork hundreds of children back to
 * back and keep `procreg status` waiting for seconds; one restart alone still runs at once.
 */
export class TurnBudget {
  private readonly queue: (() => void)[] = [];
  private spent = 0;
  private turnOpen = false;
  private draining = false;

  constructor(
    private readonly budgetMs = 10,
    private readonly now: () => number = () => performance.now(),
  ) {}

  run(job: () => void): void {
    if (this.queue.length === 0 && this.spent < this.budgetMs) return this.exec(job);
    this.queue.push(job);
    this.drainLater();
  }

  /** Jobs still waiting for a turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves once every job waiting now has run (at once if none does). Jobs queued later are
   * not waited for: under a crash storm the queue may never be empty.
   */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    const target = this.started + this.queue.length;
    return new Promise((resolve) => this.idleWaiters.push({ target, resolve }));
  }

  private readonly idleWaiters: { readonly target: number; readonly resolve: () => void }[] = [];
  /** Jobs taken off the queue so far. */
  private started = 0;

  private exec(job: () => void): void {
    if (!this.turnOpen) {
      // The budget is per turn: the next setImmediate is the next turn.
      this.turnOpen = true;
      setImmediate(() => {
        this.turnOpen = false;
        this.spent = 0;
      });
    }
    const t0 = this.now();
    try {
      job();
    } finally {
      this.spent += this.now() - t0;
    }
  }

  private drainLater(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => {
      this.draining = false;
      this.spent = 0;
      while (this.queue.length > 0 && this.spent < this.budgetMs) {
        this.started++;
        this.exec(this.queue.shift() as () => void);
      }
      if (this.queue.length > 0) this.drainLater();
      for (const w of this.idleWaiters.filter((x) => x.target <= this.started)) {
        this.idleWaiters.splice(this.idleWaiters.indexOf(w), 1);
        w.resolve();
      }
    });
  }
}
