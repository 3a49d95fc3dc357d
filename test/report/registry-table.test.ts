import { describe, expect, it } from 'vitest';
import type { RegistryView } from '../../src/core/view.js';
import { formatView, table } from '../../src/report/registry-table.js';

const T = 1_700_000_000_000;

const view: RegistryView = {
  seq: 42,
  generation: 2,
  phase: 'running',
  services: [
    {
      name: 'api',
      state: 'running',
      pid: 101,
      incarnation: 3,
      restarts: 2,
      generation: 2,
      startedAt: T,
      startedMono: 5_000,
      lastExit: { code: 1, signal: null, error: null, time: T - 100, uptimeMs: 1200 },
      reason: null,
      desired: 'up',
      since: T,
      restartWindow: { recent: [1_000, 4_000], withinMs: 60_000, max: 10 },
      nextStartMono: null,
    },
    {
      name: 'db',
      state: 'stopped',
      pid: null,
      incarnation: 1,
      restarts: 0,
      generation: 1,
      startedAt: null,
      startedMono: null,
      lastExit: { code: null, signal: 'SIGTERM', error: null, time: T - 500, uptimeMs: 184_000 },
      reason: 'stopped by operator (socket)',
      desired: 'down',
      since: T - 500,
      restartWindow: { recent: [], withinMs: 60_000, max: 10 },
      nextStartMono: null,
    },
    {
      name: 'web',
      state: 'backoff',
      pid: null,
      incarnation: 2,
      restarts: 1,
      generation: 2,
      startedAt: null,
      startedMono: null,
      lastExit: {
        code: null,
        signal: null,
        error: 'cannot start nod: not found (ENOENT)',
        time: T - 200,
        uptimeMs: null,
      },
      reason: null,
      desired: 'up',
      since: T - 200,
      restartWindow: { recent: [4_800], withinMs: 60_000, max: 10 },
      nextStartMono: 9_000,
    },
  ],
  checks: [
    {
      name: 'alive',
      healthy: true,
      run: 7,
      inFlight: null,
      lastResult: { ok: true, code: 0, signal: null, timedOut: false, durationMs: 12, time: T - 1000 },
      paused: false,
    },
    {
      name: 'disk',
      healthy: false,
      run: 3,
      inFlight: 205,
      lastResult: {
        ok: false,
        code: null,
        signal: 'SIGTERM',
        timedOut: true,
        durationMs: 1000,
        time: T - 2000,
      },
      paused: false,
    },
    { name: 'ping', healthy: null, run: 0, inFlight: null, lastResult: null, paused: true },
  ],
  processes: [
    { pid: 77, name: 'old', kind: 'service', generation: 1, orphan: true, stopping: true },
    { pid: 101, name: 'api', kind: 'service', generation: 2, orphan: false, stopping: false },
    { pid: 205, name: 'disk', kind: 'check', generation: 2, orphan: false, stopping: true },
  ],
};

describe('formatView', () => {
  it('prints the registry as three aligned tables under a heading, in human durations', () => {
    // As of T + 184 s on the wall clock, 5 s on the monotonic one; times in UTC.
    expect(formatView(view, 50, { time: T + 184_000, mono: 5_000 }, { utc: true }).split('\n')).toEqual([
      'registry after seq 42 (50 events): generation 2, supervisor running',
      '',
      'SERVICE  STATE    PID  GEN  UPTIME  RESTARTS        LAST EXIT                                         WHY',
      'api      running  101  2    3m04s   2 in 60s of 10  code 1 at 22:13:19 after 1.2s',
      'db       stopped  -    1    -       0 in 60s of 10  SIGTERM at 22:13:19 after 3m04s                   stopped by operator (socket) at 22:13:19',
      'web      backoff  -    2    -       1 in 60s of 10  cannot start nod: not found (ENOENT) at 22:13:19  backoff, next start in 4.0s',
      '',
      'CHECK  HEALTH           RUN  IN FLIGHT  LAST RESULT',
      'alive  healthy          7    -          ok in 12ms at 22:13:19',
      'disk   unhealthy        3    205        timed out after 1.0s at 22:13:18',
      'ping   unknown, paused  0    -          -',
      '',
      'PID  NAME  KIND     GEN',
      '77   old   service  1    orphan, stopping',
      '101  api   service  2',
      '205  disk  check    2    stopping',
    ]);
  });

  it('says "none" for an empty table', () => {
    const empty: RegistryView = {
      ...view,
      seq: 0,
      generation: 0,
      phase: 'idle',
      services: [],
      checks: [],
      processes: [],
    };
    expect(formatView(empty, 0, T)).toBe(
      [
        'registry after seq 0 (0 events): generation 0, supervisor idle',
        '',
        'SERVICE: none',
        '',
        'CHECK: none',
        '',
        'PID: none',
      ].join('\n'),
    );
  });

  describe('the uptime column', () => {
    const uptimeOf = (patch: Partial<RegistryView['services'][number]>, asOf: number) => {
      const v: RegistryView = {
        ...view,
        services: [{ ...(view.services[0] as RegistryView['services'][number]), ...patch }],
      };
      const row = formatView(v, 1, asOf).split('\n')[3] as string;
      return row.split(/\s{2,}/)[4];
    };

    it('is the time since the start, as of the time given', () => {
      expect(uptimeOf({}, T + 850)).toBe('850ms');
      expect(uptimeOf({}, T + 12_340)).toBe('12.3s');
      expect(uptimeOf({}, T + 7_380_000)).toBe('2h03m');
      expect(uptimeOf({}, T + 352_800_000)).toBe('4d02h');
    });

    it('is 0ms at the start, and not negative when the time given is earlier', () => {
      expect(uptimeOf({}, T)).toBe('0ms');
      expect(uptimeOf({}, T - 5000)).toBe('0ms');
    });

    it('is "-" without a live process or a start time', () => {
      expect(uptimeOf({ pid: null, startedAt: T }, T + 1000)).toBe('-');
      expect(uptimeOf({ startedAt: null }, T + 1000)).toBe('-');
    });
  });
});

describe('table', () => {
  it('left-aligns columns two spaces apart, without trailing blanks', () => {
    expect(
      table(
        ['A', 'LONG HEAD', 'C'],
        [
          ['xxxx', 1, ''],
          ['y', 22, 'z'],
        ],
      ),
    ).toEqual(['A     LONG HEAD  C', 'xxxx  1', 'y     22         z']);
  });

  it('is one line naming the first column when it has no rows', () => {
    expect(table(['SERVICE', 'STATE'], [])).toEqual(['SERVICE: none']);
  });
});
