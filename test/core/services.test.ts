import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import type { World } from '../../src/sim/world.js';
import { makeConfig, svc } from '../support/configs.js';
import { exits, pidOf } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, logged, scenario } from '../support/world.js';

/** Let the current incarnation of `name` die after `uptimeMs`, as the kernel would report it. */
function dies(
  w: World,
  name: string,
  uptimeMs: number,
  how: { code?: number; signal?: string } = { code: 1 },
) {
  const pid = w.state.services.get(name)?.pid;
  if (pid == null) throw new Error(`${name} is not running`);
  w.advance(uptimeMs);
  w.live.delete(pid);
  w.pending.push({
    type: 'exited',
    pid,
    code: how.signal ? null : (how.code ?? 1),
    signal: how.signal ?? null,
    groupAlive: false,
    lastWords: null,
  });
  deliverFirst(w, 'exited', (e) => e.pid === pid);
}

function respawn(w: World) {
  fireTimer(w, 'backoff');
  deliverFirst(w, 'timer-fired');
  deliverFirst(w, 'spawned');
}

describe('restart policy', () => {
  it('backs off exponentially, caps the delay, and resets it after a stable uptime', () => {
    const cfg = makeConfig({
      services: {
        web: svc({
          backoff: { initial: '100ms', max: '1s', factor: 2, resetAfter: '10s' },
          maxRestarts: { count: 100, within: '1m' },
        }),
      },
    });
    const w = scenario([cfg]);
    deliverFirst(w, 'spawned');
    for (let i = 0; i < 6; i++) {
      dies(w, 'web', 50);
      respawn(w);
    }
    expect(logged(w, 'restart-scheduled').map((e) => e.delayMs)).toEqual([100, 200, 400, 800, 1000, 1000]);
    dies(w, 'web', 10_000); // lived long enough: stable
    expect(logged(w, 'restart-scheduled').at(-1)?.delayMs).toBe(100);
    expect(w.state.services.get('web')?.restarts).toBe(7);
  });

  it('gives up after maxRestarts within the window, counting every restart, and says why', () => {
    const cfg = makeConfig({
      services: { web: svc({ maxRestarts: { count: 3, within: '1m' }, backoff: { resetAfter: '1s' } }) },
    });
    const w = scenario([cfg]);
    deliverFirst(w, 'spawned');
    // Each incarnation lives long enough to reset the backoff: the limit counts them anyway.
    for (let i = 0; i < 3; i++) {
      dies(w, 'web', 2_000);
      respawn(w);
    }
    dies(w, 'web', 2_000);
    const web = w.state.services.get('web');
    expect(web?.phase).toBe('given-up');
    expect(web?.reason).toBe('more than 3 restarts within 60000ms');
    expect(logged(w, 'service-given-up')).toEqual([
      expect.objectContaining({ name: 'web', restarts: 3, withinMs: 60_000 }),
    ]);
    expect(w.timers.size).toBe(0);
  });

  it('stops restarting at once on a fatal exit code', () => {
    const w = scenario([makeConfig({ services: { worker: svc({ fatalExitCodes: [3, 4] }) } })]);
    deliverFirst(w, 'spawned');
    dies(w, 'worker', 10, { code: 4 });
    expect(w.state.services.get('worker')).toMatchObject({
      phase: 'failed',
      reason: 'exit code 4 is listed in fatalExitCodes',
    });
    expect(logged(w, 'service-failed')).toEqual([expect.objectContaining({ name: 'worker', code: 4 })]);
    expect(w.timers.size).toBe(0);
  });

  it('on-failure leaves a clean exit alone but restarts a crash; never restarts nothing', () => {
    const w = scenario([
      makeConfig({ services: { job: svc({ restart: 'on-failure' }), once: svc({ restart: 'never' }) } }),
    ]);
    deliverFirst(w, 'spawned');
    deliverFirst(w, 'spawned');
    dies(w, 'job', 10, { signal: 'SIGSEGV' });
    expect(w.state.services.get('job')?.phase).toBe('backoff');
    respawn(w);
    dies(w, 'job', 10, { code: 0 });
    expect(w.state.services.get('job')?.phase).toBe('stopped');
    dies(w, 'once', 10, { code: 2 });
    expect(w.state.services.get('once')).toMatchObject({
      phase: 'stopped',
      reason: 'exited (code 2); restart: never',
    });
  });

  it('a spawn failure counts as a failed incarnation and is retried with backoff', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    const spawned = w.pending.findIndex((e) => e.type === 'spawned');
    w.pending.splice(spawned, 1, {
      type: 'spawn-failed',
      name: 'web',
      gen: 1,
      incarnation: 1,
      error: 'ENOENT: node',
    });
    deliverFirst(w, 'spawn-failed');
    expect(w.state.services.get('web')).toMatchObject({
      phase: 'backoff',
      lastExit: { error: 'ENOENT: node' },
    });
  });
});

