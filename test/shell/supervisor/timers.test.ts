import { asyncScheduler, queueScheduler, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TimerKey } from '../../../src/events/types.js';
import { TimerTable } from '../../../src/shell/supervisor/timers.js';

const backoff = (incarnation: number): TimerKey => ({ kind: 'backoff', name: 'web', gen: 1, incarnation });
const interval: TimerKey = { kind: 'check-interval', name: 'alive', gen: 1, run: 3 };

/** A table on virtual time; `fired` records each firing with the virtual time it happened at. */
function virtual(maxFrames = Number.POSITIVE_INFINITY) {
  const vts = new VirtualTimeScheduler(VirtualAction, maxFrames);
  const fired: { timer: TimerKey; at: number }[] = [];
  let onFire = (_timer: TimerKey) => {};
  const table = new TimerTable(
    vts,
    () => vts.now(),
    (timer) => {
      fired.push({ timer, at: vts.now() });
      onFire(timer);
    },
  );
  return { vts, table, fired, onFire: (f: (timer: TimerKey) => void) => (onFire = f) };
}

describe('TimerTable', () => {
  it('fires an armed timer at its time, with its key', () => {
    const { vts, table, fired } = virtual();
    table.arm(backoff(1), 250);
    table.arm(interval, 100);
    expect(fired).toEqual([]); // nothing before its time
    vts.flush();
    expect(fired).toEqual([
      { timer: interval, at: 100 },
      { timer: backoff(1), at: 250 },
    ]);
  });

  it('re-arming a key replaces its timer: it fires once, at the new time', () => {
    const { vts, table, fired } = virtual();
    table.arm(backoff(1), 100);
    table.arm(backoff(1), 300);
    table.arm(backoff(2), 200); // another key: its own timer
    vts.flush();
    expect(fired).toEqual([
      { timer: backoff(2), at: 200 },
      { timer: backoff(1), at: 300 },
    ]);
  });

  it('cancel stops one key; an unknown or already fired key is no error', () => {
    const { vts, table, fired } = virtual();
    table.arm(backoff(1), 100);
    table.arm(interval, 100);
    table.cancel(backoff(1));
    table.cancel(backoff(9));
    vts.flush();
    expect(fired).toEqual([{ timer: interval, at: 100 }]);
    table.cancel(interval);
    table.arm(interval, 150); // a fired key can be armed again
    vts.flush();
    expect(fired.map((f) => f.at)).toEqual([100, 150]);
  });

  it('clear stops every timer', () => {
    const { vts, table, fired } = virtual();
    table.arm(backoff(1), 100);
    table.arm(interval, 200);
    table.clear();
    vts.flush();
    expect(fired).toEqual([]);
  });

  it('a timer re-armed by its own firing is a new timer that cancel still reaches', () => {
    const { vts, table, fired, onFire } = virtual(150);
    onFire((t) => {
      if (fired.length === 1) table.arm(t, vts.now() + 100); // once, as the fold re-arms a check interval
    });
    table.arm(interval, 100);
    vts.flush(); // up to 150: fires at 100, re-armed for 200
    expect(fired).toEqual([{ timer: interval, at: 100 }]);
    table.cancel(interval);
    vts.maxFrames = Number.POSITIVE_INFINITY;
    vts.flush();
    expect(fired).toEqual([{ timer: interval, at: 100 }]);
  });

  it('on an injected scheduler, a timer already due fires in that scheduler too, at the current virtual time', () => {
    const { vts, table, fired } = virtual();
    table.arm(backoff(1), 100);
    vts.flush();
    table.arm(interval, 40); // in the past
    expect(fired).toHaveLength(1); // not at once: virtual time stays in charge
    vts.flush();
    expect(fired).toEqual([
      { timer: backoff(1), at: 100 },
      { timer: interval, at: 100 },
    ]);
  });

  it('on the real clock, a timer already due fires right after the event being handled, and can still be cancelled until then', () => {
    const order: string[] = [];
    const table = new TimerTable(asyncScheduler, Date.now, (t) => order.push(`fired ${t.kind}`));
    // The supervisor handles each event inside a queueScheduler task.
    queueScheduler.schedule(() => {
      table.arm(backoff(1), Date.now() - 5);
      order.push('event handled');
    });
    expect(order).toEqual(['event handled', 'fired backoff']); // no trip through the event loop
    queueScheduler.schedule(() => {
      table.arm(backoff(2), Date.now());
      table.cancel(backoff(2));
    });
    expect(order).toEqual(['event handled', 'fired backoff']);
  });

  it('on the real clock, a future timer fires after its delay', async () => {
    const armedAt = Date.now();
    const fired = await new Promise<number>((resolve, reject) => {
      const table = new TimerTable(asyncScheduler, Date.now, () => resolve(Date.now()));
      table.arm(interval, armedAt + 30);
      setTimeout(() => reject(new Error('not fired within 10 s')), 10_000).unref();
    });
    expect(fired - armedAt).toBeGreaterThanOrEqual(29); // timers may round down by a millisecond
  });
});
