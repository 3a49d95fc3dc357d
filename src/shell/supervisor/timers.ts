// The fold's timers on a real (or virtual) clock: armed and cancelled by key, fired as events.
import { timerId } from '../../events/timer-id.js';
import type { TimerKey } from '../../events/types.js';
import { asyncScheduler, queueScheduler, type SchedulerLike, type Subscription } from '../rx.js';

export class TimerTable {
  private readonly armed = new Map<string, Subscription>();

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly clock: () => number,
    private readonly fire: (timer: TimerKey) => void,
  ) {}

  arm(timer: TimerKey, at: number): void {
    const id = timerId(timer);
    this.armed.get(id)?.unsubscribe();
    const delay = Math.max(0, at - this.clock());
    // A timer already due (a restart without backoff) fires as soon as the current event is
    // done, not after a trip through the timer phase of the event loop (>= 1 ms); it stays
    // cancellable until then. An injected scheduler keeps every timer, so virtual time holds.
    const scheduler = delay === 0 && this.scheduler === asyncScheduler ? queueScheduler : this.scheduler;
    const sub = scheduler.schedule(() => {
      this.armed.delete(id);
      this.fire(timer);
    }, delay);
    if (!sub.closed) this.armed.set(id, sub);
  }

  cancel(timer: TimerKey): void {
    const id = timerId(timer);
    this.armed.get(id)?.unsubscribe();
    this.armed.delete(id);
  }

  clear(): void {
    for (const t of this.armed.values()) t.unsubscribe();
    this.armed.clear();
  }
}
