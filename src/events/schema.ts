import { SIGNALS } from '../config/types.js';
import { type ConfigProblem, describeValue, validate } from '../config/schema.js';
import { normalizedConfigSchema } from '../config/types.js';
import type { EventType, TimerKind } from './types.js';

/**
 * Returns null when the value is acceptable, else what is allowed — or, for a nested value
 * (a config), the path inside it and the whole message.
 */
export type Check = (v: unknown) => string | { readonly path: string; readonly message: string } | null;
type Simple = (v: unknown) => string | null;

/**
 * The test of a simple check as a JavaScript expression over `x`, for the decoder's compiled
 * fast path (codec.ts): true exactly when the check returns null. Checks without one are
 * called as they are.
 */
const INLINE = new WeakMap<Check, string>();
/** The check's expression over `x`, or null when it has none. */
export const inlineCheck = (c: Check): string | null => INLINE.get(c) ?? null;
const inlined = <C extends Check>(check: C, expression: string): C => {
  INLINE.set(check, expression);
  return check;
};

const int: Simple = inlined(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'a non-negative integer'),
  "typeof x === 'number' && Number.isSafeInteger(x) && x >= 0",
);
const pos: Simple = inlined(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? null : 'a positive integer'),
  "typeof x === 'number' && Number.isSafeInteger(x) && x > 0",
);
const pid: Simple = inlined(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? null : 'a positive integer PID'),
  "typeof x === 'number' && Number.isSafeInteger(x) && x > 0",
);
const str: Simple = inlined((v) => (typeof v === 'string' ? null : 'a string'), "typeof x === 'string'");
const name: Simple = inlined(
  (v) => (typeof v === 'string' && v.length > 0 ? null : 'a non-empty name'),
  "typeof x === 'string' && x.length > 0",
);
const bool: Simple = inlined(
  (v) => (typeof v === 'boolean' ? null : 'true or false'),
  "typeof x === 'boolean'",
);
const orNull = (c: Simple): Simple => {
  const inner = inlineCheck(c);
  const check: Simple = (v) => (v === null ? null : c(v) && `${c(v)} or null`);
  return inner === null ? check : inlined(check, `x === null || (${inner})`);
};
const oneOf = (...allowed: string[]): Simple =>
  inlined(
    (v) => (typeof v === 'string' && allowed.includes(v) ? null : `one of ${allowed.join(' | ')}`),
    allowed.map((a) => `x === ${JSON.stringify(a)}`).join(' || '),
  );
const signal: Simple = inlined(
  (v) =>
    typeof v === 'string' && (SIGNALS as readonly string[]).includes(v)
      ? null
      : 'a signal name such as SIGTERM',
  SIGNALS.map((a) => `x === ${JSON.stringify(a)}`).join(' || '),
);
const code: Simple = inlined(
  (v) =>
    v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255)
      ? null
      : 'an exit code 0-255 or null',
  "x === null || (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)",
);
const pids: Simple = (v) => (Array.isArray(v) && v.every((x) => pid(x) === null) ? null : 'a list of PIDs');
const names: Simple = (v) =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'a list of names';
const diff: Simple = (v) => {
  if (typeof v !== 'object' || v === null) return 'an object {added, removed, changed, unchanged}';
  for (const k of ['added', 'removed', 'changed', 'unchanged']) {
    if (names((v as Record<string, unknown>)[k])) return `an object whose ${k} is a list of names`;
  }
  const inPlace = (v as Record<string, unknown>).inPlace;
  if (inPlace !== undefined && names(inPlace)) return 'an object whose inPlace is a list of names';
  return null;
};

const TIMER_FIELDS: Record<TimerKind, Record<string, Simple>> = {
  backoff: { name, gen: int, incarnation: int },
  'check-interval': { name, gen: int, run: int },
  'check-timeout': { name, gen: int, run: int, pid },
  'stop-timeout': { pid, name, gen: int, serial: int },
};
const TIMER_ENTRIES = new Map(Object.values(TIMER_FIELDS).map((fields) => [fields, Object.entries(fields)]));
const timer: Simple = (v) => {
  if (typeof v !== 'object' || v === null) return 'a timer key object';
  const t = v as Record<string, unknown>;
  // hasOwn: a kind such as "constructor" must not find Object.prototype's members.
  const fields =
    typeof t.kind === 'string' && Object.hasOwn(TIMER_FIELDS, t.kind)
      ? TIMER_FIELDS[t.kind as TimerKind]
      : undefined;
  if (!fields) return `a timer key whose kind is one of ${Object.keys(TIMER_FIELDS).join(' | ')}`;
  // One event in seven is a timer firing: its fields as a ready list, not Object.entries per call.
  for (const [f, c] of TIMER_ENTRIES.get(fields) as [string, Simple][]) {
    const bad = c(t[f]);
    if (bad) return `a ${t.kind} timer key whose ${f} is ${bad}`;
  }
  return null;
};
/** A config-loaded event's config: a log line must not smuggle a config the fold cannot use. */
const config: Check = (v) => {
  const res = validate(normalizedConfigSchema, v);
  if (res.ok) return null;
  const first = res.problems[0] as ConfigProblem;
  const more = res.problems.length > 1 ? ` (and ${res.problems.length - 1} more problem(s))` : '';
  return { path: first.path ?? '', message: `${first.message}, got ${describeValue(first.value)}${more}` };
};

