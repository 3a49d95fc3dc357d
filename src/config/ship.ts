/**
 * Shipping the event log to a fleet's NATS JetStream (issue 16): the `host:` and `ship:` keys
 * as a person writes them, the built-in service that runs the shipper, and the names a log
 * has on the stream (subject, message id). Pure: names and values only.
 */
import { SERVICE_DEFAULTS } from './defaults.js';
import { resolvePath } from './paths.js';
import {
  type ConfigProblem,
  INVALID,
  object,
  optional,
  problem,
  type Schema,
  withDefault,
} from './schema.js';
import { size } from './size.js';
import { LAST_WORDS_DEFAULT, type ServiceDef, type ShipDef } from './types.js';

/** The built-in service that ships the log when the config has `ship:`. */
export const SHIP_SERVICE = 'procreg-ship';
export const DEFAULT_SHIP_STREAM = 'PROCREG';
/** Subjects of shipped events: `procreg.ev.<host>.<logId>`. */
export const SHIP_SUBJECT_PREFIX = 'procreg.ev';

const NATS_URL = /^nats:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}))?$/;
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `nats://host[:port]`, the port 1-65535 (default 4222). */
export function natsUrlProblem(url: string): string | null {
  const m = NATS_URL.exec(url);
  if (!m) return 'must be a NATS server URL: nats://host:port (e.g. nats://127.0.0.1:4222)';
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return 'the port must be 1-65535';
  return null;
}

export function streamNameProblem(name: string): string | null {
  return STREAM_NAME.test(name) ? null : 'a stream name is 1-64 of [A-Za-z0-9_-]';
}

const natsUrl: Schema<string> = (raw, path, problems) => {
  if (typeof raw !== 'string') return problem(problems, path, raw, 'must be a string: nats://host:port');
  const why = natsUrlProblem(raw);
  return why ? problem(problems, path, raw, why) : raw;
};
const streamName: Schema<string> = (raw, path, problems) => {
  if (typeof raw !== 'string') return problem(problems, path, raw, 'must be a string');
  const why = streamNameProblem(raw);
  return why ? problem(problems, path, raw, why) : raw;
};

/** `host:` — any printable name without spaces, 1-253 characters (a DNS name fits). */
export const hostName: Schema<string> = (raw, path, problems) =>
  typeof raw === 'string' && /^[\x21-\x7e]{1,253}$/.test(raw)
    ? raw
    : problem(problems, path, raw, 'must be a host name: 1-253 printable characters, no spaces');

const userShipObject = object({
  to: natsUrl,
  stream: withDefault(streamName, DEFAULT_SHIP_STREAM),
  maxBacklog: optional(size(0, Number.MAX_SAFE_INTEGER)),
});

/** `ship: { to, stream, maxBacklog }`. */
export const userShip: Schema<ShipDef> = (raw, path, problems: ConfigProblem[]) => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return problem(problems, path, raw, 'must be { to: nats://host:port, stream: PROCREG, maxBacklog: 1GB }');
  const v = userShipObject(raw, path, problems);
  if (v === INVALID) return INVALID;
  return { to: v.to, stream: v.stream, maxBacklogBytes: v.maxBacklog ?? null };
};

/**
 * The service procreg runs for `ship:`: `procreg ship <eventLog> --to … --stream … --host …`,
 * a process of its own that reads the log's files (never procreg's memory), so shipping can
 * neither slow nor stop supervision. Every field of a ServiceDef, as a config would give it:
 * restarted for ever with backoff (a broker down for an hour is no reason to give up),
 * except after exit 2 (a usage error no restart mends).
 */
export function shipServiceDef(o: {
  ship: ShipDef;
  host: string | null;
  eventLog: string;
  runDir: string;
  cwd: string;
  procregArgv: readonly string[];
}): ServiceDef {
  const hostArgs = o.host === null ? [] : ['--host', o.host];
  return {
    command: [
      ...o.procregArgv,
      'ship',
      o.eventLog,
      '--to',
      o.ship.to,
      '--stream',
      o.ship.stream,
      ...hostArgs,
    ],
    cwd: o.cwd,
    env: {},
    restart: 'always',
    backoff: { initialMs: 1_000, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
    maxRestarts: { count: 1_000_000, withinMs: 60_000 },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: SERVICE_DEFAULTS.stopTimeoutMs,
    pidFile: resolvePath(o.runDir, `${SHIP_SERVICE}.pid`),
    fatalExitCodes: [2],
    stdout: null,
    stderr: null,
    lastWords: LAST_WORDS_DEFAULT,
    stderrLevel: 'warn',
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
  };
}

/** A name as one token of a NATS subject: anything but [A-Za-z0-9_-] becomes `_`. */
export function subjectToken(name: string): string {
  const t = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return t === '' ? '_' : t;
}

/** The subject one log's events are published to. */
export function shipSubject(host: string, logId: string): string {
  return `${SHIP_SUBJECT_PREFIX}.${subjectToken(host)}.${subjectToken(logId)}`;
}

/** The message id (`Nats-Msg-Id`) of one event: JetStream's duplicate window drops a re-send. */
export function shipMsgId(host: string, logId: string, seq: number): string {
  return `${host}:${logId}:${seq}`;
}
