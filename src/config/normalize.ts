import { CHECK_DEFAULTS, defaultLogPath, SERVICE_DEFAULTS, SERVICE_LOG_DEFAULTS } from './defaults.js';
import { dependencyProblems, normalizeDependsOn } from './depends-on.js';
import { age, duration } from './duration.js';
import { size } from './size.js';
import { hostName, SHIP_SERVICE, shipServiceDef, userShip } from './ship.js';
import { groupName, type RunAs, umask, userLimits, userName } from './run-as.js';
import { basenameOf, isAbsolutePath, resolvePath } from './paths.js';
import { eventLogPath, PROCREG_PID_FILE, PROCREG_SOCKET, reservedNameAt, runDirFile } from './run-dir.js';
import {
  arrayOf,
  boolean,
  type ConfigProblem,
  INVALID,
  type Infer,
  integer,
  number,
  object,
  oneOf,
  optional,
  problem,
  recordOf,
  type Schema,
  string,
  transform,
  withDefault,
} from './schema.js';
import {
  argv,
  DURABILITIES,
  EVENT_LOG_POLICY_DEFAULT,
  type EventLogPolicy,
  LAST_WORDS_DEFAULT,
  type CheckDef,
  type NormalizedConfig,
  RESTART_POLICIES,
  type ServiceDef,
  SIGNALS,
  STDERR_LEVELS,
  type StderrLevel,
} from './types.js';

