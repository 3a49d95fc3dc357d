import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import { initialState } from '../../src/core/state.js';
import { step } from '../../src/core/step.js';
import { stamp } from '../../src/events/codec.js';
import { World } from '../../src/sim/world.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, pidOf } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, logged, scenario } from '../support/world.js';

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

const ignored = (w: World) => w.lastRecords.map((r) => (r.type === 'event-ignored' ? r.reason : r.type));

describe('supervisor-started', () => {
  it('begins a new instance: starting, no config yet, generations after any before it', () => {
    const res = step(
      initialState(),
      stamp({ type: 'supervisor-started', pid: 1, version: 'x', bootId: null }, 1, 0, 0),
    );
    expect(res.state).toMatchObject({ instance: 1, instanceGen: 1, phase: 'starting', gen: 0, config: null });
    expect(res.effects).toEqual([]);
    expect(res.records).toEqual([]);
    const w = running();
    w.deliver({ type: 'supervisor-started', pid: 2, version: 'x', bootId: null });
    expect(w.state).toMatchObject({ instance: 2, instanceGen: 2, phase: 'starting', gen: 1, config: null });
    expect(w.state.services.size).toBe(0);
    expect(w.state.checks.size).toBe(0);
  });
});

describe('orphan-reaped', () => {
  it('is ignored for a process of this instance', () => {
    const w = running();
    const pid = pidOf(w, 'web');
    w.deliver({ type: 'orphan-reaped', pid, outcome: 'killed', detail: null });
    expect(ignored(w)).toEqual([`pid ${pid} is not an orphan of a previous instance`]);
    expect(w.state.procs.has(pid)).toBe(true);
  });

  it('takes the orphan out of the tree and removes its PID file only if it was its own', () => {
    const w = running();
    const web = pidOf(w, 'web');
    const probe = w.state.checks.get('alive')?.inFlight?.pid as number;
    w.pending.length = 0;
    w.timers.clear();
    w.deliver({ type: 'supervisor-started', pid: 2, version: 'x', bootId: null });
    w.pending.length = 0; // the shell reports the reaping below
    w.deliver({ type: 'orphan-reaped', pid: web, outcome: 'gone', detail: null });
    expect(w.lastEffects).toEqual([{ do: 'remove-pidfile', path: '/run/procreg/web.pid', ifPid: web }]);
    expect(w.state.procs.has(web)).toBe(false);
    w.deliver({ type: 'orphan-reaped', pid: probe, outcome: 'pid-reused', detail: null });
    expect(w.lastEffects).toEqual([]); // a check run has no PID file
    expect(w.state.procs.has(probe)).toBe(false);
  });
});

