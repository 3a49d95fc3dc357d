/**
 * The normalized config: what validation produces from a user's file and what a
 * `config-loaded` event carries, so a log is self-contained. Its TypeScript types are
 * derived from the schema below, which is also what checks a config read back from a log:
 * the type and its check are one definition.
 */
import { DEPENDENCY_CONDITIONS, type Dependency } from './depends-on.js';
import { runAsFields } from './run-as.js';
import {
  arrayOf,
  boolean,
  type Infer,
  integer,
  nullable,
  number,
  object,
  oneOf,
  optional,
  problem,
  recordOf,
  type Schema,
  string,
  withDefault,
} from './schema.js';

export const RESTART_POLICIES = ['always', 'on-failure', 'never'] as const;
/** How a service is restarted after its process exits on its own. */
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const SIGNALS = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;
export type SignalName = (typeof SIGNALS)[number];

const ms = integer(0, Number.MAX_SAFE_INTEGER);
const positiveMs = integer(1, Number.MAX_SAFE_INTEGER);
const text: Schema<string> = (raw, path, problems) =>
  typeof raw === 'string' ? raw : string('must be a string')(raw, path, problems);
export const ARGV_MESSAGE =
  'must be a non-empty list of strings (argv; no shell unless you write one, e.g. [sh, -c, "..."])';
export const argv: Schema<readonly string[]> = (raw, path, problems) => {
  const ok =
    Array.isArray(raw) &&
    raw.length > 0 &&
    raw[0] !== '' &&
    raw.every((a) => typeof a === 'string' && !a.includes('\0'));
  return ok ? (raw as string[]) : problem(problems, path, raw, ARGV_MESSAGE);
};

export const backoffDefSchema = object({
  /** Delay before the first restart of a run of quick failures. */
  initialMs: ms,
  /** Cap on the delay. */
  maxMs: ms,
  /** Growth factor per consecutive quick failure. */
  factor: number(1, 100),
  /** An incarnation that lived at least this long resets the delay to `initialMs`. */
  resetAfterMs: ms,
});
export interface BackoffDef extends Infer<typeof backoffDefSchema> {}

/** OTP-style intensity: more than `count` restarts within `withinMs` gives the service up. */
export const intensityDefSchema = object({ count: integer(0, 1_000_000), withinMs: ms });
export interface IntensityDef extends Infer<typeof intensityDefSchema> {}

/**
 * How much of a child's last output its exit record keeps (when the output passes through
 * procreg): at most `lines` lines and `bytes` bytes of them. 0 keeps none.
 */
/** The level a service's stderr lines get in procreg's log (its stdout lines are `info`). */
export const STDERR_LEVELS = ['info', 'warn', 'error'] as const;
export type StderrLevel = (typeof STDERR_LEVELS)[number];

/**
 * A log file procreg keeps for a service: its output lines (those not sent to `stdout` /
 * `stderr` files), rotated past `maxSize` bytes into `path.1` … `path.<keep>`.
 */
export const serviceLogDefSchema = object({
  /** Absolute path inside runDir. */
  path: string(),
  maxSize: integer(1, Number.MAX_SAFE_INTEGER),
  keep: integer(0, 1000),
});
export interface ServiceLogDef extends Infer<typeof serviceLogDefSchema> {}

export const lastWordsDefSchema = object({ lines: integer(0, 1000), bytes: integer(0, 1 << 20) });
export interface LastWordsDef extends Infer<typeof lastWordsDefSchema> {}
export const LAST_WORDS_DEFAULT: LastWordsDef = { lines: 10, bytes: 2048 };

/** One dependency of a service (see config/depends-on.ts). */
export const dependencySchema = object({
  condition: oneOf(DEPENDENCY_CONDITIONS),
  restart: boolean,
});

export const serviceDefSchema = object({
  /** argv; a program given by a relative path with a `/` is made absolute against `cwd`. */
  command: argv,
  /** Absolute working directory: the `cwd` given, else the config file's directory. Null only in logs of procreg <= 0.2: procreg's own. */
  cwd: nullable(string()),
  env: recordOf(text) as Schema<Readonly<Record<string, string>>>,
  restart: oneOf(RESTART_POLICIES),
  backoff: backoffDefSchema,
  maxRestarts: intensityDefSchema,
  stopSignal: oneOf(SIGNALS),
  stopTimeoutMs: ms,
  /** Absolute path of the PID file. */
  pidFile: string(),
  /** Exit codes that mean "do not restart": the service fails at once. */
  fatalExitCodes: arrayOf(integer(0, 255), 'must be a list of exit codes 0-255') as Schema<readonly number[]>,
  /** Absolute path the child's stdout is appended to, or null: the supervisor's log, tagged with the name. */
  stdout: nullable(string()),
  /** Likewise for stderr; it may name the same file as `stdout`. */
  stderr: nullable(string()),
  lastWords: withDefault(lastWordsDefSchema, LAST_WORDS_DEFAULT),
  /** Level of its stderr lines in procreg's log. Configs logged before it existed: info. */
  stderrLevel: withDefault(oneOf(STDERR_LEVELS), 'info' as StderrLevel),
  /** The log file procreg writes its output lines to, or null: procreg's own log. */
  log: withDefault(nullable(serviceLogDefSchema), null),
  /** Sent to the running incarnation by a reload that names the service (`reload --services`). */
  reloadSignal: withDefault(nullable(oneOf(SIGNALS)), null),
  /** Services that must be started (or healthy) before this one starts, by name. */
  dependsOn: withDefault(recordOf(dependencySchema), {}) as Schema<Readonly<Record<string, Dependency>>>,
  ...runAsFields,
});
export interface ServiceDef extends Infer<typeof serviceDefSchema> {}

