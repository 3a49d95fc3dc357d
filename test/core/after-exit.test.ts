import { describe, expect, it } from 'vitest';
import { decideAfterExit, describeExit } from '../../src/core/after-exit.js';
import { newServiceStatus } from '../../src/core/services.js';
import { type ExitInfo, type ServiceStatus, withService } from '../../src/core/state.js';
import { makeConfig, svc } from '../support/configs.js';

const T0 = 1_000_000;

/** web, running since T0 as pid 100, with this definition (as the config file spells it). */
function web(def: Record<string, unknown> = {}, patch: Partial<ServiceStatus> = {}): ServiceStatus {
  const d = makeConfig({
    services: {
      web: svc({
        backoff: { initial: '100ms', max: '10s', factor: 2, resetAfter: '1m' },
        maxRestarts: { count: 3, within: '10s' },
        ...def,
      }),
    },
  }).services.web;
  if (!d) throw new Error('no def');
  return withService(newServiceStatus('web', d, 1), {
    phase: 'running',
    pid: 100,
    incarnation: 1,
    spawnGen: 1,
    startedAt: T0,
    pidFile: { path: d.pidFile, pid: 100 },
    ...patch,
  });
}

/** pid 100 ended `afterMs` after T0. */
function exit(how: Partial<ExitInfo> = {}, afterMs = 500): ExitInfo {
  return {
    pid: 100,
    code: 1,
    signal: null,
    error: null,
    time: T0 + afterMs,
    mono: T0 + afterMs,
    lastWords: null,
    uptimeMs: afterMs,
    ...how,
  };
}

const decide = (s: ServiceStatus, e: ExitInfo = exit()) => decideAfterExit(s, e, 'running', e.mono);

