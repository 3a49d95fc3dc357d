import { isAbsolute, resolve } from 'node:path';
import { CHECK_DEFAULTS, SERVICE_DEFAULTS } from './defaults.js';
import { parseDuration } from './duration.js';
import { type CheckDef, type NormalizedConfig, RESTART_POLICIES, type ServiceDef, SIGNALS } from './types.js';

/** One thing wrong with a config: where, what was there, and what is allowed. */
export interface ConfigProblem {
  readonly path: string;
  readonly value: unknown;
  readonly message: string;
}

export type NormalizeResult =
  | { readonly ok: true; readonly config: NormalizedConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface NormalizeOptions {
  /** Absolute directory that relative paths in the config are resolved against. */
  readonly baseDir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Human-readable rendering of a bad value for error messages: `"-1" (string)`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v);
  const shown = json === undefined ? String(v) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
  return `${shown} (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})`;
}

export function formatProblem(p: ConfigProblem, source?: string): string {
  return `${source ? `${source}: ` : ''}${p.path}: ${p.message}, got ${describeValue(p.value)}`;
}

/**
 * Validate a parsed config (from YAML or JSON) and fill in defaults. Pure: it reads no
 * file and no clock; relative paths are resolved against `baseDir` by string rules only.
 * Returns every problem found, not only the first.
 */
export function normalizeConfig(raw: unknown, options: NormalizeOptions): NormalizeResult {
  if (!isAbsolute(options.baseDir)) throw new TypeError(`baseDir must be absolute, got ${options.baseDir}`);
  const v = new Validator();
  const top = v.object(raw, '', ['runDir', 'eventLog', 'allowUnsafeScripts', 'services', 'checks']);
  const runDir = resolve(options.baseDir, v.string(top?.runDir, 'runDir', { optional: true }) ?? './run');
  const eventLogRaw = v.string(top?.eventLog, 'eventLog', { optional: true });
  const eventLog =
    eventLogRaw === undefined ? resolve(runDir, 'events.jsonl') : resolve(options.baseDir, eventLogRaw);

  const allowUnsafeScripts = v.boolean(top?.allowUnsafeScripts, 'allowUnsafeScripts') ?? false;
  const services: Record<string, ServiceDef> = {};
  const servicesRaw = v.object(top?.services, 'services', null, { optional: true }) ?? {};
  for (const name of Object.keys(servicesRaw).sort()) {
    const def = normalizeService(v, servicesRaw[name], `services.${name}`, name, runDir, options.baseDir);
    if (!NAME.test(name))
      v.problem(`services.${name}`, name, 'a service name is 1-64 of [A-Za-z0-9_.-], starting alphanumeric');
    if (def) services[name] = def;
  }
  const checks: Record<string, CheckDef> = {};
  const checksRaw = v.object(top?.checks, 'checks', null, { optional: true }) ?? {};
  for (const name of Object.keys(checksRaw).sort()) {
    if (!NAME.test(name))
      v.problem(`checks.${name}`, name, 'a check name is 1-64 of [A-Za-z0-9_.-], starting alphanumeric');
    const def = normalizeCheck(v, checksRaw[name], `checks.${name}`, servicesRaw, options.baseDir);
    if (def) checks[name] = def;
  }
  const seen = new Map<string, string>();
  for (const [name, def] of Object.entries(services)) {
    const other = seen.get(def.pidFile);
    if (other !== undefined)
      v.problem(
        `services.${name}.pidFile`,
        def.pidFile,
        `must differ from the PID file of service "${other}"`,
      );
    seen.set(def.pidFile, name);
  }
  // Output files are appended to by children: never the event log or a PID file.
  for (const [name, def] of Object.entries(services)) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const path = def[stream];
      if (path === null) continue;
      const owner = seen.get(path);
      if (path === eventLog)
        v.problem(`services.${name}.${stream}`, path, 'must not be the event log (eventLog)');
      else if (owner !== undefined)
        v.problem(`services.${name}.${stream}`, path, `must not be the PID file of service "${owner}"`);
    }
  }
  if (v.problems.length > 0) return { ok: false, problems: v.problems };
  return { ok: true, config: { runDir, eventLog, allowUnsafeScripts, services, checks } };
}

