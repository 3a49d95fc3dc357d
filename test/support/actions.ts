import fc from 'fast-check';
import type { World } from '../../src/sim/world.js';

/** What a random driver can make the outside world do to a simulated supervisor. */
export type Action =
  | { a: 'deliver' }
  | { a: 'timer' }
  | { a: 'exit'; pick: number; how: 'clean' | 'fail' | 'signal' }
  | { a: 'reload' }
  | { a: 'stop'; pick: number }
  | { a: 'start'; pick: number }
  | { a: 'crash' }
  | { a: 'advance'; ms: number };

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ a: 'deliver' as const }) },
  { weight: 4, arbitrary: fc.constant({ a: 'timer' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      a: fc.constant('exit' as const),
      pick: fc.nat(),
      how: fc.constantFrom('clean' as const, 'fail' as const, 'signal' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ a: 'reload' as const }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('stop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('start' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ a: 'crash' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ a: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  },
);

const NAMES = ['web', 'db', 'worker', 'ghost'];

export function act(w: World, x: Action): void {
  switch (x.a) {
    case 'deliver':
      w.deliverNext();
      return;
    case 'timer':
      w.fireNextTimer();
      return;
    case 'exit':
      w.exitProcess(x.pick, x.how);
      return;
    case 'reload':
      w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
      return;
    case 'stop':
      w.pending.push({
        type: 'stop-requested',
        target: 'service',
        name: NAMES[x.pick % NAMES.length] as string,
        source: 'test',
      });
      return;
    case 'start':
      w.pending.push({
        type: 'start-requested',
        target: 'service',
        name: NAMES[x.pick % NAMES.length] as string,
        source: 'test',
      });
      return;
    case 'crash':
      crashSupervisor(w);
      w.start();
      return;
    case 'advance':
      w.advance(x.ms);
      return;
  }
}

/**
 * The supervisor dies: its queued inputs and timers are lost, the outcomes of forks already
 * made are logged, its children live on. Start it again with `w.start()`.
 */
export function crashSupervisor(w: World): void {
  const outcomes = w.pending.filter((e) => e.type === 'spawned' || e.type === 'check-started');
  w.pending.length = 0;
  for (const e of outcomes) w.deliver(e);
  w.timers.clear();
}