describe('decideAfterExit: what happens once the current incarnation has ended', () => {
  describe('drop', () => {
    it('a service a reload removed goes, even while the supervisor stops', () => {
      const s = web({}, { desired: 'removed' });
      expect(decide(s)).toEqual({ kind: 'drop' });
      expect(decideAfterExit(s, exit(), 'stopping', T0)).toEqual({ kind: 'drop' });
    });
  });

  describe('stay-down', () => {
    it('while the supervisor stops, whatever the exit and the restart it was waiting for', () => {
      const s = web({}, { restartAfterExit: 'reload' });
      expect(decideAfterExit(s, exit(), 'stopping', T0 + 500)).toEqual({
        kind: 'stay-down',
        reason: 'supervisor stopping',
      });
    });

    it('after a stop request', () => {
      expect(decide(web({}, { desired: 'down' }))).toEqual({ kind: 'stay-down', reason: 'stop requested' });
    });

    it('with restart: never, whatever the exit, saying how it ended', () => {
      const never = web({ restart: 'never' });
      expect(decide(never, exit({ code: 2 }))).toEqual({
        kind: 'stay-down',
        reason: 'exited (code 2); restart: never',
      });
      expect(decide(never, exit({ code: null, signal: 'SIGSEGV' }))).toEqual({
        kind: 'stay-down',
        reason: 'exited (signal SIGSEGV); restart: never',
      });
    });

    it('with restart: on-failure after a clean exit 0 only', () => {
      const onFailure = web({ restart: 'on-failure' });
      expect(decide(onFailure, exit({ code: 0 }))).toEqual({
        kind: 'stay-down',
        reason: 'exited (code 0); restart: on-failure',
      });
      expect(decide(onFailure, exit({ code: 1 })).kind).toBe('backoff');
      expect(decide(onFailure, exit({ code: null, signal: 'SIGKILL' })).kind).toBe('backoff');
      expect(decide(onFailure, exit({ pid: null, code: null, error: 'ENOENT' })).kind).toBe('backoff');
    });
  });

  describe('respawn', () => {
    it.each(['reload', 'requested'] as const)(
      'a restart waiting for the exit (%s) happens at once and is not counted, even at the limit',
      (cause) => {
        const full = web({}, { restartAfterExit: cause, recentRestarts: [T0, T0 + 1, T0 + 2] });
        expect(decide(full)).toEqual({ kind: 'respawn', cause });
      },
    );
  });

  describe('after a failed check asked for the restart', () => {
    it('restart-now, counted with the restarts still in the window', () => {
      const s = web({}, { restartAfterExit: 'check-failed', recentRestarts: [T0 - 20_000, T0 + 100] });
      expect(decide(s)).toEqual({ kind: 'restart-now', recentRestarts: [T0 + 100, T0 + 500] });
    });

    it('give-up when that restart would be one too many, whatever the restart policy', () => {
      const s = web(
        { restart: 'never' },
        { restartAfterExit: 'check-failed', recentRestarts: [T0, T0 + 100, T0 + 200] },
      );
      expect(decide(s)).toEqual({ kind: 'give-up', reason: 'more than 3 restarts within 10000ms' });
    });
  });

  describe('fail', () => {
    it('on an exit code listed in fatalExitCodes, before the restart policy is asked', () => {
      expect(decide(web({ fatalExitCodes: [3, 4] }), exit({ code: 4 }))).toEqual({
        kind: 'fail',
        code: 4,
        reason: 'exit code 4 is listed in fatalExitCodes',
      });
      expect(decide(web({ restart: 'never', fatalExitCodes: [2] }), exit({ code: 2 }))).toMatchObject({
        kind: 'fail',
        code: 2,
      });
    });

    it('not on other codes, nor on a signal', () => {
      const s = web({ fatalExitCodes: [3] });
      expect(decide(s, exit({ code: 1 })).kind).toBe('backoff');
      expect(decide(s, exit({ code: null, signal: 'SIGTERM' })).kind).toBe('backoff');
    });
  });

  describe('give-up', () => {
    it('when one more restart would exceed maxRestarts within its window', () => {
      const s = web({}, { recentRestarts: [T0 - 9_000, T0 - 5_000, T0] });
      expect(decide(s)).toEqual({ kind: 'give-up', reason: 'more than 3 restarts within 10000ms' });
    });

    it('not once the oldest restart has left the window', () => {
      const s = web({}, { recentRestarts: [T0 - 9_500, T0 - 5_000, T0] });
      expect(decide(s)).toMatchObject({ kind: 'backoff', recentRestarts: [T0 - 5_000, T0, T0 + 500] });
    });

    it('maxRestarts.count 0 allows no restart at all', () => {
      expect(decide(web({ maxRestarts: { count: 0, within: '1s' } }))).toEqual({
        kind: 'give-up',
        reason: 'more than 0 restarts within 1000ms',
      });
    });
  });

  describe('backoff', () => {
    it('waits initial × factor^n, n being the quick failures before this one', () => {
      expect(decide(web({}, { quickFailures: 0 }))).toEqual({
        kind: 'backoff',
        delayMs: 100,
        quickFailures: 0,
        recentRestarts: [T0 + 500],
      });
      expect(decide(web({}, { quickFailures: 3 }))).toMatchObject({ delayMs: 800, quickFailures: 3 });
      expect(decide(web({}, { quickFailures: 20 }))).toMatchObject({ delayMs: 10_000, quickFailures: 20 });
    });

    it('starts the exponent over after an incarnation that lived resetAfter', () => {
      const s = web({}, { quickFailures: 5 });
      expect(decide(s, exit({}, 60_000))).toMatchObject({ kind: 'backoff', delayMs: 100, quickFailures: 0 });
      expect(decide(s, exit({}, 59_999))).toMatchObject({
        kind: 'backoff',
        delayMs: 3_200,
        quickFailures: 5,
      });
    });

    it('does not count a spawn failure as an uptime, however long since the last start', () => {
      const s = web({}, { quickFailures: 2, pid: null, phase: 'starting' });
      const failed = exit({ pid: null, code: null, error: 'ENOENT' }, 120_000);
      expect(decide(s, failed)).toMatchObject({ kind: 'backoff', delayMs: 400, quickFailures: 2 });
    });
  });
});

describe('describeExit', () => {
  it('says in a few words why an incarnation ended', () => {
    expect(describeExit(exit({ code: 1 }))).toBe('code 1');
    expect(describeExit(exit({ code: null, signal: 'SIGKILL' }))).toBe('signal SIGKILL');
    expect(describeExit(exit({ pid: null, code: null, error: 'ENOENT: node' }))).toBe(
      'spawn failed: ENOENT: node',
    );
  });

  it('a spawn error wins over a signal, a signal over a code', () => {
    expect(describeExit(exit({ code: 0, signal: 'SIGTERM', error: 'EACCES' }))).toBe('spawn failed: EACCES');
    expect(describeExit(exit({ code: 0, signal: 'SIGTERM' }))).toBe('signal SIGTERM');
  });
});
