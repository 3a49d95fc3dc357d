import { describe, expect, it } from 'vitest';
import type { RegistryView } from '../../src/core/view.js';
import { explainService, lastExitWords, restartWords } from '../../src/report/status-explain.js';

const T = Date.UTC(2026, 10, 28, 14, 2, 5);
type ServiceView = RegistryView['services'][number];

const base: ServiceView = {
  name: 'web',
  state: 'running',
  pid: 4242,
  incarnation: 1,
  restarts: 0,
  generation: 1,
  startedAt: T - 30_000,
  startedMono: 70_000,
  lastExit: null,
  reason: null,
  desired: 'up',
  since: T - 30_000,
  restartWindow: { recent: [], withinMs: 60_000, max: 10 },
  nextStartMono: null,
};
const at = { time: T, mono: 100_000 };
const why = (patch: Partial<ServiceView>) => explainService({ ...base, ...patch }, at, { utc: true }).why;

describe('explainService: what status says a service waits for', () => {
  it('backoff: the time to the next start, in human words', () => {
    expect(why({ state: 'backoff', pid: null, nextStartMono: 104_000 })).toBe('backoff, next start in 4.0s');
    expect(why({ state: 'backoff', pid: null, nextStartMono: 99_000 })).toBe('backoff, next start in 0ms');
    // Without the supervisor's monotonic time (a replayed log), it cannot say when.
    const replayed = explainService(
      { ...base, state: 'backoff', nextStartMono: 104_000 },
      { time: T, mono: null },
    );
    expect(replayed.why).toBe('backoff');
  });

  it('given up: the restarts over the limit within the window, and how to revive it', () => {
    expect(
      why({ state: 'given-up', pid: null, restartWindow: { recent: [], withinMs: 60_000, max: 10 } }),
    ).toBe('given up: 11 restarts within 60s; procreg start revives it');
  });

  it('waiting: the dependency and its condition', () => {
    expect(why({ state: 'waiting', pid: null, reason: 'waiting for db (healthy)' })).toBe(
      'waiting for db (healthy)',
    );
  });

  it('stopped by an operator: who, and when', () => {
    expect(
      why({
        state: 'stopped',
        pid: null,
        desired: 'down',
        reason: 'stopped by operator (socket)',
        since: T - 60_000,
      }),
    ).toBe('stopped by operator (socket) at 14:01:05');
  });

  it('down for its own reasons: the reason; running: nothing', () => {
    expect(why({ state: 'stopped', pid: null, reason: 'exited (code 0); restart: on-failure' })).toBe(
      'exited (code 0); restart: on-failure',
    );
    expect(why({ state: 'failed', pid: null, reason: 'exit code 2 is listed in fatalExitCodes' })).toBe(
      'exit code 2 is listed in fatalExitCodes',
    );
    expect(why({})).toBe('');
    expect(why({ desired: 'removed', state: 'stopping' })).toBe('removed by a reload');
  });

  it('counts the restarts still in the window as of now, and the uptime', () => {
    const s = explainService(
      {
        ...base,
        restarts: 12,
        restartWindow: { recent: [30_000, 45_000, 90_000], withinMs: 60_000, max: 10 },
      },
      at,
    );
    expect(s.restartsInWindow).toBe(2); // 30 000 fell out of the window (100 000 - 60 000)
    expect(restartWords(s)).toBe('2 in 60s of 10 (12 in all)');
    expect(s.uptimeMs).toBe(30_000);
  });
});

describe('lastExitWords', () => {
  it('code or signal, when, and after how long', () => {
    const x = { code: 1, signal: null, error: null, time: T, uptimeMs: 1_234 };
    expect(lastExitWords(x, { utc: true })).toBe('code 1 at 14:02:05 after 1.2s');
    expect(lastExitWords({ ...x, code: null, signal: 'SIGKILL', uptimeMs: 185_000 }, { utc: true })).toBe(
      'SIGKILL at 14:02:05 after 3m05s',
    );
    expect(
      lastExitWords(
        { ...x, code: null, error: 'cannot start nod: not found (ENOENT)', uptimeMs: null },
        { utc: true },
      ),
    ).toBe('cannot start nod: not found (ENOENT) at 14:02:05');
    expect(lastExitWords(null)).toBe('-');
  });
});
