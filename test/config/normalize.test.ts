import { describe, expect, it } from 'vitest';
import { type ConfigProblem, formatProblem, normalizeConfig } from '../../src/config/normalize.js';

const norm = (raw: unknown) => normalizeConfig(raw, { baseDir: '/etc/app' });

describe('config normalization: output and reload keys', () => {
  it('reads stderrLevel, log (true or its long form, inside runDir) and reloadSignal, and says what is allowed', () => {
    const ok = normalizeConfig(
      {
        services: {
          a: { command: ['a'], stderrLevel: 'warn', log: true, reloadSignal: 'SIGHUP' },
          b: { command: ['b'], log: { path: 'out/b.txt', maxSize: '2MB', keep: 0 } },
        },
      },
      { baseDir: '/srv/app' },
    );
    expect(ok.ok && ok.config.services.a).toMatchObject({
      stderrLevel: 'warn',
      log: { path: '/srv/app/run/logs/a.log', maxSize: 10 * 1024 ** 2, keep: 5 },
      reloadSignal: 'SIGHUP',
    });
    expect(ok.ok && ok.config.services.b?.log).toEqual({
      path: '/srv/app/run/out/b.txt',
      maxSize: 2 * 1024 ** 2,
      keep: 0,
    });
    const bad = normalizeConfig(
      {
        services: {
          a: { command: ['a'], stderrLevel: 'debug', log: 'yes', reloadSignal: 'HUP' },
          b: { command: ['b'], log: { path: '../b.log' } },
          c: { command: ['c'], log: { path: 'a.pid' } },
        },
      },
      { baseDir: '/srv/app' },
    );
    expect(bad.ok ? [] : bad.problems.map((p) => [p.path, p.message])).toEqual(
      expect.arrayContaining([
        ['services.a.stderrLevel', 'must be one of info | warn | error'],
        ['services.a.log', 'must be true, false or { path, maxSize, keep }'],
        ['services.a.reloadSignal', expect.stringContaining('must be one of SIGHUP')],
        ['services.b.log.path', expect.stringContaining('')],
        ['services.c.log.path', 'must not be the PID file of service "a"'],
      ]),
    );
  });
});

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
      lastWords: { lines: 10, bytes: 2048 },
      stderrLevel: 'info',
      log: null,
      reloadSignal: null,
      dependsOn: {},
      user: null,
      group: null,
      umask: null,
      limits: {},
      inheritEnv: true,
      envFile: null,
      envFileValues: {},
    });
  });

  it("resolves a check's and a service's cwd against the config directory, which is also the default", () => {
    const res = norm({
      services: { web: { command: ['x'] } },
      checks: { here: { command: ['x'], cwd: 'probe' }, there: { command: ['y'] } },
    });
    expect(res.ok && res.config.checks.here?.cwd).toBe('/etc/app/probe');
    expect(res.ok && res.config.checks.there?.cwd).toBe('/etc/app');
    expect(res.ok && res.config.services.web?.cwd).toBe('/etc/app');
  });

  it('makes a relative program path absolute against the cwd, as the spawn would find it', () => {
    const res = norm({
      services: {
        here: { command: ['./app.sh', './arg'] },
        sub: { command: ['bin/app', 'x'], cwd: 'srv' },
        up: { command: ['../bin/./app'], cwd: '/opt/x' },
        bare: { command: ['node', './server.js'] },
        abs: { command: ['/usr/bin/env', 'x'] },
      },
      checks: { probe: { command: ['./probe.sh'], cwd: 'checks' } },
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const cmd = (n: string) => res.config.services[n]?.command;
    expect(cmd('here')).toEqual(['/etc/app/app.sh', './arg']);
    expect(cmd('sub')).toEqual(['/etc/app/srv/bin/app', 'x']);
    expect(cmd('up')).toEqual(['/opt/x/../bin/app']); // ".." is the kernel's to resolve (symlinks)
    expect(cmd('bare')).toEqual(['node', './server.js']);
    expect(cmd('abs')).toEqual(['/usr/bin/env', 'x']);
    expect(res.config.checks.probe?.command).toEqual(['/etc/app/checks/probe.sh']);
  });

  it('resolves output files inside runDir and refuses ones that are the event log or a PID file', () => {
    const ok = norm({ services: { a: { command: ['x'], stdout: 'logs/a.out', stderr: './a.err' } } });
    expect(ok.ok && ok.config.services.a).toMatchObject({
      stdout: '/etc/app/run/logs/a.out',
      stderr: '/etc/app/run/a.err',
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

  it('keeps every file procreg writes for a service inside runDir: relative, no "..", not runDir itself', () => {
    const res = norm({
      runDir: '/var/run/app',
      services: {
        a: { command: ['x'], pidFile: '/var/run/app/a.pid', stdout: '/var/log/a.out', stderr: '../a.err' },
        b: { command: ['x'], pidFile: 'sub/../b.pid', stdout: '.', stderr: 'logs/' },
      },
    });
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.problems.map((p) => formatProblem(p))).toEqual([
        'services.a.pidFile: must be a path relative to runDir (/var/run/app), not an absolute path, got "/var/run/app/a.pid" (string)',
        'services.b.pidFile: must stay inside runDir (/var/run/app): no ".." component, got "sub/../b.pid" (string)',
        'services.a.stdout: must be a path relative to runDir (/var/run/app), not an absolute path, got "/var/log/a.out" (string)',
        'services.a.stderr: must stay inside runDir (/var/run/app): no ".." component, got "../a.err" (string)',
        'services.b.stdout: must name a file inside runDir (/var/run/app), got "." (string)',
        'services.b.stderr: must name a file inside runDir (/var/run/app), got "logs/" (string)',
      ]);
  });

  it("refuses the names procreg keeps: the event log's segments, snapshots and torn tails, procreg.pid, procreg.sock", () => {
    const res = norm({
      eventLog: 'run/log/main.jsonl',
      services: {
        a: {
          command: ['x'],
          pidFile: 'procreg.pid',
          stdout: 'log/main.17.jsonl',
          stderr: 'log/main.jsonl.torn-42',
        },
        b: {
          command: ['x'],
          pidFile: 'procreg.sock',
          stdout: 'log/main.jsonl.snapshot',
          stderr: 'log/main.jsonl',
        },
        procreg: { command: ['x'] },
        // Not reserved: another directory, or not the pattern.
        c: {
          command: ['x'],
          pidFile: 'main.17.jsonl',
          stdout: 'log/main.x.jsonl',
          stderr: 'log/procreg.pid',
        },
      },
    });
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.problems.map((p) => formatProblem(p))).toEqual([
        `services.a.pidFile: must not be procreg's own PID file (procreg.pid), got "/etc/app/run/procreg.pid" (string)`,
        `services.b.pidFile: must not be procreg's control socket (procreg.sock), got "/etc/app/run/procreg.sock" (string)`,
        `services.procreg.pidFile: must not be procreg's own PID file (procreg.pid); it is the default for a service named procreg: set pidFile, got "/etc/app/run/procreg.pid" (string)`,
        'services.a.stdout: must not be a segment of the event log (main.<digits>.jsonl), got "/etc/app/run/log/main.17.jsonl" (string)',
        'services.a.stderr: must not be a torn tail cut off the event log (main.jsonl.torn-*), got "/etc/app/run/log/main.jsonl.torn-42" (string)',
        'services.b.stdout: must not be a snapshot of the event log (main.jsonl.snapshot*), got "/etc/app/run/log/main.jsonl.snapshot" (string)',
        'services.b.stderr: must not be the event log (eventLog), got "/etc/app/run/log/main.jsonl" (string)',
      ]);
  });

  it("refuses another service's PID or output file, and a file inside or holding another; one service's stdout and stderr may share", () => {
    const res = norm({
      services: {
        a: { command: ['x'], stdout: 'a.out', stderr: 'a.out' },
        b: { command: ['x'], pidFile: 'a.out', stdout: 'a.out/x' },
        c: { command: ['x'], stdout: 'a.out', stderr: 'c.pid' },
        d: { command: ['x'], pidFile: 'logs/d.pid', stdout: 'logs' },
        e: { command: ['x'], stdout: 'events.jsonl/e.out', stderr: 'procreg.sock/e.err' },
      },
    });
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.problems.map((p) => formatProblem(p))).toEqual([
        'services.a.stdout: must not be the PID file of service "b", got "/etc/app/run/a.out" (string)',
        'services.a.stderr: must not be the PID file of service "b", got "/etc/app/run/a.out" (string)',
        'services.b.stdout: must not be inside /etc/app/run/a.out, which is the PID file of service "b", got "/etc/app/run/a.out/x" (string)',
        'services.c.stdout: must not be the PID file of service "b", got "/etc/app/run/a.out" (string)',
        'services.c.stderr: must not be the PID file of service "c", got "/etc/app/run/c.pid" (string)',
        'services.d.stdout: must not be a directory holding /etc/app/run/logs/d.pid, which is the PID file of service "d", got "/etc/app/run/logs" (string)',
        'services.e.stdout: must not be inside /etc/app/run/events.jsonl, which is the event log (eventLog), got "/etc/app/run/events.jsonl/e.out" (string)',
        'services.e.stderr: must not be inside /etc/app/run/procreg.sock, which is procreg\'s control socket, got "/etc/app/run/procreg.sock/e.err" (string)',
      ]);
    const shared = norm({
      services: {
        a: { command: ['x'], stdout: 'a.out', stderr: 'a.out' },
        b: { command: ['x'], stdout: 'b.out' },
      },
    });
    expect(shared.ok).toBe(true);
    const two = norm({
      services: { a: { command: ['x'], stdout: 'o' }, b: { command: ['x'], stderr: 'o' } },
    });
    expect(!two.ok && two.problems.map((p) => formatProblem(p))).toEqual([
      'services.b.stderr: must not be the stdout file of service "a", got "/etc/app/run/o" (string)',
    ]);
  });

  it('keeps the event log inside runDir; a relative one is resolved against the config directory', () => {
    const log = (eventLog: unknown) => norm({ runDir: './run', eventLog });
    expect(log(undefined)).toMatchObject({ ok: true, config: { eventLog: '/etc/app/run/events.jsonl' } });
    expect(log('./run/events.jsonl')).toMatchObject({
      ok: true,
      config: { eventLog: '/etc/app/run/events.jsonl' },
    });
    expect(log('run/log/e.jsonl')).toMatchObject({
      ok: true,
      config: { eventLog: '/etc/app/run/log/e.jsonl' },
    });
    expect(log('/etc/app/run/e.jsonl')).toMatchObject({
      ok: true,
      config: { eventLog: '/etc/app/run/e.jsonl' },
    });
    const refused = [
      '/var/log/e.jsonl',
      'e.jsonl',
      '../e.jsonl',
      'run',
      'run/',
      'run/procreg.sock',
      'run/procreg.pid',
    ];
    expect(
      refused.map((v) => {
        const res = log(v);
        return res.ok ? 'accepted' : formatProblem(res.problems[0] as ConfigProblem);
      }),
    ).toEqual([
      'eventLog: must be a file inside runDir (/etc/app/run), got "/var/log/e.jsonl" (string)',
      'eventLog: must be a file inside runDir (/etc/app/run), got "e.jsonl" (string)',
      'eventLog: must stay inside runDir (/etc/app/run): no ".." component, got "../e.jsonl" (string)',
      'eventLog: must be a file inside runDir (/etc/app/run), got "run" (string)',
      'eventLog: must be a file inside runDir (/etc/app/run), got "run/" (string)',
      `eventLog: must not be procreg's control socket (procreg.sock), got "run/procreg.sock" (string)`,
      `eventLog: must not be procreg's own PID file (procreg.pid), got "run/procreg.pid" (string)`,
    ]);
  });

  it('has allowSymlinkedRunDir, false unless the config says true', () => {
    expect(norm({})).toMatchObject({ ok: true, config: { allowSymlinkedRunDir: false } });
    expect(norm({ allowSymlinkedRunDir: true })).toMatchObject({
      ok: true,
      config: { allowSymlinkedRunDir: true },
    });
    const bad = norm({ allowSymlinkedRunDir: 'yes' });
    expect(!bad.ok && bad.problems.map((p) => formatProblem(p))).toEqual([
      'allowSymlinkedRunDir: must be true or false, got "yes" (string)',
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
        'app.yaml: servces: unknown key; allowed: runDir, eventLog, allowUnsafeScripts, allowSymlinkedRunDir, services, checks, host, ship, got {} (object)',
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

describe('who a service runs as, and with what', () => {
  it('normalizes user, group, umask, limits (one value or soft/hard; sizes; unlimited), inheritEnv, envFile, and env numbers and booleans as strings', () => {
    const res = norm({
      services: {
        db: {
          command: ['postgres'],
          user: 'postgres',
          group: 105,
          umask: '0077',
          limits: {
            nofile: 65536,
            nproc: { soft: 100, hard: 'unlimited' },
            core: '1GB',
            memlock: { hard: '64MB' },
          },
          inheritEnv: false,
          envFile: 'db.env',
          env: { PORT: 5432, DEBUG: false, RATIO: 1.5 },
        },
      },
      checks: { ready: { command: ['pg_isready'], user: 'postgres', env: { N: 1 }, startPeriod: '30s' } },
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.config.services.db).toMatchObject({
      user: 'postgres',
      group: '105',
      umask: 0o077,
      limits: {
        nofile: { soft: 65536, hard: 65536 },
        nproc: { soft: 100, hard: 'unlimited' },
        core: { soft: 1024 ** 3, hard: 1024 ** 3 },
        memlock: { soft: 64 * 1024 ** 2, hard: 64 * 1024 ** 2 },
      },
      inheritEnv: false,
      envFile: '/etc/app/db.env',
      envFileValues: {},
      env: { PORT: '5432', DEBUG: 'false', RATIO: '1.5' },
    });
    expect(res.config.checks.ready).toMatchObject({
      user: 'postgres',
      env: { N: '1' },
      startPeriodMs: 30_000,
    });
  });

  it('refuses what cannot be a user, a umask, a limit or an environment value, naming the field', () => {
    const res = norm({
      services: {
        a: {
          command: ['x'],
          user: 'bad name',
          umask: '0999',
          limits: { nofile: -1, core: 'lots' },
          env: { LIST: [1], NOTHING: null },
          inheritEnv: 'no',
        },
      },
    });
    expect(!res.ok && res.problems.map((p) => formatProblem(p))).toEqual([
      'services.a.env.LIST: an environment value must be a string, a number or true/false, got [1] (array)',
      'services.a.env.NOTHING: an environment value must be a string, a number or true/false, got null (null)',
      'services.a.user: must be a user name (such as www-data) or a numeric user id, got "bad name" (string)',
      `services.a.umask: must be an octal string such as '0027' or '022', got "0999" (string)`,
      'services.a.limits.nofile: must be a non-negative integer or "unlimited", got -1 (number)',
      'services.a.limits.core: must be a size such as "64MB" (units B, kB, MB, GB, TB; 1 kB = 1024 B), an integer of bytes, or "unlimited", got "lots" (string)',
      'services.a.inheritEnv: must be true or false, got "no" (string)',
    ]);
  });
});