describe('stopping a service', () => {
  it('sends the stop signal to the group, SIGKILL after the stop timeout, and stays stopped', () => {
    const w = scenario([makeConfig({ services: { web: svc({ stopSignal: 'SIGINT', stopTimeout: '2s' }) } })]);
    deliverFirst(w, 'spawned');
    const pid = w.state.services.get('web')?.pid as number;
    w.pending.push({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    deliverFirst(w, 'stop-requested');
    expect(w.lastEffects).toEqual([
      { do: 'signal-group', pid, signal: 'SIGINT' },
      { do: 'signal-group', pid, signal: 'SIGCONT' },
      {
        do: 'arm-timer',
        timer: { kind: 'stop-timeout', pid, name: 'web', gen: 1, serial: 1 },
        at: w.time + 2000,
      },
    ]);
    fireTimer(w, 'stop-timeout');
    deliverFirst(w, 'timer-fired');
    expect(w.lastEffects).toEqual([{ do: 'signal-group', pid, signal: 'SIGKILL' }]);
    dies(w, 'web', 0, { signal: 'SIGKILL' });
    expect(w.state.services.get('web')).toMatchObject({
      phase: 'stopped',
      reason: 'stopped by operator (test)',
      pid: null,
    });
    expect(w.files.size).toBe(0);
    expect(w.timers.size).toBe(0);

    w.pending.push({ type: 'start-requested', target: 'service', name: 'web', source: 'test' });
    deliverFirst(w, 'start-requested');
    deliverFirst(w, 'spawned');
    expect(w.state.services.get('web')?.phase).toBe('running');
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('a stop request during the backoff cancels the pending restart', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    deliverFirst(w, 'spawned');
    dies(w, 'web', 10);
    w.pending.push({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    deliverFirst(w, 'stop-requested');
    expect(w.state.services.get('web')?.phase).toBe('stopped');
    expect(w.timers.size).toBe(0);
  });

  it('a request for an unknown service is answered so, naming the services there are', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    w.pending.push({ type: 'stop-requested', target: 'service', name: 'nope', source: 'test' });
    deliverFirst(w, 'stop-requested');
    expect(w.lastRecords).toEqual([
      expect.objectContaining({
        type: 'request-answered',
        outcome: 'unknown',
        message: 'no service or check named "nope"; services: web; checks: none',
      }),
    ]);
  });
});

describe('a service that daemonizes itself (daemon-suspected)', () => {
  it('fails with the advice once its main process is gone, instead of restarting in a loop', () => {
    const w = scenario([makeConfig({ services: { redis: svc() } })]);
    deliverFirst(w, 'spawned');
    const pid = pidOf(w, 'redis');
    w.deliver({ type: 'daemon-suspected', pid, left: [pid + 1], escaped: true, afterMs: 30 });
    exits(w, pid, 0);
    const status = w.state.services.get('redis');
    expect(status).toMatchObject({ phase: 'failed', pid: null });
    expect(status?.reason).toMatch(/^looks like it daemonized itself: .*run it in the foreground/);
    expect(logged(w, 'service-failed')).toEqual([expect.objectContaining({ name: 'redis', code: 0 })]);
    expect(logged(w, 'restart-scheduled')).toEqual([]);
  });

  it('is ignored for a PID that is not a running main process, or when what was left is procreg’s own', () => {
    const w = scenario([makeConfig({ services: { a: svc(), b: svc() } })]);
    deliverAll(w, 'spawned');
    const [a, b] = [pidOf(w, 'a'), pidOf(w, 'b')];
    w.deliver({ type: 'daemon-suspected', pid: 999_999, left: [1], escaped: true, afterMs: 30 });
    w.deliver({ type: 'daemon-suspected', pid: a, left: [b], escaped: true, afterMs: 30 });
    expect(logged(w, 'event-ignored')).toHaveLength(2);
    exits(w, a, 0);
    expect(logged(w, 'restart-scheduled')).toEqual([expect.objectContaining({ name: 'a' })]);
  });
});
