import { describe, expect, it } from 'vitest';
import { chk, makeConfig, svc } from '../support/configs.js';
import { nextRun, runFinishes } from '../support/runs.js';
import { deliverAll, deliverFirst, logged, scenario } from '../support/world.js';

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
    w.pending.push({ type: 'exited', pid: webPid, code: null, signal: 'SIGTERM' });
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
});
