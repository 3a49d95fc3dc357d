import { describe, expect, it } from 'vitest';
import { World } from '../../src/sim/world.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, pidOf } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, scenario } from '../support/world.js';

const config = makeConfig({
  services: {
    web: svc({ maxRestarts: { count: 2, within: '1m' }, backoff: { initial: '100ms' } }),
    db: svc({ restart: 'never' }),
  },
  checks: { alive: chk({ interval: '5s' }) },
});

/** Everything started: web and db running, a run of alive in flight. */
function running(): World {
  const w = scenario([config]);
  deliverAll(w, 'spawned', 'check-started');
  return w;
}

/** The request-answered record the last input got. */
const REQUESTS = ['stop-requested', 'start-requested', 'restart-requested', 'signal-requested'];
const answered = (w: World, outcome: string, message: string) => ({
  type: 'request-answered',
  ref: [...w.log].reverse().find((e) => REQUESTS.includes(e.type))?.seq,
  outcome,
  message,
});

/** Crash web (quick failures) until the fold gives it up. */
function givenUp(w: World): void {
  for (let guard = 0; w.state.services.get('web')?.phase !== 'given-up'; guard++) {
    if (guard > 10) throw new Error('web was never given up');
    exits(w, pidOf(w, 'web'), 1);
    if (w.state.services.get('web')?.phase !== 'backoff') continue;
    fireTimer(w, 'backoff');
    deliverFirst(w, 'timer-fired');
    deliverFirst(w, 'spawned');
  }
}

describe('stop-requested', () => {
  it('stops a running service with its stop signal and keeps it down', () => {
    const w = running();
    const pid = pidOf(w, 'web');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([
      { type: 'stop-begun', pid, name: 'web', signal: 'SIGTERM', reason: 'requested' },
      answered(w, 'done', 'web: stopping (test); it stays down until started again'),
    ]);
    expect(w.state.services.get('web')).toMatchObject({ desired: 'down', phase: 'stopping' });
    exits(w, pid, null, 'SIGTERM');
    expect(w.state.services.get('web')).toMatchObject({
      phase: 'stopped',
      reason: 'stopped by operator (test)',
    });
    expect(w.pending).toEqual([]);
  });

  it('answers "already" for a service already stopped or being stopped', () => {
    const w = running();
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([answered(w, 'already', 'web is already stopped or stopping')]);
    expect(w.lastEffects).toEqual([]);
    exits(w, pidOf(w, 'web'), null, 'SIGTERM');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([answered(w, 'already', 'web is already stopped or stopping')]);
  });

  it('answers "unknown", listing the services, for a name that is not one, or one a reload removed', () => {
    const w = scenario([config, makeConfig({ services: { web: svc() } })]);
    deliverAll(w, 'spawned', 'check-started');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'alive', source: 'test' }); // a check, not a service
    expect(w.lastRecords).toEqual([
      answered(w, 'unknown', '"alive" is a check, not a service; services: db, web'),
    ]);
    w.deliver({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'config-loaded');
    expect(w.state.services.get('db')).toMatchObject({ desired: 'removed', phase: 'stopping' });
    w.deliver({ type: 'stop-requested', target: 'service', name: 'db', source: 'test' });
    expect(w.lastRecords).toEqual([
      answered(w, 'unknown', 'no service or check named "db"; services: web; checks: none'),
    ]);
  });

  it('during a start, stops the process as soon as it is reported', () => {
    const w = scenario([config]);
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastEffects).toEqual([]);
    expect(w.state.services.get('web')).toMatchObject({ desired: 'down', phase: 'starting' });
    const spawned = deliverFirst(w, 'spawned', (e) => e.name === 'web');
    expect(w.lastRecords).toEqual([
      { type: 'stop-begun', pid: spawned.pid, name: 'web', signal: 'SIGTERM', reason: 'requested' },
    ]);
  });
});