describe('supervisor-stopping', () => {
  it('stops every service and check run, and asks the shell to exit only once every process is gone', () => {
    const w = running();
    const web = pidOf(w, 'web');
    const db = pidOf(w, 'db');
    const probe = w.state.checks.get('alive')?.inFlight?.pid as number;
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    expect(w.state.phase).toBe('stopping');
    expect(logged(w, 'stop-begun').map((e) => [e.name, e.reason])).toEqual([
      ['db', 'supervisor-stopping'],
      ['web', 'supervisor-stopping'],
    ]);
    expect(w.lastEffects).toContainEqual({ do: 'signal-group', pid: probe, signal: 'SIGTERM' });
    expect(w.lastEffects).not.toContainEqual({ do: 'exit' });
    exits(w, web, null, 'SIGTERM');
    exits(w, probe, null, 'SIGTERM');
    expect(w.lastEffects).not.toContainEqual({ do: 'exit' });
    expect(w.exitRequested).toBe(false);
    exits(w, db, null, 'SIGTERM');
    expect(w.lastEffects.at(-1)).toEqual({ do: 'exit' });
    expect(w.state.services.get('web')).toMatchObject({ phase: 'stopped', reason: 'supervisor stopping' });
    expect(w.files.size).toBe(0);
    w.deliver({ type: 'supervisor-stopped' });
    expect(w.state.phase).toBe('stopped');
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('asks the shell to exit at once when nothing runs', () => {
    const w = scenario([makeConfig({ services: { once: svc({ restart: 'never' }) } })]);
    deliverAll(w, 'spawned');
    exits(w, pidOf(w, 'once'), 0);
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    expect(w.lastEffects).toEqual([{ do: 'exit' }]);
  });

  it('waits for a process still being started, then stops it', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    expect(w.lastEffects).toEqual([]);
    const spawned = deliverFirst(w, 'spawned');
    expect(w.lastRecords).toEqual([
      { type: 'stop-begun', pid: spawned.pid, name: 'web', signal: 'SIGTERM', reason: 'supervisor-stopping' },
    ]);
    exits(w, spawned.pid, null, 'SIGTERM');
    expect(w.lastEffects.at(-1)).toEqual({ do: 'exit' });
  });

  it('is ignored when the supervisor is already stopping', () => {
    const w = running();
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGINT' });
    expect(ignored(w)).toEqual(['already stopping (SIGINT)']);
    expect(w.lastEffects).toEqual([]);
  });

  // BUG (src/core/step.ts:85-86, src/core/services.ts:125 onSpawnFailed): exitIfQuiet runs
  // after an exit, an orphan's reaping and the stop itself, but not after spawn-failed. When
  // the last thing a stop waits for is a spawn that then fails, the fold never asks the shell
  // to exit: Supervisor.stop() would wait forever. (The stop property in
  // fold.property.test.ts runs its world without spawn failures.)
  it('asks the shell to exit when the spawn it was waiting for fails', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    w.pending.length = 0; // the spawn is under way
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    expect(w.lastEffects).toEqual([]);
    w.deliver({ type: 'spawn-failed', name: 'web', gen: 1, incarnation: 1, error: 'ENOENT' });
    expect(w.state).toMatchObject({ phase: 'stopping' });
    expect(w.state.procs.size).toBe(0);
    expect(w.lastEffects).toContainEqual({ do: 'exit' });
  });

  // BUG (same cause; src/core/step.ts:89-90, src/core/checks.ts:117 onCheckStartFailed): the
  // same for a check run whose script could not be started while the stop waited for it.
  it('asks the shell to exit when the check run it was waiting for cannot start', () => {
    const w = scenario([makeConfig({ checks: { alive: chk() } })]);
    w.pending.length = 0; // the run is under way
    w.deliver({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    expect(w.lastEffects).not.toContainEqual({ do: 'exit' });
    w.deliver({ type: 'check-start-failed', name: 'alive', gen: 1, run: 1, error: 'EACCES' });
    expect(w.state.checks.get('alive')?.inFlight).toBeNull();
    expect(w.lastEffects).toContainEqual({ do: 'exit' });
  });
});

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
    // The new web waits until the old one is gone: two copies never run at once.
    expect(w.state.services.get('web')).toMatchObject({
      phase: 'waiting',
      reason: `waiting for pid ${left[0]} of the previous procreg to exit`,
    });
    deliverAll(w, 'orphan-reaped');
    expect(logged(w, 'orphan-reaped').map((e) => e.outcome)).toEqual(['signalled', 'signalled']);
    // Stopped gracefully: the stop signal, SIGKILL (proven ours again) only after the stop timeout.
    for (const pid of left) expect(w.state.stopping.has(pid)).toBe(true);
    deliverAll(w, 'group-exited');
    for (const pid of left) expect(w.state.procs.has(pid)).toBe(false);
    expect(w.files.has('/run/procreg/web.pid')).toBe(false);
    expect(w.state.services.get('web')?.phase).toBe('starting');
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
    expect(w.lastEffects).toEqual([
      {
        do: 'reap-orphan',
        pid: spawned.pid,
        startTime: spawned.startTime,
        exe: spawned.exe,
        signal: 'SIGTERM',
      },
    ]);
    deliverAll(w, 'orphan-reaped', 'group-exited', 'spawned');
    expect(w.state.procs.has(spawned.pid)).toBe(false);
    expect(w.state.services.get('web')?.phase).toBe('running');
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('kills a predecessor that ignores its stop signal after the stop timeout, proving it ours again first', () => {
    const w = scenario([makeConfig({ services: { web: svc({ stopTimeout: '3s' }) } })]);
    deliverAll(w, 'spawned');
    const pid = w.state.services.get('web')?.pid as number;
    w.pending.length = 0;
    w.timers.clear();
    w.start();
    w.live.set(pid, { pid, kind: 'service', children: false, signalled: null }); // it survives its signal
    w.deliver({ type: 'orphan-reaped', pid, outcome: 'signalled', detail: null });
    expect(w.lastEffects).toContainEqual({ do: 'watch-group', pid });
    w.advance(3000);
    fireTimer(w, 'stop-timeout', (k) => k.pid === pid);
    deliverFirst(w, 'timer-fired');
    expect(w.lastEffects).toEqual([
      { do: 'reap-orphan', pid, startTime: pid * 10, exe: '/usr/bin/sim', signal: 'SIGKILL' },
    ]);
    // The second 'signalled' changes nothing: the stop is under way, the group is watched.
    w.deliver({ type: 'orphan-reaped', pid, outcome: 'signalled', detail: null });
    expect(w.lastEffects).toEqual([]);
    w.deliver({ type: 'group-exited', pid });
    expect(w.state.procs.has(pid)).toBe(false);
    expect(w.state.services.get('web')?.phase).toBe('starting');
  });

  it("leaves alone a process at an orphan's PID that is not the one procreg started, and starts the service", () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    deliverAll(w, 'spawned');
    const pid = w.state.services.get('web')?.pid as number;
    w.pending.length = 0;
    w.timers.clear();
    w.start();
    w.pending.length = 0;
    w.deliver({ type: 'orphan-reaped', pid, outcome: 'not-ours', detail: 'started at tick 5' });
    expect(w.lastEffects).not.toContainEqual(expect.objectContaining({ do: 'signal-group' }));
    expect(w.state.procs.has(pid)).toBe(false);
    expect(w.lastEffects).toContainEqual(expect.objectContaining({ do: 'spawn', name: 'web' }));
  });

  it('forgets, never reaps, what a predecessor left in an earlier boot', () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    deliverAll(w, 'spawned');
    const pid = w.state.services.get('web')?.pid as number;
    w.pending.length = 0;
    w.timers.clear();
    w.deliver({ type: 'supervisor-started', pid: 1, version: 'x', bootId: 'another-boot' });
    expect(w.lastRecords).toEqual([
      {
        type: 'orphan-forgotten',
        pid,
        name: 'web',
        reason: 'left in an earlier boot (sim-boot); this is boot another-boot',
      },
    ]);
    expect(w.lastEffects).toEqual([{ do: 'remove-pidfile', path: '/run/procreg/web.pid', ifPid: pid }]);
    expect(w.state.procs.size).toBe(0);
    expect(w.state.bootId).toBe('another-boot');
  });
});