export type NormalizeResult =
  | { readonly ok: true; readonly config: NormalizedConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface NormalizeOptions {
  /** Absolute directory that relative paths in the config are resolved against. */
  readonly baseDir: string;
  /** The host name when the config gives none (the shell passes the machine's); default none. */
  readonly defaultHost?: string;
  /** How the built-in shipper runs procreg (the shell passes node and bin/procreg.js); default `procreg`. */
  readonly procregArgv?: readonly string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** YAML's `PORT: 8080` and `DEBUG: true` mean the strings; lists, mappings and null mean nothing. */
const envValue: Schema<string> = (raw, path, problems) =>
  typeof raw === 'string'
    ? raw.includes('\0')
      ? problem(problems, path, raw, 'an environment value must not contain a NUL byte')
      : raw
    : (typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'boolean'
      ? String(raw)
      : problem(problems, path, raw, 'an environment value must be a string, a number or true/false');

/** The fields of ./run-as.ts as a person writes them. */
const userRunAs = {
  user: optional(userName),
  group: optional(groupName),
  umask: optional(umask),
  limits: withDefault(userLimits, {}),
  inheritEnv: withDefault(boolean, true),
  envFile: optional(string('must be a path to a dotenv file (relative to the config file)')),
};

const userLastWords = withDefault(
  object({
    lines: withDefault(integer(0, 1000), LAST_WORDS_DEFAULT.lines),
    bytes: withDefault(integer(0, 1 << 20), LAST_WORDS_DEFAULT.bytes),
  }),
  LAST_WORDS_DEFAULT,
);

/** `log: true` (every default) or `{ path, maxSize, keep }`. */
const userServiceLog = object({
  path: optional(string()),
  maxSize: withDefault(size(1024, Number.MAX_SAFE_INTEGER), SERVICE_LOG_DEFAULTS.maxSize),
  keep: withDefault(integer(0, 1000), SERVICE_LOG_DEFAULTS.keep),
});
const serviceLog: Schema<Infer<typeof userServiceLog> | false> = (raw, path, problems) => {
  if (raw === true) return { path: undefined, ...SERVICE_LOG_DEFAULTS };
  if (raw === false) return false;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return problem(problems, path, raw, 'must be true, false or { path, maxSize, keep }');
  return userServiceLog(raw, path, problems);
};

// What a person writes in the config file. Durations are strings ("2s") or ms; paths are relative
// or absolute; most keys are optional and get the defaults of ./defaults.ts.
const userService = object({
  command: argv,
  cwd: optional(string()),
  env: withDefault(recordOf(envValue), {}),
  restart: withDefault(oneOf(RESTART_POLICIES), SERVICE_DEFAULTS.restart),
  backoff: transform(
    withDefault(
      object({
        initial: withDefault(duration(), SERVICE_DEFAULTS.backoff.initialMs),
        max: withDefault(duration(), SERVICE_DEFAULTS.backoff.maxMs),
        factor: withDefault(number(1, 100), SERVICE_DEFAULTS.backoff.factor),
        resetAfter: withDefault(duration(), SERVICE_DEFAULTS.backoff.resetAfterMs),
      }),
      {
        initial: SERVICE_DEFAULTS.backoff.initialMs,
        max: SERVICE_DEFAULTS.backoff.maxMs,
        factor: SERVICE_DEFAULTS.backoff.factor,
        resetAfter: SERVICE_DEFAULTS.backoff.resetAfterMs,
      },
    ),
    (b, path, problems, raw) =>
      b.max < b.initial
        ? problem(
            problems,
            `${path}.max`,
            mapping(raw).max,
            `must be at least backoff.initial (${b.initial}ms)`,
          )
        : { initialMs: b.initial, maxMs: b.max, factor: b.factor, resetAfterMs: b.resetAfter },
  ),
  maxRestarts: withDefault(
    object({
      count: withDefault(integer(0, 1_000_000), SERVICE_DEFAULTS.maxRestarts.count),
      within: withDefault(duration(), SERVICE_DEFAULTS.maxRestarts.withinMs),
    }),
    { count: SERVICE_DEFAULTS.maxRestarts.count, within: SERVICE_DEFAULTS.maxRestarts.withinMs },
  ),
  stopSignal: withDefault(oneOf(SIGNALS), SERVICE_DEFAULTS.stopSignal),
  stopTimeout: withDefault(duration(), SERVICE_DEFAULTS.stopTimeoutMs),
  pidFile: optional(string()),
  fatalExitCodes: withDefault(arrayOf(integer(0, 255), 'must be a list of exit codes 0-255'), []),
  stdout: optional(string()),
  stderr: optional(string()),
  lastWords: userLastWords,
  stderrLevel: withDefault(oneOf(STDERR_LEVELS), 'info' as StderrLevel),
  log: optional(serviceLog),
  reloadSignal: optional(oneOf(SIGNALS)),
  dependsOn: (raw: unknown, path: string, problems: ConfigProblem[]) =>
    normalizeDependsOn(raw, path, problems) ?? INVALID,
  ...userRunAs,
});

const userCheck = object({
  command: argv,
  cwd: optional(string()),
  interval: withDefault(duration(1), CHECK_DEFAULTS.intervalMs),
  timeout: withDefault(duration(1), CHECK_DEFAULTS.timeoutMs),
  killAfter: withDefault(duration(1), CHECK_DEFAULTS.killAfterMs),
  rise: withDefault(integer(1, 1000), CHECK_DEFAULTS.rise),
  fall: withDefault(integer(1, 1000), CHECK_DEFAULTS.fall),
  restarts: optional(string()),
  service: optional(string()),
  lastWords: userLastWords,
  env: withDefault(recordOf(envValue), {}),
  startPeriod: withDefault(duration(), 0),
  ...userRunAs,
});

const DEFAULT_POLICY = EVENT_LOG_POLICY_DEFAULT;
/** The long form of `eventLog`: where, and how it is cut, kept and synced. */
const userEventLog = object({
  path: optional(string()),
  segmentSize: withDefault(size(4 * 1024, 2 ** 40), DEFAULT_POLICY.segmentSize),
  retain: withDefault(
    object({
      segments: withDefault(integer(0, 1_000_000), DEFAULT_POLICY.retain.segments),
      maxBytes: withDefault(size(0, Number.MAX_SAFE_INTEGER), DEFAULT_POLICY.retain.maxBytes),
      maxAge: withDefault(age(), DEFAULT_POLICY.retain.maxAgeMs),
    }),
    {
      segments: DEFAULT_POLICY.retain.segments,
      maxBytes: DEFAULT_POLICY.retain.maxBytes,
      maxAge: DEFAULT_POLICY.retain.maxAgeMs,
    },
  ),
  durability: withDefault(oneOf(DURABILITIES), DEFAULT_POLICY.durability),
  snapshotEvery: withDefault(
    object({
      events: withDefault(integer(1, Number.MAX_SAFE_INTEGER), DEFAULT_POLICY.snapshotEvery.events),
      bytes: withDefault(size(1024, Number.MAX_SAFE_INTEGER), DEFAULT_POLICY.snapshotEvery.bytes),
    }),
    DEFAULT_POLICY.snapshotEvery,
  ),
});

/** `eventLog`: a path (every policy at its default), or the long form. */
const eventLogSetting: Schema<{ path: string | undefined; policy: EventLogPolicy }> = (
  raw,
  path,
  problems,
) => {
  if (typeof raw === 'string') return { path: raw, policy: DEFAULT_POLICY };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return problem(
      problems,
      path,
      raw,
      'must be a path inside runDir, or { path, segmentSize, retain: { segments, maxBytes, maxAge }, durability, snapshotEvery: { events, bytes } }',
    );
  const v = userEventLog(raw, path, problems);
  if (v === INVALID) return INVALID;
  return {
    path: v.path,
    policy: {
      segmentSize: v.segmentSize,
      retain: { segments: v.retain.segments, maxBytes: v.retain.maxBytes, maxAgeMs: v.retain.maxAge },
      durability: v.durability,
      snapshotEvery: v.snapshotEvery,
    },
  };
};

const userConfig = object({
  runDir: optional(string()),
  eventLog: optional(eventLogSetting),
  allowUnsafeScripts: withDefault(boolean, false),
  allowSymlinkedRunDir: withDefault(boolean, false),
  services: withDefault(recordOf(userService, validName('service')), {}),
  checks: withDefault(recordOf(userCheck, validName('check')), {}),
  host: optional(hostName),
  ship: optional(userShip),
});

function validName(kind: string) {
  return (name: string, path: string, problems: ConfigProblem[]): boolean =>
    NAME.test(name) ||
    problem(problems, path, name, `a ${kind} name is 1-64 of [A-Za-z0-9_.-], starting alphanumeric`) !==
      INVALID;
}

/**
 * Validate a parsed config (from YAML or JSON) and fill in defaults. Pure: it reads no
 * file and no clock; relative paths are resolved against `baseDir` by string rules only.
 * Returns every problem found, not only the first.
 */
export function normalizeConfig(raw: unknown, options: NormalizeOptions): NormalizeResult {
  const base = options.baseDir;
  if (!isAbsolutePath(base)) throw new TypeError(`baseDir must be absolute, got ${base}`);
  const problems: ConfigProblem[] = [];
  const user = userConfig(raw, '', problems);
  const top = isMapping(raw) ? raw : {};
  const runDir = resolvePath(base, typeof top.runDir === 'string' && top.runDir ? top.runDir : './run');
  const logSetting = isMapping(top.eventLog) ? top.eventLog.path : top.eventLog;
  const givenLog = typeof logSetting === 'string' && logSetting ? logSetting : undefined;
  const log = eventLogPath(givenLog, runDir, base);
  if ('error' in log)
    problem(problems, isMapping(top.eventLog) ? 'eventLog.path' : 'eventLog', givenLog, log.error);
  const eventLog = 'path' in log ? log.path : resolvePath(runDir, 'events.jsonl');
  checkRestartTargets(top, problems);
  if (top.ship !== undefined && Object.hasOwn(mapping(top.services), SHIP_SERVICE))
    problem(
      problems,
      `services.${SHIP_SERVICE}`,
      {},
      `is the name of the built-in shipper (ship:): name the service otherwise`,
    );
  checkRunDirFiles(top, runDir, eventLog, problems);
  if (user !== INVALID) {
    const reported = new Set(Object.values(user.checks).flatMap((c) => [c.restarts, c.service]));
    const graph = Object.fromEntries(Object.entries(user.services).map(([n, s]) => [n, s.dependsOn]));
    problems.push(...dependencyProblems(graph, reported as Set<string>));
  }
  if (user === INVALID || problems.length > 0) return { ok: false, problems };

  const services: Record<string, ServiceDef> = {};
  for (const [name, s] of Object.entries(user.services)) services[name] = toServiceDef(name, s, runDir, base);
  const checks: Record<string, CheckDef> = {};
  for (const [name, c] of Object.entries(user.checks)) checks[name] = toCheckDef(c, base);
  const host = user.host ?? options.defaultHost ?? null;
  if (user.ship !== undefined) {
    const ship = user.ship;
    const procregArgv = options.procregArgv ?? ['procreg'];
    services[SHIP_SERVICE] = shipServiceDef({ ship, host, eventLog, runDir, cwd: base, procregArgv });
  }
  const sortedServices = Object.fromEntries(Object.entries(services).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    ok: true,
    config: {
      runDir,
      eventLog,
      eventLogPolicy: user.eventLog?.policy ?? DEFAULT_POLICY,
      allowUnsafeScripts: user.allowUnsafeScripts,
      allowSymlinkedRunDir: user.allowSymlinkedRunDir,
      services: sortedServices,
      checks,
      host,
      ship: user.ship ?? null,
    },
  };
}

/**
 * The working directory of a service or check: its `cwd` resolved against the config's
 * directory, which is also the default (not procreg's own working directory, which under
 * systemd is `/`).
 */
const cwdOf = (cwd: string | undefined, base: string): string =>
  cwd === undefined ? base : resolvePath(base, cwd);

/**
 * A program given by a relative path (`./app.sh`, `bin/app`) as the spawn would find it: in
 * the working directory. Joined without folding `..`, which the kernel resolves through
 * symlinks, so validation, script security and the spawn all name the same file.
 */
function commandIn(command: readonly string[], cwd: string): readonly string[] {
  const program = command[0] as string;
  if (!program.includes('/') || isAbsolutePath(program)) return command;
  const parts = program.split('/').filter((p) => p !== '' && p !== '.');
  return [`${cwd === '/' ? '' : cwd}/${parts.join('/')}`, ...command.slice(1)];
}

function toServiceDef(name: string, s: Infer<typeof userService>, runDir: string, base: string): ServiceDef {
  const cwd = cwdOf(s.cwd, base);
  return {
    command: commandIn(s.command, cwd),
    cwd,
    env: s.env,
    restart: s.restart,
    backoff: s.backoff,
    maxRestarts: { count: s.maxRestarts.count, withinMs: s.maxRestarts.within },
    stopSignal: s.stopSignal,
    stopTimeoutMs: s.stopTimeout,
    pidFile: resolvePath(runDir, s.pidFile ?? `${name}.pid`),
    fatalExitCodes: [...new Set(s.fatalExitCodes)].sort((a, b) => a - b),
    stdout: s.stdout === undefined ? null : resolvePath(runDir, s.stdout),
    stderr: s.stderr === undefined ? null : resolvePath(runDir, s.stderr),
    lastWords: s.lastWords,
    stderrLevel: s.stderrLevel,
    log:
      s.log === undefined || s.log === false
        ? null
        : {
            path: resolvePath(runDir, s.log.path ?? defaultLogPath(name)),
            maxSize: s.log.maxSize,
            keep: s.log.keep,
          },
    reloadSignal: s.reloadSignal ?? null,
    dependsOn: s.dependsOn,
    ...runAsDef(s, base),
  };
}

function toCheckDef(c: Infer<typeof userCheck>, base: string): CheckDef {
  const cwd = cwdOf(c.cwd, base);
  return {
    command: commandIn(c.command, cwd),
    cwd,
    intervalMs: c.interval,
    timeoutMs: c.timeout,
    killAfterMs: c.killAfter,
    rise: c.rise,
    fall: c.fall,
    restartsService: c.restarts ?? null,
    service: c.service ?? c.restarts ?? null,
    lastWords: c.lastWords,
    env: c.env,
    startPeriodMs: c.startPeriod,
    ...runAsDef(c, base),
  };
}

/** The run-as fields as normalized; the env file is named here and read by the shell's loader. */
function runAsDef(
  u: Infer<typeof userService> | Infer<typeof userCheck>,
  base: string,
): RunAs & { envFile: string | null; envFileValues: Readonly<Record<string, string>> } {
  return {
    user: u.user ?? null,
    group: u.group ?? null,
    umask: u.umask ?? null,
    limits: u.limits,
    inheritEnv: u.inheritEnv,
    envFile: u.envFile === undefined ? null : resolvePath(base, u.envFile),
    envFileValues: {},
  };
}

type Obj = Record<string, unknown>;
const isMapping = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const mapping = (v: unknown): Obj => (isMapping(v) ? v : {});

/** A check's `restarts` and `service` must name a service of the same config. */
function checkRestartTargets(top: Obj, problems: ConfigProblem[]): void {
  const services = mapping(top.services);
  for (const [name, raw] of Object.entries(mapping(top.checks)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const key of ['restarts', 'service'] as const) {
      const target = mapping(raw)[key];
      if (typeof target !== 'string' || target === '' || Object.hasOwn(services, target)) continue;
      const known = Object.keys(services).sort();
      problem(
        problems,
        `checks.${name}.${key}`,
        target,
        `must name a service of this config (${known.length ? known.join(', ') : 'there are none'})`,
      );
    }
  }
}

/** A file procreg writes: who it belongs to, as a message names it. */
interface Written {
  readonly service: string | null;
  readonly field: 'pidFile' | 'stdout' | 'stderr' | 'log' | null;
  readonly what: string;
}

/**
 * The files procreg writes for services stay inside runDir and never collide: a PID file,
 * stdout or stderr is relative to runDir without `..`, takes none of the names procreg keeps
 * for itself (`reservedRunDirNames`), is not another service's PID or output file, and is no
 * directory of another such file nor inside one. A service's stdout and stderr may share a
 * file. Checked on the raw values, so a collision is reported even beside other problems in
 * the same service.
 */
function checkRunDirFiles(top: Obj, runDir: string, eventLog: string, problems: ConfigProblem[]): void {
  const services = Object.entries(mapping(top.services)).sort(([a], [b]) => (a < b ? -1 : 1));
  const written = new Map<string, Written>([
    [eventLog, { service: null, field: null, what: 'the event log (eventLog)' }],
    [resolvePath(runDir, PROCREG_PID_FILE), { service: null, field: null, what: "procreg's own PID file" }],
    [resolvePath(runDir, PROCREG_SOCKET), { service: null, field: null, what: "procreg's control socket" }],
  ]);
  // The built-in shipper's PID file (a service that takes its name is reported as such instead).
  if (top.ship !== undefined && !Object.hasOwn(mapping(top.services), SHIP_SERVICE))
    written.set(resolvePath(runDir, `${SHIP_SERVICE}.pid`), {
      service: null,
      field: null,
      what: `the PID file of the built-in shipper (${SHIP_SERVICE})`,
    });
  const place = (
    name: string,
    field: 'pidFile' | 'stdout' | 'stderr' | 'log',
    raw: unknown,
    defaulted: boolean,
  ) => {
    if (typeof raw !== 'string' || raw.length === 0) return; // the schema says what is wrong
    const at = `services.${name}.${field === 'log' ? 'log.path' : field}`;
    const res = runDirFile(raw, runDir);
    if ('error' in res) return problem(problems, at, raw, res.error);
    const path = res.path;
    const hint = defaulted
      ? `; it is the default for a service named ${name}: set ${field === 'log' ? 'log.path' : field}`
      : '';
    const reserved = reservedNameAt(path, runDir, eventLog);
    if (reserved) {
      const named = reserved.pattern === basenameOf(eventLog) ? ' (eventLog)' : ` (${reserved.pattern})`;
      return problem(problems, at, path, `must not be ${reserved.what}${named}${hint}`);
    }
    const other = written.get(path);
    if (other !== undefined) {
      const shared =
        other.service === name && [other.field, field].every((f) => f === 'stdout' || f === 'stderr');
      if (shared) return;
      return problem(problems, at, path, collision(field, other) + hint);
    }
    // By the directories above the path and the ones above each file placed (not a walk of
    // every file placed per file: a config of 10k services took seconds).
    for (const dir of dirsAbove(path)) {
      const w = written.get(dir);
      if (w !== undefined)
        return problem(problems, at, path, `must not be inside ${dir}, which is ${describe(w)}`);
    }
    const held = holding.get(path);
    if (held !== undefined)
      return problem(
        problems,
        at,
        path,
        `must not be a directory holding ${held}, which is ${describe(written.get(held) as Written)}`,
      );
    written.set(path, { service: name, field, what: '' });
    for (const dir of dirsAbove(path)) if (!holding.has(dir)) holding.set(dir, path);
  };
  /** Each directory above a placed file, with the first file placed under it. */
  const holding = new Map<string, string>();
  for (const p of written.keys()) for (const dir of dirsAbove(p)) if (!holding.has(dir)) holding.set(dir, p);
  for (const [name, raw] of services) {
    const given = mapping(raw).pidFile;
    place(name, 'pidFile', given ?? `${name}.pid`, given === undefined);
  }
  for (const [name, raw] of services)
    for (const stream of ['stdout', 'stderr'] as const) place(name, stream, mapping(raw)[stream], false);
  for (const [name, raw] of services) {
    const log = mapping(raw).log;
    if (log === true) place(name, 'log', defaultLogPath(name), true);
    else if (isMapping(log)) place(name, 'log', log.path ?? defaultLogPath(name), log.path === undefined);
  }
}

/** The directories above an absolute path, nearest first, up to and including `/`. */
function dirsAbove(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) out.push(path.slice(0, i));
  out.push('/');
  return out;
}

function describe(w: Written): string {
  if (w.service === null) return w.what;
  if (w.field === 'pidFile') return `the PID file of service "${w.service}"`;
  if (w.field === 'log') return `the log file of service "${w.service}"`;
  return `the ${w.field} file of service "${w.service}"`;
}

function collision(field: string, other: Written): string {
  if (other.service === null) return `must not be ${other.what}`;
  if (field === 'pidFile' && other.field === 'pidFile')
    return `must differ from the PID file of service "${other.service}"`;
  return `must not be ${describe(other)}`;
}

export { type ConfigProblem, describeValue, formatProblem } from './schema.js';
