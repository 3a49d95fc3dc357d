// Named regression tests for the two keepalived bugs in shared/seeds/, as event sequences.
import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replay.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { plain } from '../support/plain.js';
import { deliverAll, deliverFirst, fireTimer, logged, scenario } from '../support/world.js';

const withCheck = makeConfig({
  services: { web: svc() },
  checks: { probe: chk({ timeout: '1s', interval: '5s' }) },
});
// Its script changes (a new timeout alone would apply in place, the run still counting).
const checkChanged = makeConfig({
  services: { web: svc() },
  checks: { probe: chk({ command: ['sh', '-c', 'exit 0'], timeout: '3s', interval: '5s' }) },
});
const checkRemoved = makeConfig({ services: { web: svc() }, checks: {} });

function startedWithCheckRun(next = checkChanged) {
  const w = scenario([withCheck, next]);
  deliverAll(w, 'spawned', 'check-started');
  const [entry] = [...w.state.procs.entries()].filter(([, e]) => e.kind === 'check');
  if (!entry) throw new Error('no check run');
  return { w, pid: entry[0] };
}

function reload(w: ReturnType<typeof scenario>) {
  w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
  deliverFirst(w, 'reload-requested');
  deliverFirst(w, 'config-loaded');
}

function expectSound(w: ReturnType<typeof scenario>) {
  expect(verifyInvariants(w.state)).toEqual([]);
  const r = replay(w.log, { check: true });
  expect(r.problems).toEqual([]);
  expect(plain(r.state)).toEqual(plain(w.state));
}

describe('keepalived #2468: reload while a check-script timeout is queued', () => {
  for (const [what, next] of [
    ['changes', checkChanged],
    ['removes', checkRemoved],
  ] as const) {
    it(`(a) timeout fired, a reload that ${what} the check is applied before it is handled, then the script exits`, () => {
      const { w, pid } = startedWithCheckRun(next);
      fireTimer(w, 'check-timeout'); // queued, not yet handled
      reload(w);
      expect(w.state.gen).toBe(2);
      expect(w.state.procs.get(pid)?.kind).toBe('check'); // the run is not forgotten

      deliverFirst(w, 'timer-fired', (e) => e.timer.kind === 'check-timeout');
      expect(logged(w, 'check-timed-out')).toMatchObject([{ name: 'probe', run: 1, pid }]);
      expect(w.lastEffects).toContainEqual({ do: 'signal-group', pid, signal: 'SIGTERM' });

      // It ignores SIGTERM: SIGKILL follows.
      fireTimer(w, 'stop-timeout', (k) => k.pid === pid);
      deliverFirst(w, 'timer-fired');
      expect(w.lastEffects).toEqual([{ do: 'signal-group', pid, signal: 'SIGKILL' }]);

      w.exitProcess([...w.live.keys()].indexOf(pid), 'signal');
      deliverFirst(w, 'exited', (e) => e.pid === pid);
      expect(w.state.procs.has(pid)).toBe(false);
      const finished = logged(w, 'check-finished').filter((e) => e.run === 1);
      expect(finished).toEqual([
        expect.objectContaining({ pid, timedOut: true, ok: false, stale: true, signal: 'SIGKILL' }),
      ]);
      if (next === checkRemoved) expect(w.state.checks.has('probe')).toBe(false);
      else expect(w.state.checks.get('probe')?.def.timeoutMs).toBe(3000);

      // A second exit for the same PID is harmless and removes nothing.
      w.pending.push({
        type: 'exited',
        pid,
        code: null,
        signal: 'SIGKILL',
        groupAlive: false,
        lastWords: null,
      });
      const before = w.state.procs;
      deliverFirst(w, 'exited');
      expect(w.state.procs).toBe(before);
      expect(w.lastRecords).toEqual([expect.objectContaining({ type: 'event-ignored' })]);
      expectSound(w);
    });
  }

  for (const withReload of [false, true]) {
    it(`(b) the exit arrives while the timeout is queued${withReload ? ', a reload between' : ''}: one outcome, the real status`, () => {
      const { w, pid } = startedWithCheckRun();
      fireTimer(w, 'check-timeout');
      w.exitProcess([...w.live.keys()].indexOf(pid), 'clean'); // exit 0 raced the deadline
      deliverFirst(w, 'exited', (e) => e.pid === pid);
      if (withReload) reload(w);
      deliverFirst(w, 'timer-fired', (e) => e.timer.kind === 'check-timeout');
      expect(w.lastEffects).toEqual([]);
      expect(w.lastRecords).toEqual([
        expect.objectContaining({
          type: 'event-ignored',
          reason: expect.stringMatching(/stale check-timeout/),
        }),
      ]);
      const finished = logged(w, 'check-finished');
      expect(finished).toEqual([
        expect.objectContaining({
          run: 1,
          pid,
          code: 0,
          signal: null,
          timedOut: false,
          ok: true,
          stale: false,
        }),
      ]);
      expect(logged(w, 'check-timed-out')).toEqual([]);
      expectSound(w);
    });
  }

  it('(b) the timeout is handled first: still one outcome, counted as a failure, with the real exit status', () => {
    const { w, pid } = startedWithCheckRun();
    fireTimer(w, 'check-timeout');
    deliverFirst(w, 'timer-fired');
    w.exitProcess([...w.live.keys()].indexOf(pid), 'signal');
    deliverFirst(w, 'exited', (e) => e.pid === pid);
    expect(logged(w, 'check-finished')).toEqual([
      expect.objectContaining({
        run: 1,
        timedOut: true,
        ok: false,
        stale: false,
        code: null,
        signal: 'SIGTERM',
      }),
    ]);
    expect(w.state.checks.get('probe')?.failures).toBe(1);
    expectSound(w);
  });

  it('(c) a reload removes a check whose run was requested but has not reported yet', () => {
    const w = scenario([withCheck, checkRemoved]);
    deliverAll(w, 'spawned');
    reload(w); // the check-started of run 1 is still queued
    expect(w.state.checks.get('probe')?.removed).toBe(true);
    deliverFirst(w, 'check-started');
    const pid = w.state.checks.get('probe')?.inFlight?.pid as number;
    expect(w.state.procs.get(pid)).toMatchObject({ kind: 'check', name: 'probe', gen: 1 });
    // Still killed on timeout, though its check is gone (keepalived after 7e04261d can lose it).
    fireTimer(w, 'check-timeout');
    deliverFirst(w, 'timer-fired');
    expect(w.lastEffects).toContainEqual({ do: 'signal-group', pid, signal: 'SIGTERM' });
    w.exitProcess([...w.live.keys()].indexOf(pid), 'signal');
    deliverFirst(w, 'exited');
    expect(w.state.procs.has(pid)).toBe(false);
    expect(w.state.checks.has('probe')).toBe(false);
    // No interval timer of the removed check can start another run.
    expect([...w.timers.values()].filter((t) => t.key.kind === 'check-interval')).toEqual([]);
    expectSound(w);
  });
});

