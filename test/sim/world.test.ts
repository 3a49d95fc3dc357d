import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Effect } from '../../src/core/effects.js';
import type { TimerKey } from '../../src/events/types.js';
import { mulberry32, World } from '../../src/sim/world.js';
import { act, actionArb } from '../support/actions.js';
import { makeConfig, RELOAD_POOL, svc } from '../support/configs.js';
import { logged } from '../support/world.js';

const spawn = (incarnation: number): Effect => ({
  do: 'spawn',
  name: 'web',
  gen: 1,
  incarnation,
  command: ['node', 'server.js'],
  cwd: null,
  env: {},
  runAs: { user: null, group: null, umask: null, limits: {}, inheritEnv: true },
  stdout: null,
  stderr: null,
  lastWords: { lines: 10, bytes: 2048 },
  stderrLevel: 'info',
  log: null,
});
const backoff = (incarnation: number): TimerKey => ({ kind: 'backoff', name: 'web', gen: 1, incarnation });

describe('World: a deterministic simulated shell', () => {
  it('is reproducible from its seed: the same seed and actions give the same log (property)', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 150 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const run = () => {
            const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.3 });
            w.start();
            for (const x of actions) act(w, x);
            w.drain();
            return w;
          };
          const a = run();
          const b = run();
          expect(b.log).toEqual(a.log);
          expect([...b.live.keys()]).toEqual([...a.live.keys()]);
          expect([...b.files]).toEqual([...a.files]);
          expect([...b.timers]).toEqual([...a.timers]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('draws spawn failures from its seed: the same seed, the same failures; another seed, others', () => {
    const pattern = (seed: number) => {
      const w = new World({ configs: [], seed, spawnFailure: 0.5 });
      for (let i = 1; i <= 32; i++) w.execute(spawn(i));
      return w.pending.map((e) => (e.type === 'spawn-failed' ? 'x' : '.')).join('');
    };
    expect(pattern(1)).toEqual(pattern(1));
    expect(pattern(1)).toMatch(/x/);
    expect(pattern(1)).toMatch(/\./);
    expect(pattern(2)).not.toEqual(pattern(1));
  });

  describe('spawnFailure', () => {
    const config = makeConfig({ services: { web: svc(), db: svc() } });

    it('at 0, every spawn succeeds with a new live PID, its start time derived from it', () => {
      const w = new World({ configs: [config] });
      w.start();
      expect(w.pending).toEqual([
        {
          type: 'spawned',
          name: 'db',
          gen: 1,
          incarnation: 1,
          pid: 100,
          startTime: 1000,
          exe: '/usr/bin/sim',
        },
        {
          type: 'spawned',
          name: 'web',
          gen: 1,
          incarnation: 1,
          pid: 101,
          startTime: 1010,
          exe: '/usr/bin/sim',
        },
      ]);
      expect([...w.live.keys()]).toEqual([100, 101]);
    });

    it('at 1, every spawn fails and no process comes to life', () => {
      const w = new World({ configs: [config], spawnFailure: 1 });
      w.start();
      expect(w.pending).toEqual([
        { type: 'spawn-failed', name: 'db', gen: 1, incarnation: 1, error: 'ENOENT (simulated)' },
        { type: 'spawn-failed', name: 'web', gen: 1, incarnation: 1, error: 'ENOENT (simulated)' },
      ]);
      expect(w.live.size).toBe(0);
      w.drain();
      expect(w.state.services.get('web')?.phase).toBe('backoff');
    });

    it('in between, fails about that share of spawns', () => {
      const w = new World({ configs: [config], spawnFailure: 0.25, seed: 11 });
      for (let i = 1; i <= 400; i++) w.execute(spawn(i));
      const failed = w.pending.filter((e) => e.type === 'spawn-failed').length;
      expect(failed).toBeGreaterThan(60);
      expect(failed).toBeLessThan(140);
    });
  });

  describe('timers', () => {
    it('fire in the order of their times, whatever the order they were armed in', () => {
      const w = new World({ configs: [], startTime: 0 });
      for (const [n, at] of [
        [1, 300],
        [2, 100],
        [3, 200],
      ] as const)
        w.execute({ do: 'arm-timer', timer: backoff(n), at });
      const fired: [number, number][] = [];
      while (w.fireNextTimer()) {
        const e = w.pending.shift();
        if (e?.type !== 'timer-fired' || e.timer.kind !== 'backoff') throw new Error('not a backoff firing');
        fired.push([e.timer.incarnation, w.time]);
      }
      expect(fired).toEqual([
        [2, 100],
        [3, 200],
        [1, 300],
      ]);
      expect(w.timers.size).toBe(0);
      expect(w.firedTimers).toEqual([backoff(2), backoff(3), backoff(1)]);
    });

    it('move time forward to a timer, never back', () => {
      const w = new World({ configs: [], startTime: 1000 });
      w.execute({ do: 'arm-timer', timer: backoff(1), at: 400 });
      expect(w.fireNextTimer()).toBe(true);
      expect(w.time).toBe(1000);
      expect(w.fireNextTimer()).toBe(false);
    });

    it('a cancelled timer never fires; re-arming the same key replaces it', () => {
      const w = new World({ configs: [], startTime: 0 });
      w.execute({ do: 'arm-timer', timer: backoff(1), at: 100 });
      w.execute({ do: 'arm-timer', timer: backoff(2), at: 200 });
      w.execute({ do: 'arm-timer', timer: backoff(2), at: 50 });
      w.execute({ do: 'cancel-timer', timer: backoff(1) });
      expect(w.fireNextTimer()).toBe(true);
      expect(w.time).toBe(50);
      expect(w.fireNextTimer()).toBe(false);
      expect(w.firedTimers).toEqual([backoff(2)]);
    });

    it('in a whole session, each timer fired is the earliest armed and time never goes back (property)', () => {
      fc.assert(
        fc.property(
          fc.array(actionArb, { maxLength: 150 }),
          fc.integer({ min: 1, max: 1000 }),
          (actions, seed) => {
            const w = new World({ configs: RELOAD_POOL, seed });
            w.start();
            for (const x of actions) {
              const before = w.time;
              const earliest = Math.min(...[...w.timers.values()].map((t) => t.at));
              if (x.a === 'timer' && w.timers.size > 0) {
                w.fireNextTimer();
                expect(w.time).toBe(Math.max(before, earliest));
              } else act(w, x);
              expect(w.time).toBeGreaterThanOrEqual(before);
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });

  describe('the model the effects act on', () => {
    it('writes and removes PID files, removing one only if it still names that PID', () => {
      const w = new World({ configs: [] });
      w.execute({ do: 'write-pidfile', path: '/run/web.pid', pid: 7 });
      w.execute({ do: 'remove-pidfile', path: '/run/web.pid', ifPid: 8 });
      expect(w.files.get('/run/web.pid')).toBe(7);
      w.execute({ do: 'remove-pidfile', path: '/run/web.pid', ifPid: 7 });
      w.execute({ do: 'remove-pidfile', path: '/run/web.pid', ifPid: 7 });
      expect(w.files.size).toBe(0);
      expect(w.log.filter((e) => e.type === 'pidfile-removed').map((e) => e.outcome)).toEqual([
        'not-owner',
        'removed',
        'absent',
      ]);
    });

    it('a signalled process dies of that signal when it exits', () => {
      const w = new World({ configs: [makeConfig({ services: { web: svc() } })] });
      w.start();
      w.drain();
      w.execute({ do: 'signal-group', pid: 100, signal: 'SIGINT' });
      w.execute({ do: 'signal-group', pid: 999, signal: 'SIGINT' });
      expect(logged(w, 'signal-sent').map((e) => e.error)).toEqual([null, 'ESRCH']);
      expect(w.exitProcess(0, 'clean')).toBe(true);
      expect(w.pending).toEqual([
        { type: 'exited', pid: 100, code: null, signal: 'SIGINT', groupAlive: false, lastWords: null },
      ]);
      expect(w.exitProcess(0, 'clean')).toBe(false);
    });

    it('stamps every event with increasing seq and the world time', () => {
      const w = new World({ configs: RELOAD_POOL, startTime: 5000 });
      w.start();
      w.advance(250);
      w.drain();
      expect(w.log.map((e) => e.seq)).toEqual(w.log.map((_, i) => i + 1));
      expect(w.log[0]?.time).toBe(5000);
      expect(w.log.at(-1)?.time).toBe(5250);
    });
  });
});

describe('mulberry32', () => {
  it('gives the same sequence for the same seed, in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });
});
