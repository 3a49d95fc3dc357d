/**
 * Who a service or check runs as, and with what: `user`, `group`, `umask`, `limits`,
 * `inheritEnv`, `envFile` (systemd's User=, Group=, UMask=, Limit*=, EnvironmentFile=).
 * Pure: names are checked for shape here; whether the user exists is the shell's question
 * (config/accounts.ts), asked when the config is loaded and again at every spawn.
 */
import { size } from './size.js';
import {
  INVALID,
  integer,
  nullable,
  object,
  optional,
  problem,
  type Schema,
  withDefault,
  type ObjectOf,
} from './schema.js';

/** A resource limit value: a number, or no limit at all. */
export type LimitValue = number | 'unlimited';
/** A soft and a hard limit (setrlimit's rlim_cur and rlim_max). */
export interface LimitPair {
  readonly soft: LimitValue;
  readonly hard: LimitValue;
}
/** The limits procreg sets, by their prlimit(1) names. */
export const LIMIT_NAMES = ['nofile', 'nproc', 'core', 'memlock'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export type Limits = Readonly<Partial<Record<LimitName, LimitPair>>>;

/** `www-data`, `postgres`, or a numeric id; YAML numbers are taken as ids. */
const ACCOUNT = /^(?:[a-z_][a-z0-9_.-]{0,31}\$?|\d{1,10})$/i;
const account =
  (kind: 'user' | 'group'): Schema<string> =>
  (raw, path, problems) => {
    const text = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? String(raw) : raw;
    return typeof text === 'string' && ACCOUNT.test(text)
      ? text
      : problem(problems, path, raw, `must be a ${kind} name (such as www-data) or a numeric ${kind} id`);
  };
export const userName = account('user');
export const groupName = account('group');

/**
 * `umask: '0027'`: a quoted octal string. A bare 0027 is the decimal 27 in YAML 1.2, which is
 * exactly the mistake to catch, so numbers are refused with the fix.
 */
export const umask: Schema<number> = (raw, path, problems) => {
  if (typeof raw === 'string' && /^0?[0-7]{3}$/.test(raw)) return parseInt(raw, 8);
  const hint =
    typeof raw === 'number'
      ? `; write it quoted (umask: '${String(raw).padStart(4, '0')}'), YAML reads 0027 as decimal 27`
      : '';
  return problem(problems, path, raw, `must be an octal string such as '0027' or '022'${hint}`);
};

/** The largest value a limit may name (RLIM_INFINITY - 1 would need a bigint; 2^53-1 is plenty). */
const LIMIT_MAX = Number.MAX_SAFE_INTEGER;
const COUNT_LIMITS: ReadonlySet<LimitName> = new Set(['nofile', 'nproc']);

/** One value: a count (nofile, nproc), a size in bytes (core, memlock: "64MB"), or "unlimited". */
const limitValue =
  (name: LimitName): Schema<LimitValue> =>
  (raw, path, problems) => {
    if (raw === 'unlimited' || raw === 'infinity') return 'unlimited';
    if (COUNT_LIMITS.has(name)) {
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return raw;
      return problem(problems, path, raw, 'must be a non-negative integer or "unlimited"');
    }
    const bytes = size(0, LIMIT_MAX)(raw, path, []);
    if (bytes !== INVALID) return bytes;
    return problem(
      problems,
      path,
      raw,
      'must be a size such as "64MB" (units B, kB, MB, GB, TB; 1 kB = 1024 B), an integer of bytes, or "unlimited"',
    );
  };

const rank = (v: LimitValue) => (v === 'unlimited' ? Infinity : v);

/** `nofile: 65536` (soft and hard alike) or `nofile: { soft: 1024, hard: 65536 }`. */
const limitPair =
  (name: LimitName): Schema<LimitPair> =>
  (raw, path, problems) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      const v = limitValue(name)(raw, path, problems);
      return v === INVALID ? INVALID : { soft: v, hard: v };
    }
    const pair = object({ soft: optional(limitValue(name)), hard: optional(limitValue(name)) })(
      raw,
      path,
      problems,
    );
    if (pair === INVALID) return INVALID;
    const soft = pair.soft ?? pair.hard;
    const hard = pair.hard ?? pair.soft;
    if (soft === undefined || hard === undefined)
      return problem(problems, path, raw, 'must give soft, hard or both');
    if (rank(soft) > rank(hard))
      return problem(problems, `${path}.soft`, soft, `must be at most the hard limit (${String(hard)})`);
    return { soft, hard };
  };

