import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/normalize.js';
import { validate } from '../../src/config/schema.js';
import {
  type NormalizedConfig,
  normalizedConfigSchema,
  RESTART_POLICIES,
  SIGNALS,
} from '../../src/config/types.js';
import { chk, makeConfig, RELOAD_POOL, svc } from '../support/configs.js';

const durationArb = fc.oneof(
  { arbitrary: fc.nat({ max: 100_000 }), weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.nat({ max: 500 }), fc.constantFrom('', '.5'), fc.constantFrom('ms', 's', 'm', 'h'))
      .map(([n, frac, unit]) => `${n}${frac}${unit}`),
    weight: 4,
  },
  {
    arbitrary: fc.tuple(fc.nat({ max: 23 }), fc.constantFrom('', '.5')).map(([n, frac]) => `${n}${frac}d`),
    weight: 1,
  },
);
const pathArb = fc.constantFrom('app', './app/../srv', '/opt/x', '../up', 'a/b/');
/** A file inside runDir, mostly valid (absolute, `..` and a trailing slash are refused). */
const runDirFileArb = fc.oneof(
  { arbitrary: fc.constantFrom('app.out', 'logs/x.log', './y', 'z'), weight: 99 },
  { arbitrary: fc.constantFrom('/opt/x', '../up', 'a/b/'), weight: 1 },
);

/** A service as a person writes it: any subset of the keys, mostly valid values. */
const userServiceArb = fc.record(
  {
    command: fc.array(fc.constantFrom('node', 'server.js', 'sh', '-c', 'echo hi'), {
      minLength: 1,
      maxLength: 4,
    }),
    cwd: pathArb,
    env: fc.dictionary(fc.constantFrom('PORT', 'HOME', 'EMPTY'), fc.string({ maxLength: 5 })),
    restart: fc.constantFrom(...RESTART_POLICIES),
    backoff: fc.record(
      {
        initial: durationArb,
        max: durationArb,
        factor: fc.double({ min: 1, max: 100, noNaN: true }),
        resetAfter: durationArb,
      },
      { requiredKeys: [] },
    ),
    maxRestarts: fc.record({ count: fc.nat({ max: 1_000_000 }), within: durationArb }, { requiredKeys: [] }),
    stopSignal: fc.constantFrom(...SIGNALS),
    stopTimeout: durationArb,
    fatalExitCodes: fc.array(fc.nat({ max: 255 }), { maxLength: 4 }),
    stdout: runDirFileArb,
    stderr: runDirFileArb,
  },
  { requiredKeys: ['command'] },
);

/** A check as a person writes it; `restarts` names one of `services` when there are any. */
const userCheckArb = (services: string[]) =>
  fc.record(
    {
      command: fc.constant(['sh', '-c', 'true']),
      cwd: pathArb,
      interval: durationArb,
      timeout: durationArb,
      killAfter: durationArb,
      rise: fc.integer({ min: 1, max: 1000 }),
      fall: fc.integer({ min: 1, max: 1000 }),
      restarts: services.length > 0 ? fc.constantFrom(...services) : fc.constant(undefined),
    },
    { requiredKeys: ['command'] },
  );

/** Output files under a directory of the service's own name, so services do not share them. */
const ownOutputs = (services: Record<string, Record<string, unknown>>) =>
  Object.fromEntries(
    Object.entries(services).map(([name, s]) => {
      const own = (p: unknown) => (typeof p === 'string' && !p.startsWith('/') ? `${name}/${p}` : p);
      return [
        name,
        {
          ...s,
          ...('stdout' in s ? { stdout: own(s.stdout) } : {}),
          ...('stderr' in s ? { stderr: own(s.stderr) } : {}),
        },
      ];
    }),
  );

const userConfigArb = fc
  .dictionary(fc.constantFrom('web', 'db', 'api.v2', 'x_1'), userServiceArb)
  .map(ownOutputs)
  .chain((services) =>
    fc.record(
      {
        runDir: fc.constant('./run'),
        // Relative to the config's directory, inside runDir (and now and then not: refused).
        eventLog: fc.oneof(
          { arbitrary: fc.constantFrom('run/events.jsonl', './run/log/procreg.jsonl'), weight: 49 },
          { arbitrary: fc.constant('/var/log/procreg.jsonl'), weight: 1 },
        ),
        allowUnsafeScripts: fc.boolean(),
        allowSymlinkedRunDir: fc.boolean(),
        services: fc.constant(services),
        checks: fc.dictionary(fc.constantFrom('alive', 'disk-free'), userCheckArb(Object.keys(services))),
      },
      { requiredKeys: ['services'] },
    ),
  );

/** The config as a config-loaded line carries it: through JSON and back. */
const throughJson = (c: NormalizedConfig): unknown => JSON.parse(JSON.stringify(c));

