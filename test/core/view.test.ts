import { describe, expect, it } from 'vitest';
import { registryView } from '../../src/core/view.js';
import { initialState } from '../../src/core/state.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, pidOf, runFinishes } from '../support/runs.js';
import { deliverAll, scenario } from '../support/world.js';

const SERVICES = ['web', 'db', 'api', 'zeta', 'cache'];
const CHECKS = ['alive', 'disk', 'ping'];

function running() {
  const w = scenario([
    makeConfig({
      services: Object.fromEntries(
        SERVICES.map((n) => [n, svc({ restart: n === 'db' ? 'never' : 'always' })]),
      ),
      checks: Object.fromEntries(CHECKS.map((n) => [n, chk()])),
    }),
  ]);
  deliverAll(w, 'spawned', 'check-started');
  return w;
}

describe('registryView', () => {
  it('of the initial state: nothing, at seq 0', () => {
    expect(registryView(initialState())).toEqual({
      seq: 0,
      generation: 0,
      phase: 'idle',
      services: [],
      checks: [],
      processes: [],
    });
  });

  it('lists services and checks sorted by name, whatever the order the registry keeps them in', () => {
    const w = running();
    // The registry's own order is hash order: the view has something to sort.
    expect(w.state.services.keys()).not.toEqual([...SERVICES].sort());
    expect(w.state.checks.keys()).not.toEqual([...CHECKS].sort());
    const v = registryView(w.state);
    expect(v.services.map((s) => s.name)).toEqual(['api', 'cache', 'db', 'web', 'zeta']);
    expect(v.checks.map((c) => c.name)).toEqual(['alive', 'disk', 'ping']);
  });

  it('lists processes by PID, with their kind and generation', () => {
    const w = running();
    const v = registryView(w.state);
    expect(v.processes.map((p) => p.pid)).toEqual([...w.live.keys()].sort((a, b) => a - b));
    expect(v.processes).toHaveLength(SERVICES.length + CHECKS.length);
    expect(v.processes.find((p) => p.pid === pidOf(w, 'web'))).toEqual({
      pid: pidOf(w, 'web'),
      name: 'web',
      kind: 'service',
      generation: 1,
      orphan: false,
      stopping: false,
    });
    const probe = w.state.checks.get('ping')?.inFlight?.pid;
    expect(v.processes.find((p) => p.pid === probe)).toMatchObject({ name: 'ping', kind: 'check' });
  });

  it('marks the processes that were sent their stop signal, and only those', () => {
    const w = running();
    const web = pidOf(w, 'web');
    w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    const v = registryView(w.state);
    expect(v.processes.filter((p) => p.stopping).map((p) => p.pid)).toEqual([web]);
    expect(v.services.find((s) => s.name === 'web')).toMatchObject({ state: 'stopping', pid: web });
  });

  it('stands at the state’s seq unless told the log position', () => {
    const w = running();
    expect(registryView(w.state).seq).toBe(w.state.seq);
    expect(w.state.seq).toBeGreaterThan(0);
    expect(registryView(w.state, 12_345).seq).toBe(12_345);
  });

  it('shows a service’s status: state, pid, incarnation, restarts, generation, last exit, reason', () => {
    const w = running();
    const started = w.time;
    w.advance(1500);
    exits(w, pidOf(w, 'db'), 2);
    const v = registryView(w.state);
    expect(v.services.find((s) => s.name === 'db')).toEqual({
      name: 'db',
      state: 'stopped',
      pid: null,
      incarnation: 1,
      restarts: 0,
      generation: 1,
      startedAt: null, // no uptime for a process that is gone
      startedMono: null,
      lastExit: { code: 2, signal: null, error: null, time: started + 1500, uptimeMs: 1500 },
      reason: 'exited (code 2); restart: never',
      desired: 'up',
      since: started + 1500,
      restartWindow: { recent: [], withinMs: 60_000, max: 10 },
      nextStartMono: null,
    });
    expect(v.services.find((s) => s.name === 'web')).toMatchObject({ state: 'running', startedAt: started });
  });

  it('shows a check’s health, run, run in flight and last result', () => {
    const w = running();
    const pid = w.state.checks.get('alive')?.inFlight?.pid;
    expect(registryView(w.state).checks[0]).toEqual({
      name: 'alive',
      healthy: null,
      run: 1,
      inFlight: pid,
      lastResult: null,
      paused: false,
    });
    w.advance(40);
    runFinishes(w, 'alive', 0);
    expect(registryView(w.state).checks[0]).toEqual({
      name: 'alive',
      healthy: true,
      run: 1,
      inFlight: null,
      lastResult: { ok: true, code: 0, signal: null, timedOut: false, durationMs: 40, time: w.time },
      paused: false,
    });
  });

  it('says when a service in backoff starts next: exactly when its backoff timer was armed for', () => {
    const w = scenario([
      makeConfig({ services: { web: svc({ backoff: { initial: '100ms', factor: 3, max: '10s' } }) } }),
    ]);
    deliverAll(w, 'spawned');
    for (let crash = 1; crash <= 4; crash++) {
      w.advance(30);
      exits(w, pidOf(w, 'web'), 1);
      const armed = w.lastEffects.find((e) => e.do === 'arm-timer');
      const web = registryView(w.state).services[0];
      expect(web?.state).toBe('backoff');
      expect(web?.nextStartMono).toBe(armed?.do === 'arm-timer' ? armed.at : 'no timer armed');
      expect(web?.lastExit?.uptimeMs).toBe(30);
      expect(web?.restartWindow).toEqual({
        recent: w.state.services.get('web')?.recentRestarts,
        withinMs: 60_000,
        max: 10,
      });
      w.fireNextTimer();
      deliverAll(w, 'timer-fired', 'spawned');
      expect(registryView(w.state).services[0]?.nextStartMono).toBe(null);
    }
  });

  it('marks the processes a crashed predecessor left as orphans, with their old generation', () => {
    const w = running();
    const left = w.state.procs.keys();
    w.pending.length = 0;
    w.timers.clear();
    w.start(); // a new instance on the same log: generation 2
    deliverAll(w, 'spawned', 'check-started');
    const v = registryView(w.state);
    expect(v.generation).toBe(2);
    expect(v.processes.filter((p) => p.orphan).map((p) => [p.pid, p.generation])).toEqual(
      left.map((pid) => [pid, 1]),
    );
    expect(v.processes.filter((p) => !p.orphan).every((p) => p.generation === 2)).toBe(true);
    // The new instance's services wait for their predecessors; its check runs do not.
    expect(v.services.map((s) => s.state)).toEqual(v.services.map(() => 'waiting'));
  });
});
