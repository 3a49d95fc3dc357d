import { describe, expect, it } from 'vitest';
import { formatProblem, normalizeConfig } from '../../src/config/normalize.js';

const norm = (raw: unknown) => normalizeConfig(raw, { baseDir: '/etc/app' });

describe('config normalization', () => {
  it('fills defaults, resolves paths against the config directory, and sorts names', () => {
    const res = norm({
      runDir: './run',
      services: { zeta: { command: ['a'] }, alpha: { command: ['b'], cwd: 'srv' } },
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(Object.keys(res.config.services)).toEqual(['alpha', 'zeta']);
    expect(res.config).toMatchObject({ runDir: '/etc/app/run', eventLog: '/etc/app/run/events.jsonl' });
    expect(res.config.services.alpha).toEqual({
      command: ['b'],
      cwd: '/etc/app/srv',
      env: {},
      restart: 'always',
      backoff: { initialMs: 100, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
      maxRestarts: { count: 10, withinMs: 60_000 },
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 5000,
      pidFile: '/etc/app/run/alpha.pid',
      fatalExitCodes: [],
      stdout: null,
      stderr: null,
    });
  });

  it('resolves a check cwd against the config directory; without one a check runs where procreg does', () => {
    const res = norm({ checks: { here: { command: ['x'], cwd: 'probe' }, there: { command: ['y'] } } });
    expect(res.ok && res.config.checks.here?.cwd).toBe('/etc/app/probe');
    expect(res.ok && res.config.checks.there?.cwd).toBe(null);
  });

  it('resolves output files inside runDir and refuses ones that are the event log or a PID file', () => {
    const ok = norm({ services: { a: { command: ['x'], stdout: 'logs/a.out', stderr: '/var/log/a.err' } } });
    expect(ok.ok && ok.config.services.a).toMatchObject({
      stdout: '/etc/app/run/logs/a.out',
      stderr: '/var/log/a.err',
    });
    const bad = norm({
      services: {
        a: { command: ['x'], stdout: 'events.jsonl', stderr: '' },
        b: { command: ['y'], stderr: 'a.pid' },
      },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.problems.map((p) => formatProblem(p))).toEqual([
        'services.a.stderr: must be a non-empty string, got "" (string)',
        'services.a.stdout: must not be the event log (eventLog), got "/etc/app/run/events.jsonl" (string)',
        'services.b.stderr: must not be the PID file of service "a", got "/etc/app/run/a.pid" (string)',
      ]);
  });

  it('reports every problem with its path, the bad value and what is allowed', () => {
    const res = norm({
      servces: {},
      services: {
        web: {
          command: 'node server.js',
          restart: 'sometimes',
          stopTimeout: '5 minutes',
          backoff: { initial: '2s', max: '1s' },
        },
        'bad name': { command: ['x'] },
      },
      checks: { alive: { command: ['true'], rise: 0, restarts: 'nope', interval: '0ms' } },
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const text = res.problems.map((p) => formatProblem(p, 'app.yaml'));
    expect(text).toEqual(
      expect.arrayContaining([
        'app.yaml: servces: unknown key; allowed: runDir, eventLog, allowUnsafeScripts, services, checks, got {} (object)',
        'app.yaml: services.web.command: must be a non-empty list of strings (argv; no shell unless you write one, e.g. [sh, -c, "..."]), got "node server.js" (string)',
        'app.yaml: services.web.restart: must be one of always | on-failure | never, got "sometimes" (string)',
        'app.yaml: services.web.stopTimeout: must be a duration such as "250ms", "2s", "1m", "1h", "1d", got "5 minutes" (string)',
        'app.yaml: services.web.backoff.max: must be at least backoff.initial (2000ms), got "1s" (string)',
        'app.yaml: services.bad name: a service name is 1-64 of [A-Za-z0-9_.-], starting alphanumeric, got "bad name" (string)',
        'app.yaml: checks.alive.rise: must be an integer from 1 to 1000, got 0 (number)',
        'app.yaml: checks.alive.restarts: must name a service of this config (bad name, web), got "nope" (string)',
        'app.yaml: checks.alive.interval: must be a duration such as "250ms", "2s", "1m", "1h", "1d", at least 1ms, got "0ms" (string)',
      ]),
    );
    expect(text).toHaveLength(9);
  });

  it('refuses every duration a Node timer cannot hold (above 2^31-1 ms), and reads days', () => {
    const res = norm({
      services: {
        web: {
          command: ['x'],
          stopTimeout: '30d',
          backoff: { initial: '1d', max: 2_147_483_648 },
          maxRestarts: { within: '24d20h' },
        },
      },
      checks: { alive: { command: ['y'], interval: '24d', timeout: '2147483647ms', killAfter: '25d' } },
    });
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.problems.map((p) => formatProblem(p))).toEqual([
        'services.web.backoff.max: must be at most 24d20h31m23.647s (2147483647 ms), got 2147483648 (number)',
        'services.web.maxRestarts.within: must be a duration such as "250ms", "2s", "1m", "1h", "1d", got "24d20h" (string)',
        'services.web.stopTimeout: must be at most 24d20h31m23.647s (2147483647 ms), got "30d" (string)',
        'checks.alive.killAfter: must be at most 24d20h31m23.647s (2147483647 ms), got "25d" (string)',
      ]);
    const max = norm({ services: { web: { command: ['x'], stopTimeout: 2_147_483_647 } } });
    expect(max.ok && max.config.services.web?.stopTimeoutMs).toBe(2_147_483_647);
    const day = norm({ checks: { alive: { command: ['y'], interval: '1d' } } });
    expect(day.ok && day.config.checks.alive?.intervalMs).toBe(86_400_000);
  });

  it('refuses two services sharing a PID file', () => {
    const res = norm({
      services: { a: { command: ['x'], pidFile: 'same.pid' }, b: { command: ['y'], pidFile: 'same.pid' } },
    });
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems[0]?.message).toBe('must differ from the PID file of service "a"');
  });
});