describe('normalizedConfigSchema: the normalized config and its check are one definition', () => {
  it('accepts every config of the reload pool, unchanged, also read back from JSON', () => {
    for (const config of RELOAD_POOL) {
      expect(validate(normalizedConfigSchema, config)).toEqual({ ok: true, value: config });
      expect(validate(normalizedConfigSchema, throughJson(config))).toEqual({ ok: true, value: config });
    }
  });

  it('accepts a config with every optional field set by hand', () => {
    const config = makeConfig({
      allowUnsafeScripts: true,
      eventLog: '/run/procreg/log/events.jsonl',
      allowSymlinkedRunDir: true,
      services: {
        web: svc({
          cwd: 'app',
          env: { PORT: '8080', EMPTY: '' },
          restart: 'on-failure',
          backoff: { initial: '1.5s', max: '1m', factor: 1.5, resetAfter: '10m' },
          maxRestarts: { count: 0, within: 0 },
          stopSignal: 'SIGINT',
          stopTimeout: '250ms',
          pidFile: 'pids/web.pid',
          fatalExitCodes: [78, 2, 2],
          stdout: 'logs/web.out',
          stderr: 'logs/web.out',
        }),
      },
      checks: { alive: chk({ cwd: 'probe', killAfter: '2s', rise: 3, fall: 1000, restarts: 'web' }) },
    });
    expect(config.services.web?.fatalExitCodes).toEqual([2, 78]);
    expect(validate(normalizedConfigSchema, throughJson(config))).toEqual({ ok: true, value: config });
  });

  it('accepts whatever normalizeConfig produces (property over configs a person could write)', () => {
    let valid = 0;
    fc.assert(
      fc.property(userConfigArb, (raw) => {
        const res = normalizeConfig(raw, { baseDir: '/etc/app' });
        if (!res.ok) return;
        valid++;
        expect(validate(normalizedConfigSchema, res.config)).toEqual({ ok: true, value: res.config });
        expect(validate(normalizedConfigSchema, throughJson(res.config))).toEqual({
          ok: true,
          value: res.config,
        });
      }),
      { numRuns: 1000 },
    );
    expect(valid).toBeGreaterThan(250); // the property saw many valid configs, not only rejections
  });

  describe('rejects a tampered config, naming the field', () => {
    /** The first config of the reload pool as JSON, with the values at dotted paths set (undefined: deleted). */
    function tampered(...edits: [path: string, value: unknown][]): unknown {
      const c = throughJson(RELOAD_POOL[0] as NormalizedConfig) as Record<string, unknown>;
      for (const [path, value] of edits) {
        const keys = path.split('.');
        const last = keys.pop() as string;
        let o = c;
        for (const k of keys) o = o[k] as Record<string, unknown>;
        if (value === undefined) delete o[last];
        else o[last] = value;
      }
      return c;
    }

    it('a value out of its set', () => {
      const c = tampered(['services.web.restart', 'sometimes']);
      expect(validate(normalizedConfigSchema, c)).toEqual({
        ok: false,
        problems: [
          {
            path: 'services.web.restart',
            value: 'sometimes',
            message: 'must be one of always | on-failure | never',
          },
        ],
      });
    });

    it('a missing field', () => {
      const c = tampered(['services.db.pidFile', undefined]);
      expect(validate(normalizedConfigSchema, c)).toEqual({
        ok: false,
        problems: [{ path: 'services.db.pidFile', value: undefined, message: 'must be a non-empty string' }],
      });
    });

    it('a field of the user form instead of the normalized one', () => {
      const c = tampered(['services.web.stopTimeout', '5s'], ['services.web.stopTimeoutMs', undefined]);
      const res = validate(normalizedConfigSchema, c);
      expect(res.ok).toBe(false);
      if (!res.ok)
        expect(res.problems.map((p) => [p.path, p.message])).toEqual([
          [
            'services.web.stopTimeout',
            'unknown key; allowed: command, cwd, env, restart, backoff, maxRestarts, stopSignal, stopTimeoutMs, pidFile, fatalExitCodes, stdout, stderr, lastWords, stderrLevel, log, reloadSignal, dependsOn, user, group, umask, limits, inheritEnv, envFile, envFileValues',
          ],
          ['services.web.stopTimeoutMs', 'must be an integer from 0 to 9007199254740991'],
        ]);
    });

    it('a nested value, a check timing and an unknown top-level key, all at once', () => {
      const c = tampered(
        ['services.web.backoff.factor', 0.5],
        ['checks.web_alive.intervalMs', 0],
        ['extra', true],
      );
      const res = validate(normalizedConfigSchema, c);
      expect(res.ok).toBe(false);
      if (!res.ok)
        expect(res.problems.map((p) => [p.path, p.value])).toEqual([
          ['extra', true],
          ['services.web.backoff.factor', 0.5],
          ['checks.web_alive.intervalMs', 0],
        ]);
    });
  });
});
