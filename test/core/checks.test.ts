import { describe, expect, it } from 'vitest';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, nextRun, pidOf, runFinishes } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, logged, scenario } from '../support/world.js';

describe('checks (keepalived vrrp_script semantics)', () => {
  it('turns healthy after rise successes and unhealthy after fall failures, and restarts its service', () => {
    const cfg = makeConfig({
      services: { web: svc() },
      checks: { alive: chk({ rise: 2, fall: 3, restarts: 'web' }) },
    });
    const w = scenario([cfg]);
    deliverFirst(w, 'spawned');
    const webPid = w.state.services.get('web')?.pid as number;
    const health = () => w.state.checks.get('alive')?.healthy;
    runFinishes(w, 'alive', 0);
    expect(health()).toBeNull();
    nextRun(w);
    runFinishes(w, 'alive', 0);
    expect(health()).toBe(true);
    for (let i = 0; i < 2; i++) {
      nextRun(w);
      runFinishes(w, 'alive', 1);
      expect(health()).toBe(true);
    }
    nextRun(w);
    runFinishes(w, 'alive', 1);
    expect(health()).toBe(false);
    expect(logged(w, 'check-health-changed').map((e) => e.healthy)).toEqual([true, false]);
    expect(logged(w, 'stop-begun')).toEqual([
      expect.objectContaining({ pid: webPid, reason: 'check-failed' }),
    ]);
    // The restart is immediate once the old incarnation has exited, and it counts.
    w.live.delete(webPid);
    w.pending.push({
      type: 'exited',
      pid: webPid,
      code: null,
      signal: 'SIGTERM',
      groupAlive: false,
      lastWords: null,
    });
    deliverFirst(w, 'exited', (e) => e.pid === webPid);
    deliverFirst(w, 'spawned');
    expect(w.state.services.get('web')).toMatchObject({ phase: 'running', restarts: 1, incarnation: 2 });
  });

  it('skips a run while the previous one is still in flight', () => {
    const w = scenario([makeConfig({ checks: { slow: chk({ interval: '1s', timeout: '10s' }) } })]);
    deliverAll(w, 'check-started');
    nextRun(w);
    expect(logged(w, 'check-skipped')).toEqual([
      expect.objectContaining({ name: 'slow', run: 2, reason: 'run 1 is still in flight' }),
    ]);
    expect(logged(w, 'check-run-requested')).toHaveLength(1);
    runFinishes(w, 'slow', 0);
    nextRun(w);
    expect(logged(w, 'check-run-requested').map((e) => e.run)).toEqual([1, 2]);
  });

  it('a run past its timeout gets SIGTERM, then SIGKILL after killAfter, and counts as one failure with its real status', () => {
    const w = scenario([
      makeConfig({ checks: { slow: chk({ timeout: '1s', killAfter: '500ms', interval: '5s' }) } }),
    ]);
    const started = deliverFirst(w, 'check-started');
    const pid = started.pid;
    fireTimer(w, 'check-timeout');
    deliverFirst(w, 'timer-fired');
    expect(w.lastRecords).toEqual([{ type: 'check-timed-out', name: 'slow', gen: 1, run: 1, pid }]);
    expect(w.lastEffects).toEqual([
      { do: 'signal-group', pid, signal: 'SIGTERM' },
      { do: 'signal-group', pid, signal: 'SIGCONT' },
      {
        do: 'arm-timer',
        timer: { kind: 'stop-timeout', pid, name: 'slow', gen: 1, serial: 1 },
        at: w.time + 500,
      },
    ]);
    fireTimer(w, 'stop-timeout');
    deliverFirst(w, 'timer-fired');
    expect(w.lastEffects).toEqual([{ do: 'signal-group', pid, signal: 'SIGKILL' }]);
    exits(w, pid, null, 'SIGKILL');
    expect(logged(w, 'check-finished')).toEqual([
      expect.objectContaining({
        run: 1,
        pid,
        code: null,
        signal: 'SIGKILL',
        ok: false,
        timedOut: true,
        stale: false,
      }),
    ]);
    expect(w.state.checks.get('slow')).toMatchObject({ healthy: false, failures: 1, inFlight: null });
    expect(w.state.checks.get('slow')?.lastResult).toMatchObject({ timedOut: true, durationMs: 1500 });
  });

  it('a run whose script cannot start counts as a failure', () => {
    const w = scenario([makeConfig({ checks: { alive: chk() } })]);
    w.pending.length = 0;
    w.deliver({ type: 'check-start-failed', name: 'alive', gen: 1, run: 1, error: 'EACCES' });
    expect(w.lastRecords).toEqual([
      expect.objectContaining({ type: 'check-finished', run: 1, pid: null, ok: false, stale: false }),
      { type: 'check-health-changed', name: 'alive', healthy: false },
    ]);
    expect(w.state.checks.get('alive')?.inFlight).toBeNull();
  });

  it('a report for a run it is not waiting for is ignored, and a process it did not ask for is stopped', () => {
    const w = scenario([makeConfig({ checks: { alive: chk() } })]);
    w.deliver({ type: 'check-start-failed', name: 'alive', gen: 1, run: 9, error: 'EACCES' });
    expect(w.lastRecords).toEqual([
      expect.objectContaining({
        type: 'event-ignored',
        reason: 'check-start-failed for alive run 9 that the registry is not waiting for',
      }),
    ]);
    w.deliver({
      type: 'check-started',
      name: 'alive',
      gen: 1,
      run: 9,
      pid: 4000,
      startTime: null,
      exe: null,
    });
    expect(w.lastEffects).toContainEqual({ do: 'signal-group', pid: 4000, signal: 'SIGTERM' });
    expect(w.state.procs.get(4000)).toMatchObject({ kind: 'check', run: 9 });
  });

  it('turning unhealthy does not revive a service that was stopped', () => {
    const w = scenario([
      makeConfig({ services: { web: svc() }, checks: { alive: chk({ restarts: 'web' }) } }),
    ]);
    deliverFirst(w, 'spawned');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    exits(w, pidOf(w, 'web'), null, 'SIGTERM');
    runFinishes(w, 'alive', 1);
    expect(w.state.checks.get('alive')?.healthy).toBe(false);
    expect(w.state.services.get('web')).toMatchObject({ phase: 'stopped', desired: 'down' });
    expect(logged(w, 'spawn-requested')).toHaveLength(1);
  });
});