function normalizeService(
  v: Validator,
  raw: unknown,
  at: string,
  name: string,
  runDir: string,
  baseDir: string,
): ServiceDef | undefined {
  const o = v.object(raw, at, [
    'command',
    'cwd',
    'env',
    'restart',
    'backoff',
    'maxRestarts',
    'stopSignal',
    'stopTimeout',
    'pidFile',
    'fatalExitCodes',
    'stdout',
    'stderr',
  ]);
  if (!o) return undefined;
  const command = v.argv(o.command, `${at}.command`);
  const cwdRaw = v.string(o.cwd, `${at}.cwd`, { optional: true });
  const envRaw = v.object(o.env, `${at}.env`, null, { optional: true }) ?? {};
  const env: Record<string, string> = {};
  for (const k of Object.keys(envRaw).sort()) {
    const value = envRaw[k];
    if (typeof value === 'string') env[k] = value;
    else v.problem(`${at}.env.${k}`, value, 'an environment value must be a string');
  }
  const restart = v.oneOf(o.restart, `${at}.restart`, RESTART_POLICIES) ?? SERVICE_DEFAULTS.restart;
  const b =
    v.object(o.backoff, `${at}.backoff`, ['initial', 'max', 'factor', 'resetAfter'], { optional: true }) ??
    {};
  const d = SERVICE_DEFAULTS.backoff;
  const backoff = {
    initialMs: v.duration(b.initial, `${at}.backoff.initial`) ?? d.initialMs,
    maxMs: v.duration(b.max, `${at}.backoff.max`) ?? d.maxMs,
    factor: v.number(b.factor, `${at}.backoff.factor`, 1, 100) ?? d.factor,
    resetAfterMs: v.duration(b.resetAfter, `${at}.backoff.resetAfter`) ?? d.resetAfterMs,
  };
  if (backoff.maxMs < backoff.initialMs)
    v.problem(`${at}.backoff.max`, b.max, `must be at least backoff.initial (${backoff.initialMs}ms)`);
  const mr = v.object(o.maxRestarts, `${at}.maxRestarts`, ['count', 'within'], { optional: true }) ?? {};
  const maxRestarts = {
    count: v.integer(mr.count, `${at}.maxRestarts.count`, 0, 1_000_000) ?? SERVICE_DEFAULTS.maxRestarts.count,
    withinMs: v.duration(mr.within, `${at}.maxRestarts.within`) ?? SERVICE_DEFAULTS.maxRestarts.withinMs,
  };
  const stopSignal = v.oneOf(o.stopSignal, `${at}.stopSignal`, SIGNALS) ?? SERVICE_DEFAULTS.stopSignal;
  const stopTimeoutMs = v.duration(o.stopTimeout, `${at}.stopTimeout`) ?? SERVICE_DEFAULTS.stopTimeoutMs;
  const pidFileRaw = v.string(o.pidFile, `${at}.pidFile`, { optional: true }) ?? `${name}.pid`;
  const stdoutRaw = v.string(o.stdout, `${at}.stdout`, { optional: true });
  const stderrRaw = v.string(o.stderr, `${at}.stderr`, { optional: true });
  const fatalRaw = o.fatalExitCodes ?? [];
  const fatalExitCodes: number[] = [];
  if (!Array.isArray(fatalRaw))
    v.problem(`${at}.fatalExitCodes`, fatalRaw, 'must be a list of exit codes 0-255');
  else
    fatalRaw.forEach((c, i) => {
      const n = v.integer(c, `${at}.fatalExitCodes[${i}]`, 0, 255);
      if (n !== undefined) fatalExitCodes.push(n);
    });
  return {
    command: command ?? [],
    cwd: cwdRaw === undefined ? null : resolve(baseDir, cwdRaw),
    env,
    restart,
    backoff,
    maxRestarts,
    stopSignal,
    stopTimeoutMs,
    pidFile: resolve(runDir, pidFileRaw),
    fatalExitCodes: [...new Set(fatalExitCodes)].sort((a, b) => a - b),
    stdout: stdoutRaw === undefined ? null : resolve(runDir, stdoutRaw),
    stderr: stderrRaw === undefined ? null : resolve(runDir, stderrRaw),
  };
}