const userLimitsSchema = object({
  nofile: optional(limitPair('nofile')),
  nproc: optional(limitPair('nproc')),
  core: optional(limitPair('core')),
  memlock: optional(limitPair('memlock')),
});

/** `limits:` as written, without the keys left out. */
export const userLimits: Schema<Limits> = (raw, path, problems) => {
  const v = userLimitsSchema(raw, path, problems);
  if (v === INVALID) return INVALID;
  const out: Partial<Record<LimitName, LimitPair>> = {};
  for (const name of LIMIT_NAMES) {
    const pair = (v as ObjectOf<Record<LimitName, Schema<LimitPair | undefined>>>)[name];
    if (pair !== undefined) out[name] = pair;
  }
  return out;
};

/** A limit pair as a log holds it. */
const storedLimitValue: Schema<LimitValue> = (raw, path, problems) =>
  raw === 'unlimited' ? 'unlimited' : integer(0, LIMIT_MAX)(raw, path, problems);
const storedPair = object({ soft: storedLimitValue, hard: storedLimitValue });

/** `limits` in a normalized config: only the limits set. */
export const limitsSchema: Schema<Limits> = object({
  nofile: optional(storedPair),
  nproc: optional(storedPair),
  core: optional(storedPair),
  memlock: optional(storedPair),
}) as Schema<Limits>;

/**
 * The process settings a normalized service or check carries, each defaulted so that configs
 * logged before they existed read as before: procreg's own user, umask and limits, its whole
 * environment.
 */
export const runAsFields = {
  /** The user it runs as (a name or numeric id), with that user's groups; null: procreg's own. */
  user: withDefault(nullable(userName), null),
  /** Its primary group; null: the user's own (or procreg's, without `user`). */
  group: withDefault(nullable(groupName), null),
  /** Its umask; null: procreg's. */
  umask: withDefault(nullable(integer(0, 0o777)), null),
  limits: withDefault(limitsSchema, {}),
  /** Start from procreg's environment (true) or from a minimal one: PATH, and HOME, USER, LOGNAME, SHELL with `user`. */
  inheritEnv: withDefault(
    (raw: unknown, path: string, problems) =>
      typeof raw === 'boolean' ? raw : problem(problems, path, raw, 'must be true or false'),
    true,
  ) as Schema<boolean>,
  /** Absolute path of a dotenv file, read when the config is loaded; null: none. */
  envFile: withDefault(
    nullable((raw: unknown, path: string, problems) =>
      typeof raw === 'string' && raw !== '' ? raw : problem(problems, path, raw, 'must be a path'),
    ) as Schema<string | null>,
    null,
  ),
  /** What `envFile` held when the config was loaded (`env` wins over it). */
  envFileValues: withDefault(
    ((raw, path, problems) => {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        return problem(problems, path, raw, 'must be a mapping');
      for (const [k, v] of Object.entries(raw))
        if (typeof v !== 'string') return problem(problems, `${path}.${k}`, v, 'must be a string');
      return raw as Record<string, string>;
    }) as Schema<Readonly<Record<string, string>>>,
    {},
  ),
};

/** What the shell needs to start a process as configured (a spawn or run-check effect carries it). */
export interface RunAs {
  readonly user: string | null;
  readonly group: string | null;
  readonly umask: number | null;
  readonly limits: Limits;
  readonly inheritEnv: boolean;
}

export const runAsOf = (d: RunAs): RunAs => ({
  user: d.user,
  group: d.group,
  umask: d.umask,
  limits: d.limits,
  inheritEnv: d.inheritEnv,
});

/** The environment a def adds: its env file's values, then `env` over them. */
export const envOf = (d: {
  readonly env: Readonly<Record<string, string>>;
  readonly envFileValues: Readonly<Record<string, string>>;
}): Readonly<Record<string, string>> =>
  Object.keys(d.envFileValues).length === 0 ? d.env : { ...d.envFileValues, ...d.env };
