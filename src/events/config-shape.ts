import { RESTART_POLICIES, SIGNALS } from '../config/types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isArgv = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string');

/**
 * Structural check of the normalized config that a `config-loaded` event carries: a log
 * line must not smuggle a config the fold cannot use. Returns what is wrong, or null.
 */
export function checkNormalizedConfig(v: unknown): string | null {
  if (!isObj(v)) return 'a normalized config object';
  if (typeof v.runDir !== 'string' || typeof v.eventLog !== 'string')
    return 'a normalized config with runDir and eventLog strings';
  if (!isObj(v.services) || !isObj(v.checks)) return 'a normalized config with services and checks objects';
  if (v.allowUnsafeScripts !== undefined && typeof v.allowUnsafeScripts !== 'boolean') {
    return 'a normalized config whose allowUnsafeScripts is true or false';
  }
  for (const [name, s] of Object.entries(v.services)) {
    const bad = checkService(s);
    if (bad) return `a normalized config whose services.${name}.${bad}`;
  }
  for (const [name, c] of Object.entries(v.checks)) {
    const bad = checkCheck(c);
    if (bad) return `a normalized config whose checks.${name}.${bad}`;
  }
  return null;
}

function checkService(s: unknown): string | null {
  if (!isObj(s)) return 'x is an object';
  if (!isArgv(s.command)) return 'command is a non-empty list of strings';
  if (s.cwd !== null && typeof s.cwd !== 'string') return 'cwd is a string or null';
  if (!isObj(s.env) || !Object.values(s.env).every((x) => typeof x === 'string'))
    return 'env maps names to strings';
  if (!(RESTART_POLICIES as readonly unknown[]).includes(s.restart))
    return `restart is one of ${RESTART_POLICIES.join(' | ')}`;
  const b = s.backoff;
  if (
    !isObj(b) ||
    !isInt(b.initialMs) ||
    !isInt(b.maxMs) ||
    !isInt(b.resetAfterMs) ||
    typeof b.factor !== 'number' ||
    !(b.factor >= 1)
  ) {
    return 'backoff is {initialMs, maxMs, factor >= 1, resetAfterMs}';
  }
  const m = s.maxRestarts;
  if (!isObj(m) || !isInt(m.count) || !isInt(m.withinMs)) return 'maxRestarts is {count, withinMs}';
  if (!(SIGNALS as readonly unknown[]).includes(s.stopSignal)) return 'stopSignal is a signal name';
  if (!isInt(s.stopTimeoutMs)) return 'stopTimeoutMs is a non-negative integer';
  if (typeof s.pidFile !== 'string') return 'pidFile is a string';
  if (!Array.isArray(s.fatalExitCodes) || !s.fatalExitCodes.every(isInt))
    return 'fatalExitCodes is a list of exit codes';
  if (s.stdout !== null && typeof s.stdout !== 'string') return 'stdout is a path or null';
  if (s.stderr !== null && typeof s.stderr !== 'string') return 'stderr is a path or null';
  return null;
}

function checkCheck(c: unknown): string | null {
  if (!isObj(c)) return 'x is an object';
  if (!isArgv(c.command)) return 'command is a non-empty list of strings';
  for (const k of ['intervalMs', 'timeoutMs', 'killAfterMs', 'rise', 'fall']) {
    if (!isInt(c[k]) || (c[k] as number) < 1) return `${k} is a positive integer`;
  }
  if (c.restarts !== null && typeof c.restarts !== 'string') return 'restarts is a service name or null';
  if (c.cwd !== null && typeof c.cwd !== 'string') return 'cwd is a string or null';
  return null;
}