describe('start-requested', () => {
  it('starts a stopped service again', () => {
    const w = running();
    exits(w, pidOf(w, 'db'), 0);
    expect(w.state.services.get('db')?.phase).toBe('stopped');
    w.deliver({ type: 'start-requested', target: 'service', name: 'db', source: 'test' });
    expect(w.lastRecords).toEqual([
      { type: 'spawn-requested', name: 'db', gen: 1, incarnation: 2, reason: 'requested' },
      answered(w, 'done', 'db: starting (test)'),
    ]);
    expect(w.state.services.get('db')).toMatchObject({ desired: 'up', phase: 'starting' });
  });

  it('revives a given-up service with a fresh restart window and backoff', () => {
    const w = running();
    givenUp(w);
    expect(w.state.services.get('web')).toMatchObject({
      restarts: 2,
      reason: 'more than 2 restarts within 60000ms',
    });
    w.deliver({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([
      { type: 'spawn-requested', name: 'web', gen: 1, incarnation: 4, reason: 'requested' },
      answered(
        w,
        'done',
        'web: starting (test); was given up; restart window (2 restarts) and backoff reset',
      ),
    ]);
    expect(w.state.services.get('web')).toMatchObject({ recentRestarts: [], quickFailures: 0 });
    deliverFirst(w, 'spawned');
    // Within the same minute, it may crash and be restarted again, from the initial delay.
    exits(w, pidOf(w, 'web'), 1);
    expect(w.lastRecords).toEqual([
      { type: 'restart-scheduled', name: 'web', incarnation: 5, delayMs: 100, restarts: 3 },
    ]);
  });

  it('during a stop, starts the service again once the process has exited', () => {
    const w = running();
    const pid = pidOf(w, 'web');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    w.deliver({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastEffects).toEqual([]);
    expect(w.state.services.get('web')).toMatchObject({ desired: 'up', restartAfterExit: 'requested' });
    exits(w, pid, null, 'SIGTERM');
    expect(w.lastRecords).toEqual([
      { type: 'spawn-requested', name: 'web', gen: 1, incarnation: 2, reason: 'requested' },
    ]);
  });

  it('answers for a service already up, an unknown name, and refuses while the supervisor is not running', () => {
    const w = running();
    w.deliver({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([answered(w, 'already', 'web is already running')]);
    w.deliver({ type: 'start-requested', target: 'service', name: 'nope', source: 'test' });
    expect(w.lastRecords).toEqual([
      answered(w, 'unknown', 'no service or check named "nope"; services: db, web; checks: alive'),
    ]);
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    w.deliver({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    expect(w.lastRecords).toEqual([answered(w, 'refused', 'procreg is stopping; try again once it runs')]);
    const fresh = scenario([config]);
    fresh.deliver({ type: 'supervisor-started', pid: 3, version: 'x', bootId: null });
    fresh.deliver({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    expect(fresh.lastRecords).toEqual([
      answered(fresh, 'refused', 'procreg is starting; try again once it runs'),
    ]);
  });
});

describe('restart-requested', () => {
  it("stops and starts a running service, not counted towards maxRestarts, other services' PIDs unchanged", () => {
    const w = running();
    const web = pidOf(w, 'web');
    const db = pidOf(w, 'db');
    w.deliver({ type: 'restart-requested', name: 'web', source: 'socket' });
    expect(w.lastRecords).toEqual([
      { type: 'stop-begun', pid: web, name: 'web', signal: 'SIGTERM', reason: 'requested' },
      answered(w, 'done', 'web: restarting (socket)'),
    ]);
    exits(w, web, null, 'SIGTERM');
    expect(w.lastRecords).toEqual([
      { type: 'spawn-requested', name: 'web', gen: 1, incarnation: 2, reason: 'requested' },
    ]);
    deliverFirst(w, 'spawned');
    expect(w.state.services.get('web')).toMatchObject({ phase: 'running', restarts: 0, recentRestarts: [] });
    expect(pidOf(w, 'db')).toBe(db);
  });

  it('starts a given-up service at once', () => {
    const w = running();
    givenUp(w);
    w.deliver({ type: 'restart-requested', name: 'web', source: 'socket' });
    expect(w.state.services.get('web')).toMatchObject({ phase: 'starting', desired: 'up' });
  });
});

describe('signal-requested', () => {
  it("sends the signal to the service's process group and changes nothing else", () => {
    const w = running();
    const web = pidOf(w, 'web');
    const before = w.state.services.get('web');
    w.deliver({ type: 'signal-requested', name: 'web', signal: 'SIGHUP', source: 'socket' });
    expect(w.lastEffects).toEqual([{ do: 'signal-group', pid: web, signal: 'SIGHUP' }]);
    expect(w.lastRecords).toEqual([answered(w, 'done', `web: SIGHUP sent to process group ${web} (socket)`)]);
    expect(w.state.services.get('web')).toEqual(before);
  });

  it('refuses a service with no process', () => {
    const w = running();
    exits(w, pidOf(w, 'db'), 0);
    w.deliver({ type: 'signal-requested', name: 'db', signal: 'SIGHUP', source: 'socket' });
    expect(w.lastEffects).toEqual([]);
    expect(w.lastRecords).toEqual([answered(w, 'refused', 'db has no process to signal (it is stopped)')]);
  });
});

describe('checks: stop pauses, start resumes', () => {
  it('pauses a check: no new runs (the run in flight finishes), until it is resumed', () => {
    const w = running();
    const probe = w.state.checks.get('alive')?.inFlight?.pid as number;
    w.deliver({ type: 'stop-requested', target: 'check', name: 'alive', source: 'socket' });
    expect(w.lastRecords).toEqual([
      answered(w, 'done', 'check alive: paused (socket); run 1 in flight finishes'),
    ]);
    expect(w.lastEffects).toContainEqual(expect.objectContaining({ do: 'cancel-timer' }));
    expect(w.state.checks.get('alive')).toMatchObject({ paused: true, timer: null });
    exits(w, probe, 0);
    expect(w.state.checks.get('alive')).toMatchObject({ inFlight: null, healthy: true });
    expect([...w.timers.values()].filter((t) => t.key.kind === 'check-interval')).toEqual([]);
    w.deliver({ type: 'stop-requested', target: 'check', name: 'alive', source: 'socket' });
    expect(w.lastRecords).toEqual([answered(w, 'already', 'check alive is already paused')]);
    w.deliver({ type: 'start-requested', target: 'check', name: 'alive', source: 'socket' });
    expect(w.lastRecords).toEqual([
      { type: 'check-run-requested', name: 'alive', gen: 1, run: 2 },
      answered(w, 'done', 'check alive: resumed (socket)'),
    ]);
    expect(w.state.checks.get('alive')?.paused).toBe(false);
  });
});

describe('a reload and an operator stop', () => {
  it('keeps a stopped service down across a reload that leaves it unchanged, and brings it back if its definition changes', () => {
    const web = { maxRestarts: { count: 2, within: '1m' }, backoff: { initial: '100ms' } };
    const same = makeConfig({ services: { web: svc(web), db: svc({ restart: 'never' }), extra: svc() } });
    const changed = makeConfig({
      services: { web: svc({ ...web, env: { V: '2' } }), db: svc({ restart: 'never' }) },
    });
    const w = scenario([config, same, changed]);
    deliverAll(w, 'spawned', 'check-started');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'socket' });
    exits(w, pidOf(w, 'web'), null, 'SIGTERM');
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    deliverFirst(w, 'config-loaded');
    expect(w.state.services.get('web')).toMatchObject({ desired: 'down', phase: 'stopped' });
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    deliverFirst(w, 'config-loaded');
    expect(w.state.services.get('web')).toMatchObject({ desired: 'up', phase: 'starting' });
  });
});
