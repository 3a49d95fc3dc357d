import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { deliverAll, logged, scenario } from '../support/world.js';

describe('crash recovery', () => {
  it('reports the processes a crashed predecessor left, reaps them, and removes their PID files', () => {
    const cfg = makeConfig({ services: { web: svc() }, checks: { probe: chk() } });
    const w = scenario([cfg]);
    deliverAll(w, 'spawned', 'check-started');
    const left = w.state.procs.keys();
    expect(left).toHaveLength(2);
    w.pending.length = 0;
    w.timers.clear();
    w.start(); // the new instance, on the same log
    expect(logged(w, 'orphan-found').map((e) => e.pid)).toEqual(left);
    deliverAll(w, 'orphan-reaped');
    for (const pid of left) expect(w.state.procs.has(pid)).toBe(false);
    expect(logged(w, 'orphan-reaped').map((e) => e.outcome)).toEqual(['killed', 'killed']);
    expect(w.files.has('/run/procreg/web.pid')).toBe(false);
    deliverAll(w, 'spawned', 'check-started');
    expect(w.state).toMatchObject({ instance: 2, gen: 2, phase: 'running' });
    expect(w.live.size).toBe(2);
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('treats a spawn of the previous instance reported after the restart as an orphan to reap', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    const late = w.pending.splice(0, w.pending.length); // the predecessor forked but died before logging it
    w.timers.clear();
    w.start();
    const spawned = late.find((e) => e.type === 'spawned');
    if (spawned?.type !== 'spawned') throw new Error('no spawned queued');
    w.deliver(spawned);
    expect(w.lastRecords).toEqual([
      expect.objectContaining({ type: 'orphan-found', pid: spawned.pid, name: 'web' }),
    ]);
    expect(w.lastEffects).toEqual([{ do: 'reap-orphan', pid: spawned.pid, startTime: spawned.startTime }]);
    deliverAll(w, 'orphan-reaped', 'spawned');
    expect(w.state.procs.has(spawned.pid)).toBe(false);
    expect(w.state.services.get('web')?.phase).toBe('running');
    expect(verifyInvariants(w.state)).toEqual([]);
  });
});