export const checkDefSchema = object({
  command: argv,
  /** Working directory of each run: the `cwd` given, else the config file's directory. Null only in logs of procreg <= 0.2: procreg's own. */
  cwd: nullable(string()),
  intervalMs: positiveMs,
  timeoutMs: positiveMs,
  /** After a timed-out run got SIGTERM, SIGKILL follows after this long. */
  killAfterMs: positiveMs,
  rise: integer(1, 1000),
  fall: integer(1, 1000),
  /** The service restarted when this check turns unhealthy (the config file's `restarts`). */
  restartsService: nullable(string()),
  /** The service whose health this check reports (its `service`, else its `restarts`). */
  service: withDefault(nullable(string()), null),
  lastWords: withDefault(lastWordsDefSchema, LAST_WORDS_DEFAULT),
  /** Added to the environment of each run (configs logged before checks had `env`: none). */
  env: withDefault(recordOf(text), {}) as Schema<Readonly<Record<string, string>>>,
  /** After a start of its service, failures do not count until this long has passed or a run succeeded (0: none). */
  startPeriodMs: withDefault(ms, 0),
  ...runAsFields,
});
export interface CheckDef extends Infer<typeof checkDefSchema> {}

export const DURABILITIES = ['every', 'batch', 'none'] as const;
/**
 * every: fsync after each event (nothing acknowledged is ever lost); batch: write(2) each
 * event at once (survives a crash of procreg), fsync at most every 100 ms (survives a power
 * loss up to that window); none: write(2) each event, leave syncing to the kernel.
 */
export type Durability = (typeof DURABILITIES)[number];

/** How the event log is cut, kept and synced (the config file's `eventLog` in its long form). */
export const eventLogPolicySchema = object({
  /** Rotate when the live segment's events (its first snapshot not counted) pass this many bytes. */
  segmentSize: integer(1, Number.MAX_SAFE_INTEGER),
  /** Closed segments are deleted, oldest first, past any of these bounds. */
  retain: object({
    /** Closed segments kept (the live one is not counted). */
    segments: integer(0, 1_000_000),
    /** Bytes of all segments, the live one included. */
    maxBytes: integer(0, Number.MAX_SAFE_INTEGER),
    /** Age of a closed segment's last write. */
    maxAgeMs: integer(0, Number.MAX_SAFE_INTEGER),
  }),
  durability: oneOf(DURABILITIES),
  /** A snapshot record within the live segment after this many events or bytes since the last one. */
  snapshotEvery: object({
    events: integer(1, Number.MAX_SAFE_INTEGER),
    bytes: integer(1, Number.MAX_SAFE_INTEGER),
  }),
});
export interface EventLogPolicy extends Infer<typeof eventLogPolicySchema> {}
export const EVENT_LOG_POLICY_DEFAULT: EventLogPolicy = {
  segmentSize: 64 * 1024 ** 2,
  retain: { segments: 16, maxBytes: 1024 ** 3, maxAgeMs: 30 * 86_400_000 },
  durability: 'batch',
  // Measured on a 300-service crash storm (BENCHMARKS.md, issue 11): every 10k events its
  // 250 kB snapshots were 20 % of the log and cost the replay 13 %, every 25k still 8 % and
  // 6 %; every 50k they are 3.6 % and cost nothing measurable, while a start-up re-folds at
  // most 50k events (~0.3 s of CPU).
  snapshotEvery: { events: 50_000, bytes: 16 * 1024 ** 2 },
};

/**
 * Where the shipper (`procreg ship`, issue 16) sends the event log: a NATS JetStream stream.
 * docs/fleet.md.
 */
export const shipDefSchema = object({
  /** The NATS server: `nats://host:port`. */
  to: string(),
  /** The JetStream stream, created when missing. */
  stream: string(),
  /**
   * Retention waits for the shipper: a closed segment not yet shipped is kept. Past this many
   * bytes of such segments it deletes them anyway and records a `ship-gap`; null: it waits
   * for ever (only `retain.maxBytes` is then exceeded).
   */
  maxBacklogBytes: nullable(integer(0, Number.MAX_SAFE_INTEGER)),
});
export interface ShipDef extends Infer<typeof shipDefSchema> {}

/**
 * A config after validation and defaulting: every duration in ms, every path absolute,
 * keys sorted. It is what a `config-loaded` event carries, so a log is self-contained.
 */
export const normalizedConfigSchema = object({
  runDir: string(),
  /** The live segment of the event log: an absolute path inside runDir. */
  eventLog: string(),
  /** Configs logged before segments existed lack it: the defaults. */
  eventLogPolicy: withDefault(eventLogPolicySchema, EVENT_LOG_POLICY_DEFAULT),
  /** When procreg runs as root, run programs that non-root users could modify (keepalived's script security off). */
  allowUnsafeScripts: boolean,
  /**
   * The shell accepts a runDir that is (or lies under) a symlink only when this is true.
   * normalizeConfig always sets it; configs logged by procreg <= 0.2 lack it (read: false).
   */
  allowSymlinkedRunDir: optional(boolean),
  services: recordOf(serviceDefSchema) as Schema<Readonly<Record<string, ServiceDef>>>,
  checks: recordOf(checkDefSchema) as Schema<Readonly<Record<string, CheckDef>>>,
  /** The name this supervisor has in a fleet (`host:`, default the machine's); null in configs logged before it. */
  host: withDefault(nullable(string()), null),
  /** Where its event log is shipped, or null: nowhere. */
  ship: withDefault(nullable(shipDefSchema), null),
});
export interface NormalizedConfig extends Infer<typeof normalizedConfigSchema> {}