describe('keepalived #2460: PID file after a respawn', () => {
  for (const signal of ['SIGTERM', 'SIGKILL', 'SIGSEGV']) {
    it(`(d) killed by ${signal}: removed for the owner only, rewritten whole with exactly the new PID`, () => {
      const cfg = makeConfig({ services: { web: svc({ pidFile: 'web.pid' }) } });
      const w = scenario([cfg]);
      deliverFirst(w, 'spawned');
      const old = w.state.services.get('web')?.pid as number;
      expect(w.lastEffects).toEqual([{ do: 'write-pidfile', path: '/run/procreg/web.pid', pid: old }]);

      w.pending.push({ type: 'exited', pid: old, code: null, signal, groupAlive: false, lastWords: null });
      w.live.delete(old);
      deliverFirst(w, 'exited');
      expect(w.lastEffects).toContainEqual({
        do: 'remove-pidfile',
        path: '/run/procreg/web.pid',
        ifPid: old,
      });
      expect(w.files.has('/run/procreg/web.pid')).toBe(false); // not left naming a dead PID during the backoff

      fireTimer(w, 'backoff');
      deliverFirst(w, 'timer-fired');
      deliverFirst(w, 'spawned');
      const fresh = w.state.services.get('web')?.pid as number;
      expect(fresh).not.toBe(old);
      expect(w.lastEffects).toEqual([{ do: 'write-pidfile', path: '/run/procreg/web.pid', pid: fresh }]);
      expect(w.files.get('/run/procreg/web.pid')).toBe(fresh);

      // A late duplicate exit of the old PID must not touch the new incarnation's file.
      w.pending.push({ type: 'exited', pid: old, code: null, signal, groupAlive: false, lastWords: null });
      deliverFirst(w, 'exited');
      expect(w.lastEffects).toEqual([]);
      expect(w.files.get('/run/procreg/web.pid')).toBe(fresh);
      const pidfileEffects = w.log.filter(
        (e) => e.type === 'pidfile-written' || e.type === 'pidfile-removed',
      );
      expect(pidfileEffects.map((e) => `${e.type}:${e.pid}`)).toEqual([
        `pidfile-written:${old}`,
        `pidfile-removed:${old}`,
        `pidfile-written:${fresh}`,
      ]);
      expectSound(w);
    });
  }
});