describe('a leader that exits while its group lives on', () => {
  it("stops the rest of the group and ends the incarnation only when the group is gone, with the leader's status", () => {
    const w = new World({
      configs: [makeConfig({ services: { web: svc({ stopTimeout: '2s' }) } })],
      lingering: 1,
      seed: 1,
    });
    w.start();
    deliverAll(w, 'spawned');
    const pid = w.state.services.get('web')?.pid as number;
    w.exitProcess(0, 'fail');
    deliverFirst(w, 'exited');
    expect(w.lastRecords).toEqual([
      { type: 'stop-begun', pid, name: 'web', signal: 'SIGTERM', reason: 'leader-exited' },
    ]);
    expect(w.lastEffects).toEqual([
      { do: 'watch-group', pid },
      { do: 'signal-group', pid, signal: 'SIGTERM' },
      { do: 'signal-group', pid, signal: 'SIGCONT' },
      expect.objectContaining({
        do: 'arm-timer',
        timer: expect.objectContaining({ kind: 'stop-timeout', pid }),
      }),
    ]);
    // Still its incarnation: running, the PID file in place, until the group is gone.
    expect(w.state.services.get('web')).toMatchObject({ phase: 'running', pid });
    expect(w.state.procs.get(pid)?.leaderExit).toEqual({ code: 1, signal: null, lastWords: null });
    deliverFirst(w, 'group-exited');
    expect(w.state.procs.has(pid)).toBe(false);
    expect(w.state.services.get('web')).toMatchObject({
      phase: 'backoff',
      lastExit: expect.objectContaining({ pid, code: 1 }),
    });
    expect(w.lastEffects).toContainEqual({ do: 'remove-pidfile', path: '/run/procreg/web.pid', ifPid: pid });
    expect(verifyInvariants(w.state)).toEqual([]);
  });
});