/** A logged config that passed `config` above, with every key it left out at its default. */
export function withConfigDefaults(v: unknown): unknown {
  const res = validate(normalizedConfigSchema, v);
  return res.ok ? res.value : v;
}

const lastWords: Simple = (v) => {
  const bad = 'a lastWords object: {lines: [strings]} or {file, offset}';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys === 'lines')
    return Array.isArray(o.lines) && o.lines.every((l) => typeof l === 'string') ? null : bad;
  if (keys === 'file,offset') return typeof o.file === 'string' && int(o.offset) === null ? null : bad;
  return bad;
};

const DELETED_REASONS = ['segments', 'maxBytes', 'maxAge'];
const deletedSegments: Simple = (v) => {
  const bad = 'a list of {file, firstSeq, lastSeq, bytes, reason: segments | maxBytes | maxAge}';
  if (!Array.isArray(v) || v.length === 0) return bad;
  for (const x of v) {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad;
    const o = x as Record<string, unknown>;
    if (
      Object.keys(o).length !== 5 ||
      typeof o.file !== 'string' ||
      !DELETED_REASONS.includes(o.reason as string)
    )
      return bad;
    if (pos(o.firstSeq) !== null || pos(o.lastSeq) !== null || int(o.bytes) !== null) return bad;
  }
  return null;
};

/** Payload fields of every event type. Adding an event type without a schema is a compile error. */
export const EVENT_SCHEMA: Record<EventType, Record<string, Check>> = {
  'supervisor-started': { pid, version: str, bootId: orNull(str) },
  'supervisor-stopping': { reason: str },
  'supervisor-stopped': {},
  'config-loaded': { source: str, config, reloadRule: oneOf('restart-changed', 'policy-in-place') },
  'reload-requested': { source: str, services: names },
  'reload-failed': { reason: str },
  spawned: { name, gen: int, incarnation: int, pid, startTime: orNull(int), exe: orNull(str) },
  'spawn-failed': { name, gen: int, incarnation: int, error: str },
  'check-started': { name, gen: int, run: int, pid, startTime: orNull(int), exe: orNull(str) },
  'check-start-failed': { name, gen: int, run: int, error: str },
  exited: { pid, code, signal: orNull(signal), groupAlive: bool, lastWords: orNull(lastWords) },
  'daemon-suspected': { pid, left: pids, escaped: bool, afterMs: int },
  'group-exited': { pid },
  'timer-fired': { timer },
  'stop-requested': { target: oneOf('service', 'check'), name, source: str },
  'start-requested': { target: oneOf('service', 'check'), name, source: str },
  'restart-requested': { name, source: str },
  'signal-requested': { name, signal, source: str },
  'orphan-reaped': {
    pid,
    outcome: oneOf('signalled', 'gone', 'not-ours', 'killed', 'pid-reused'),
    detail: orNull(str),
  },
  'signal-sent': { pid, signal, error: orNull(str) },
  'pidfile-written': { path: str, pid, error: orNull(str) },
  'pidfile-removed': {
    path: str,
    pid,
    outcome: oneOf('removed', 'not-owner', 'absent', 'error'),
    error: orNull(str),
  },
  'log-gap': {
    fromSeq: pos,
    toSeq: pos,
    reason: oneOf('queue-overflow', 'log-replaced', 'run-dir-removed'),
    previous: orNull(str),
  },
  'segments-deleted': { segments: deletedSegments },
  'ship-gap': { fromSeq: pos, toSeq: pos, bytes: int },
  'output-dropped': { output: str, lines: int, bytes: int, since: int },
  'spawn-requested': {
    name,
    gen: int,
    incarnation: int,
    reason: oneOf('start', 'restart', 'reload', 'requested', 'dependency'),
  },
  'restart-scheduled': { name, incarnation: int, delayMs: int, restarts: int },
  'service-given-up': { name, restarts: int, withinMs: int },
  'service-failed': { name, code: int, reason: str },
  'stop-begun': {
    pid,
    name,
    signal,
    reason: oneOf(
      'requested',
      'reload-removed',
      'reload-changed',
      'check-failed',
      'supervisor-stopping',
      'unwanted',
      'leader-exited',
      'dependency-restarted',
    ),
  },
  'check-run-requested': { name, gen: int, run: int },
  'check-skipped': { name, run: int, reason: str },
  'check-timed-out': { name, gen: int, run: int, pid },
  'check-finished': {
    name,
    gen: int,
    run: int,
    pid: orNull(pid),
    code,
    signal: orNull(signal),
    durationMs: int,
    ok: bool,
    timedOut: bool,
    stale: bool,
  },
  'check-health-changed': { name, healthy: bool },
  'reload-applied': { gen: int, services: diff, checks: diff },
  'reload-signalled': { name, pid, signal },
  'reload-coalesced': { source: str },
  'orphan-found': { pid, name, kind: oneOf('service', 'check'), startTime: orNull(int) },
  'orphan-forgotten': { pid, name, reason: str },
  'request-answered': { ref: int, outcome: oneOf('done', 'already', 'unknown', 'refused'), message: str },
  'event-ignored': { ref: int, reason: str },
  // Its inside is checked where it is read (core/snapshot.ts fromSnapshot), not on every decode.
  snapshot: {
    logId: orNull(str),
    cause: orNull(oneOf('start', 'rotation', 'interval', 'gap')),
    state: (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'a registry snapshot object',
  },
};

export const EVENT_TYPES = Object.keys(EVENT_SCHEMA) as EventType[];
