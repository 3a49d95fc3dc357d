import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceDef } from '../../src/config/types.js';
import { dependentsOf, holdBack, unmetDependency } from '../../src/core/dependencies.js';
import { verifyInvariants } from '../../src/core/invariants.js';
import { World } from '../../src/sim/world.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, pidOf } from '../support/runs.js';
import { deliverAll, deliverFirst, scenario } from '../support/world.js';

/** db ← queue ← worker (healthy db), web on queue. */
const stack = makeConfig({
  services: {
    db: svc(),
    queue: svc({ dependsOn: ['db'] }),
    worker: svc({ dependsOn: { queue: 'started', db: { condition: 'healthy', restart: true } } }),
    web: svc({ dependsOn: ['queue'] }),
  },
  checks: { db_ready: chk({ service: 'db', rise: 1 }) },
});

const spawnOrder = (w: World) =>
  w.log.filter((e) => e.type === 'spawn-requested').map((e) => (e as { name: string }).name);

describe('dependsOn in the fold: start order and readiness', () => {
  it('starts in dependency order: each waits, saying for what, until its dependencies run (or are healthy)', () => {
    const w = scenario([stack]);
    expect(spawnOrder(w)).toEqual(['db']);
    expect(w.state.services.get('queue')).toMatchObject({
      phase: 'waiting',
      reason: 'waiting for db (started)',
    });
    expect(w.state.services.get('worker')).toMatchObject({
      phase: 'waiting',
      reason: 'waiting for db (healthy)',
    });
    deliverFirst(w, 'spawned', (e) => e.name === 'db');
    expect(spawnOrder(w)).toEqual(['db', 'queue']);
    expect(w.state.services.get('worker')?.reason).toBe('waiting for db (healthy)');
    deliverFirst(w, 'spawned', (e) => e.name === 'queue');
    expect(spawnOrder(w)).toEqual(['db', 'queue', 'web']); // worker still waits for db to be healthy
    // db's check runs and succeeds: db is healthy, worker starts.
    deliverFirst(w, 'check-started');
    const probe = w.state.checks.get('db_ready')?.inFlight?.pid as number;
    exits(w, probe, 0);
    expect(w.log.at(-2)).toMatchObject({ type: 'check-health-changed', healthy: true });
    expect(spawnOrder(w)).toEqual(['db', 'queue', 'web', 'worker']);
    deliverAll(w, 'spawned');
    expect([...w.state.services.values()].every((s) => s.phase === 'running')).toBe(true);
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('a dependency going down does not stop its dependents; restart: true restarts them when it is restarted', () => {
    const w = scenario([stack]);
    deliverAll(w, 'spawned');
    deliverFirst(w, 'check-started');
    exits(w, w.state.checks.get('db_ready')?.inFlight?.pid as number, 0);
    deliverAll(w, 'spawned');
    const [queue, web, worker] = ['queue', 'web', 'worker'].map((n) => pidOf(w, n) as number);
    exits(w, pidOf(w, 'db') as number, 1); // db crashes: its dependents keep running
    expect(pidOf(w, 'queue')).toBe(queue);
    expect(w.state.services.get('db')?.phase).toBe('backoff');
    w.fireNextTimer();
    deliverFirst(w, 'timer-fired');
    deliverFirst(w, 'spawned', (e) => e.name === 'db'); // db's new incarnation runs
    // worker (restart: true on db) is restarted; queue and web are not.
    expect(w.lastRecords).toContainEqual({
      type: 'stop-begun',
      pid: worker,
      name: 'worker',
      signal: 'SIGTERM',
      reason: 'dependency-restarted',
    });
    expect(pidOf(w, 'queue')).toBe(queue);
    expect(pidOf(w, 'web')).toBe(web);
    exits(w, worker as number, null, 'SIGTERM');
    expect(w.state.services.get('worker')).toMatchObject({ restarts: 0 }); // not counted
  });

  it('stops in reverse dependency order when the supervisor stops', () => {
    const w = scenario([stack]);
    deliverAll(w, 'spawned');
    deliverFirst(w, 'check-started');
    exits(w, w.state.checks.get('db_ready')?.inFlight?.pid as number, 0);
    deliverAll(w, 'spawned');
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    const stopped = () =>
      w.log.filter((e) => e.type === 'stop-begun').map((e) => (e as { name: string }).name);
    expect(stopped()).toEqual(['web', 'worker']); // nothing depends on them
    expect(w.state.services.get('db')).toMatchObject({
      phase: 'running',
      desired: 'down',
      reason: 'stops after its dependents',
    });
    exits(w, pidOf(w, 'web') as number, null, 'SIGTERM');
    expect(stopped()).toEqual(['web', 'worker']); // queue still has worker
    exits(w, pidOf(w, 'worker') as number, null, 'SIGTERM');
    expect(stopped()).toEqual(['web', 'worker', 'queue']);
    exits(w, pidOf(w, 'queue') as number, null, 'SIGTERM');
    expect(stopped()).toEqual(['web', 'worker', 'queue', 'db']);
    exits(w, pidOf(w, 'db') as number, null, 'SIGTERM');
    expect(w.lastEffects).toContainEqual({ do: 'exit' });
  });

  it('a reload applies the new graph in one generation', () => {
    const flat = makeConfig({ services: { db: svc(), web: svc() } });
    const ordered = makeConfig({ services: { db: svc(), web: svc(), api: svc({ dependsOn: ['web'] }) } });
    const w = scenario([flat, ordered]);
    deliverAll(w, 'spawned');
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    deliverFirst(w, 'config-loaded');
    // web runs: api, added with a dependency on it, starts at once.
    expect(w.lastRecords).toContainEqual(expect.objectContaining({ type: 'spawn-requested', name: 'api' }));
    expect(dependentsOf(w.state.config, 'web')).toEqual(['api']);
  });
});

/** A random acyclic graph over n services: each may depend on earlier ones only. */
const dagArb = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc
    .array(fc.array(fc.tuple(fc.nat({ max: 100 }), fc.boolean()), { maxLength: 3 }), {
      minLength: n,
      maxLength: n,
    })
    .map((deps) => {
      const services: Record<string, unknown> = {};
      const checks: Record<string, unknown> = {};
      deps.forEach((ds, i) => {
        const on: Record<string, string> = {};
        for (const [j, healthy] of ds) if (i > 0) on[`s${j % i}`] = healthy ? 'healthy' : 'started';
        services[`s${i}`] = svc({
          dependsOn: on,
          backoff: { initial: '10ms' },
          maxRestarts: { count: 1000, within: '1s' },
        });
        checks[`c${i}`] = chk({ service: `s${i}`, interval: '1s' });
      });
      return makeConfig({ services, checks });
    }),
);

describe('dependsOn under random graphs and random exits (property)', () => {
  it('never starts a service before its dependencies are started (or healthy), and never deadlocks', () => {
    fc.assert(
      fc.property(
        dagArb,
        fc.array(fc.tuple(fc.constantFrom('deliver', 'timer', 'exit', 'ok', 'fail'), fc.nat()), {
          maxLength: 150,
        }),
        (config, actions) => {
          const w = new World({ configs: [config], seed: 5 });
          // Check the rule at every spawn decision, against the registry the input left.
          const deliver = w.deliver.bind(w);
          let spawns = 0;
          w.deliver = (body) => {
            deliver(body);
            for (const r of w.lastRecords) {
              if (r.type !== 'spawn-requested') continue;
              spawns++;
              expect(unmetDependency(w.state, config.services[r.name] as ServiceDef), r.name).toBeNull();
            }
          };
          w.start();
          for (const [a, n] of actions) {
            if (a === 'deliver') w.deliverNext();
            else if (a === 'timer') w.fireNextTimer();
            else if (a === 'exit') w.exitProcess(n, 'fail');
            else {
              // a check run ends, passing or failing
              const run = [...w.state.checks.values()].find((c) => c.inFlight?.pid != null)?.inFlight?.pid;
              if (run != null && w.live.delete(run))
                w.pending.push({
                  type: 'exited',
                  pid: run,
                  code: a === 'ok' ? 0 : 1,
                  signal: null,
                  groupAlive: false,
                  lastWords: null,
                });
            }
            expect(verifyInvariants(w.state)).toEqual([]);
          }
          // No deadlock: let everything start and every check pass, and all runs.
          for (let i = 0; i < 200; i++) {
            w.drain();
            const run = [...w.state.checks.values()].find((c) => c.inFlight?.pid != null)?.inFlight?.pid;
            if (run != null && w.live.delete(run)) {
              w.pending.push({
                type: 'exited',
                pid: run,
                code: 0,
                signal: null,
                groupAlive: false,
                lastWords: null,
              });
              continue;
            }
            if (!w.fireNextTimer()) break;
          }
          w.drain();
          for (const s of w.state.services.values()) {
            if (s.phase === 'given-up' || s.phase === 'failed') continue;
            expect(s.phase, `${s.name}: ${s.reason}`).not.toBe('waiting');
            if (s.phase === 'waiting') expect(holdBack(w.state, s.name, s.def)).not.toBeNull();
          }
          expect(spawns).toBeGreaterThanOrEqual(Object.keys(config.services).length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
