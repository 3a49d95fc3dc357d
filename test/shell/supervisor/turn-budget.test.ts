import { describe, expect, it } from 'vitest';
import { TurnBudget } from '../../../src/shell/supervisor/turn-budget.js';

/** A clock the jobs move forward by what they "cost". */
function clocked() {
  let t = 0;
  return { now: () => t, cost: (ms: number) => (t += ms) };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('TurnBudget', () => {
  it('runs a job at once while the turn has budget left', () => {
    const c = clocked();
    const b = new TurnBudget(10, c.now);
    const ran: number[] = [];
    b.run(() => ran.push(1));
    expect(ran).toEqual([1]);
  });

  it('spreads jobs over turns once a turn has spent its budget, in order, letting I/O in between', async () => {
    const c = clocked();
    const b = new TurnBudget(10, c.now);
    const ran: number[] = [];
    for (let i = 0; i < 12; i++)
      b.run(() => {
        ran.push(i);
        c.cost(4); // a fork
      });
    expect(ran).toEqual([0, 1, 2]); // 4 + 4 + 4 ms: the third crossed the 10 ms budget
    expect(b.waiting).toBe(9);
    let between = 0;
    setImmediate(() => (between = ran.length)); // another callback gets its turn between the batches
    await turn();
    await turn();
    expect(between).toBeGreaterThanOrEqual(3);
    expect(between).toBeLessThan(12);
    for (let i = 0; i < 5 && b.waiting > 0; i++) await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('a job queued behind others waits its turn even if the budget is fresh', async () => {
    const c = clocked();
    const b = new TurnBudget(10, c.now);
    const ran: string[] = [];
    b.run(() => c.cost(20));
    b.run(() => ran.push('second'));
    b.run(() => ran.push('third'));
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual(['second', 'third']);
  });

  it('idle() resolves once every waiting job has run', async () => {
    const c = clocked();
    const b = new TurnBudget(10, c.now);
    await b.idle(); // nothing waits: at once
    const ran: number[] = [];
    for (let i = 0; i < 6; i++)
      b.run(() => {
        ran.push(i);
        c.cost(6);
      });
    expect(ran.length).toBeLessThan(6);
    await b.idle();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it('idle() waits for the jobs waiting when it is asked, not for jobs queued after (a crash storm never empties the queue)', async () => {
    const c = clocked();
    const b = new TurnBudget(10, c.now);
    const ran: string[] = [];
    const job = (name: string) => () => {
      ran.push(name);
      c.cost(6);
    };
    for (let i = 0; i < 4; i++) b.run(job(`first${i}`));
    expect(ran.length).toBeLessThan(4);
    const idle = b.idle();
    for (let i = 0; i < 100; i++) b.run(job(`later${i}`));
    await idle;
    for (let i = 0; i < 4; i++) expect(ran).toContain(`first${i}`);
    expect(b.waiting).toBeGreaterThan(0); // later jobs still wait: idle() did not wait for them
    await b.idle();
    expect(b.waiting).toBe(0);
  });
});