function normalizeCheck(
  v: Validator,
  raw: unknown,
  at: string,
  services: Record<string, unknown>,
  baseDir: string,
): CheckDef | undefined {
  const o = v.object(raw, at, [
    'command',
    'cwd',
    'interval',
    'timeout',
    'killAfter',
    'rise',
    'fall',
    'restarts',
  ]);
  if (!o) return undefined;
  const d = CHECK_DEFAULTS;
  const cwdRaw = v.string(o.cwd, `${at}.cwd`, { optional: true });
  const restarts = v.string(o.restarts, `${at}.restarts`, { optional: true }) ?? null;
  if (restarts !== null && !Object.hasOwn(services, restarts)) {
    const known = Object.keys(services).sort();
    v.problem(
      `${at}.restarts`,
      restarts,
      `must name a service of this config (${known.length ? known.join(', ') : 'there are none'})`,
    );
  }
  const def: CheckDef = {
    command: v.argv(o.command, `${at}.command`) ?? [],
    cwd: cwdRaw === undefined ? null : resolve(baseDir, cwdRaw),
    intervalMs: v.duration(o.interval, `${at}.interval`, 1) ?? d.intervalMs,
    timeoutMs: v.duration(o.timeout, `${at}.timeout`, 1) ?? d.timeoutMs,
    killAfterMs: v.duration(o.killAfter, `${at}.killAfter`, 1) ?? d.killAfterMs,
    rise: v.integer(o.rise, `${at}.rise`, 1, 1000) ?? d.rise,
    fall: v.integer(o.fall, `${at}.fall`, 1, 1000) ?? d.fall,
    restarts,
  };
  return def;
}

type Obj = Record<string, unknown>;

class Validator {
  readonly problems: ConfigProblem[] = [];

  problem(path: string, value: unknown, message: string): void {
    this.problems.push({ path: path || '(top level)', value, message });
  }

  object(
    raw: unknown,
    at: string,
    keys: readonly string[] | null,
    opts: { optional?: boolean } = {},
  ): Obj | undefined {
    if (raw === undefined && opts.optional) return undefined;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.problem(at, raw, 'must be a mapping');
      return undefined;
    }
    if (keys) {
      for (const k of Object.keys(raw)) {
        if (!keys.includes(k))
          this.problem(at ? `${at}.${k}` : k, (raw as Obj)[k], `unknown key; allowed: ${keys.join(', ')}`);
      }
    }
    return raw as Obj;
  }

  string(raw: unknown, at: string, opts: { optional?: boolean } = {}): string | undefined {
    if (raw === undefined && opts.optional) return undefined;
    if (typeof raw === 'string' && raw.length > 0 && !raw.includes('\0')) return raw;
    this.problem(at, raw, 'must be a non-empty string');
    return undefined;
  }

  argv(raw: unknown, at: string): string[] | undefined {
    if (
      Array.isArray(raw) &&
      raw.length > 0 &&
      raw.every((a) => typeof a === 'string' && !a.includes('\0')) &&
      raw[0] !== ''
    ) {
      return raw as string[];
    }
    this.problem(
      at,
      raw,
      'must be a non-empty list of strings (argv; no shell unless you write one, e.g. [sh, -c, "..."])',
    );
    return undefined;
  }

  oneOf<T extends string>(raw: unknown, at: string, allowed: readonly T[]): T | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
    this.problem(at, raw, `must be one of ${allowed.join(' | ')}`);
    return undefined;
  }

  duration(raw: unknown, at: string, min = 0): number | undefined {
    if (raw === undefined) return undefined;
    const ms = parseDuration(raw);
    if (ms !== undefined && ms >= min) return ms;
    this.problem(
      at,
      raw,
      `must be a duration such as "250ms", "2s", "1m", "1h"${min > 0 ? `, at least ${min}ms` : ''}`,
    );
    return undefined;
  }

  boolean(raw: unknown, at: string): boolean | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw === 'boolean') return raw;
    this.problem(at, raw, 'must be true or false');
    return undefined;
  }

  integer(raw: unknown, at: string, min: number, max: number): number | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= min && raw <= max) return raw;
    this.problem(at, raw, `must be an integer from ${min} to ${max}`);
    return undefined;
  }

  number(raw: unknown, at: string, min: number, max: number): number | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw === 'number' && Number.isFinite(raw) && raw >= min && raw <= max) return raw;
    this.problem(at, raw, `must be a number from ${min} to ${max}`);
    return undefined;
  }
}