describe('startPeriod: a fresh service gets time to come up', () => {
  const cfg = (startPeriod: string) =>
    makeConfig({
      services: { web: svc({ backoff: { initial: '10s' } }) },
      checks: { alive: chk({ interval: '1s', fall: 1, restarts: 'web', startPeriod }) },
    });
  const health = (w: ReturnType<typeof scenario>) => w.state.checks.get('alive')?.healthy;

  it('failures during it neither count toward fall nor restart the service; the first success ends it', () => {
    const w = scenario([cfg('5s')]);
    deliverFirst(w, 'spawned');
    for (let i = 0; i < 3; i++) {
      runFinishes(w, 'alive', 1);
      expect(health(w)).toBeNull();
      expect(w.state.checks.get('alive')?.failures).toBe(0);
      nextRun(w);
    }
    expect(logged(w, 'stop-begun')).toEqual([]);
    runFinishes(w, 'alive', 0);
    expect(health(w)).toBe(true);
    expect(w.state.checks.get('alive')?.startPeriodFrom).toBeNull();
    // Ended by the success: the next failure counts at once (fall 1), within the 5 s too.
    nextRun(w);
    runFinishes(w, 'alive', 1);
    expect(health(w)).toBe(false);
    expect(logged(w, 'stop-begun')).toEqual([expect.objectContaining({ reason: 'check-failed' })]);
  });

  it('failures after it has passed count, and each new incarnation begins it again', () => {
    const w = scenario([cfg('2500ms')]);
    deliverFirst(w, 'spawned');
    runFinishes(w, 'alive', 1); // t+0: uncounted
    nextRun(w);
    runFinishes(w, 'alive', 1); // t+1s: uncounted
    nextRun(w);
    runFinishes(w, 'alive', 1); // t+2s: uncounted
    expect(health(w)).toBeNull();
    nextRun(w);
    runFinishes(w, 'alive', 1); // t+3s: past the period
    expect(health(w)).toBe(false);
    const old = pidOf(w, 'web');
    exits(w, old, null, 'SIGTERM');
    deliverFirst(w, 'spawned');
    expect(w.state.services.get('web')?.incarnation).toBe(2);
    nextRun(w);
    runFinishes(w, 'alive', 1);
    expect(logged(w, 'stop-begun')).toHaveLength(1); // the new incarnation is in its start period
  });

  it('without startPeriod the first failure counts (the spurious restart the issue saw)', () => {
    const w = scenario([cfg('0ms')]);
    deliverFirst(w, 'spawned');
    runFinishes(w, 'alive', 1);
    expect(health(w)).toBe(false);
    expect(logged(w, 'stop-begun')).toHaveLength(1);
  });
});

describe('a check turning unhealthy during a backoff', () => {
  it('does not cut the backoff short: the service restarts when its backoff ends', () => {
    const w = scenario([
      makeConfig({
        services: { web: svc({ backoff: { initial: '3s' } }) },
        checks: { alive: chk({ interval: '1s', fall: 1, restarts: 'web' }) },
      }),
    ]);
    deliverFirst(w, 'spawned');
    runFinishes(w, 'alive', 0);
    exits(w, pidOf(w, 'web'), 1); // a crash: restart in 3 s
    expect(w.state.services.get('web')?.phase).toBe('backoff');
    const crashedAt = w.time;
    nextRun(w);
    runFinishes(w, 'alive', 1);
    expect(w.state.checks.get('alive')?.healthy).toBe(false);
    expect(w.state.services.get('web')?.phase).toBe('backoff');
    expect(logged(w, 'spawn-requested')).toHaveLength(1);
    fireTimer(w, 'backoff');
    deliverFirst(w, 'timer-fired');
    expect(logged(w, 'spawn-requested')).toHaveLength(2);
    expect(w.time - crashedAt).toBe(3000);
  });
});
