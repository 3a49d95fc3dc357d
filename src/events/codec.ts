import { type Check, EVENT_SCHEMA, inlineCheck, withConfigDefaults } from './schema.js';
import { type Event, type EventBody, LOG_FORMAT_VERSION } from './types.js';

export type DecodeResult =
  { readonly ok: true; readonly event: Event } | { readonly ok: false; readonly error: string };

/** One log line, without its newline. Envelope first so a line reads well in `less`. */
export function encodeEvent(event: Event): string {
  return JSON.stringify(event);
}

/** The event without its envelope (format version, seq, times): what was said, not when. */
export function bodyOf(event: Event): EventBody {
  const { v: _v, seq: _seq, time: _time, mono: _mono, ...body } = event;
  return body as EventBody;
}

/** An event body with its envelope: the next seq, and when it happened by the wall and the monotonic clock. */
export function stamp<E extends EventBody>(body: E, seq: number, time: number, mono: number): Event {
  return { v: LOG_FORMAT_VERSION, seq, time, mono, ...body } as Event;
}

/** Per type, its payload fields and their checks, as arrays: the decoder's hot loop. */
const COMPILED = new Map<string, { names: string[]; checks: Check[] }>(
  Object.entries(EVENT_SCHEMA).map(([type, fields]) => [
    type,
    { names: Object.keys(fields), checks: Object.values(fields) as Check[] },
  ]),
);
const ENVELOPE_FIELDS = 5; // v, seq, time, mono, type
/** `type.field` of fields an event may leave out (optional in its TypeScript type). */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set([
  'reload-requested.services',
  'config-loaded.reloadRule',
]);

/**
 * Parse and validate one line. Never throws: a bad line is an error naming the field,
 * the value found and what is allowed.
 */
export function decodeEvent(line: string): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not JSON (${(e as Error).message})` };
  }
  if (acceptsFast(raw)) return { ok: true, event: raw as Event };
  return validateParsed(raw);
}

/** A current-format event the compiled checks accept is the parsed object itself. */
function acceptsFast(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  const fast = typeof type === 'string' ? FAST.get(type) : undefined;
  return fast !== undefined && fast(raw as Record<string, unknown>);
}

/** @internal For the tests: whether the compiled checks alone accept this parsed line. */
export const acceptedByFastPath = acceptsFast;

/**
 * Per event type, its whole validation compiled into one function of plain property reads
 * (generated from EVENT_SCHEMA): true exactly when validateParsed would accept the object
 * unchanged. The generic walk below reads fields by computed name, megamorphic loads that
 * cost about half a JSON.parse per event. A false is not an error: validateParsed then runs
 * and says what is wrong, with the same messages as ever. config-loaded (its config gets
 * defaults filled in) and other rare types go the generic way anyway.
 */
const FAST = new Map<string, (o: Record<string, unknown>) => boolean>(
  Object.entries(EVENT_SCHEMA)
    .filter(([type]) => type !== 'config-loaded')
    .map(([type, fields]) => [type, compileFastCheck(type, fields)]),
);

function compileFastCheck(
  type: string,
  fields: Record<string, Check>,
): (o: Record<string, unknown>) => boolean {
  const called: Check[] = [];
  const body: string[] = [
    `if (o.v !== ${LOG_FORMAT_VERSION}) return false;`,
    "let x = o.seq; if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 1)) return false;",
    "x = o.time; if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) return false;",
    "x = o.mono; if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) return false;",
    'let present = 5;',
  ];
  for (const [field, check] of Object.entries(fields)) {
    // Field names are the schema's own identifiers; anything else would not compile safely.
    if (!/^[A-Za-z_$][\w$]*$/.test(field))
      throw new Error(`event schema: field name ${field} is not an identifier`);
    const test = inlineCheck(check) ?? `c[${called.push(check) - 1}](x) === null`;
    const optional = OPTIONAL_FIELDS.has(`${type}.${field}`);
    body.push(
      optional
        ? `x = o.${field}; if (x !== undefined) { if (!(${test})) return false; present++; }`
        : `x = o.${field}; if (!(${test})) return false; present++;`,
    );
  }
  // Every expected field is present, so any extra key shows in the count (as in validateParsed).
  body.push('let keys = 0; for (const _ in o) keys++;', 'return keys === present;');
  // Generated from EVENT_SCHEMA alone: no text from a log line reaches the source.
  const make = new Function(
    'c',
    `return function fast_${type.replace(/-/g, '_')}(o) {\n${body.join('\n')}\n};`,
  );
  return make(called) as (o: Record<string, unknown>) => boolean;
}

/**
 * @internal The generic validation of a parsed line, with the error messages: what decodeEvent
 * falls back to (exported for the tests, which hold the compiled checks to it).
 */
export function validateParsed(raw: unknown): DecodeResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, error: 'not a JSON object' };
  let o = raw as Record<string, unknown>;
  if (o.v !== LOG_FORMAT_VERSION) {
    if (o.v !== 1)
      return {
        ok: false,
        error: `field v: expected format version ${LOG_FORMAT_VERSION} (or 1, read and upgraded), got ${show(o.v)}`,
      };
    o = upgradeFromV1(o);
  }
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) {
    return { ok: false, error: `field seq: expected a positive integer, got ${show(o.seq)}` };
  }
  if (typeof o.time !== 'number' || !Number.isSafeInteger(o.time) || o.time < 0) {
    return { ok: false, error: `field time: expected epoch milliseconds, got ${show(o.time)}` };
  }
  if (typeof o.mono !== 'number' || !Number.isSafeInteger(o.mono) || o.mono < 0) {
    return {
      ok: false,
      error: `field mono: expected monotonic milliseconds since boot, got ${show(o.mono)}`,
    };
  }
  const schema = typeof o.type === 'string' ? COMPILED.get(o.type) : undefined;
  if (!schema) return { ok: false, error: `field type: unknown event type ${show(o.type)}` };
  const { names, checks } = schema;
  let absent = 0;
  for (let i = 0; i < names.length; i++) {
    const field = names[i] as string;
    // A field added later may be absent: a line from before it, or an event that leaves it out.
    if (o[field] === undefined && OPTIONAL_FIELDS.has(`${o.type as string}.${field}`)) {
      absent++;
      continue;
    }
    const bad = (checks[i] as Check)(o[field]);
    if (bad === null) continue;
    if (typeof bad === 'string')
      return { ok: false, error: `${o.type} field ${field}: expected ${bad}, got ${show(o[field])}` };
    return { ok: false, error: `${o.type} field ${field}.${bad.path}: ${bad.message}` };
  }
  // Every expected field is present (JSON has no undefined), so any extra key shows in the count.
  let keys = 0;
  for (const _ in o) keys++;
  if (keys !== ENVELOPE_FIELDS + names.length - absent) {
    const extra = Object.keys(o).find(
      (k) => k !== 'v' && k !== 'seq' && k !== 'time' && k !== 'mono' && k !== 'type' && !names.includes(k),
    );
    return { ok: false, error: `${o.type}: unknown field ${show(extra)}` };
  }
  // A config written before a key existed reads as if it had said the key's default.
  if (o.type === 'config-loaded') o.config = withConfigDefaults(o.config);
  return { ok: true, event: o as unknown as Event };
}
/**
 * A version 1 line as version 2 would have written it. v1 had no monotonic clock: `mono` is
 * the wall time, which is what v1's fold measured by, so its decisions re-derive unchanged.
 * `config-loaded` no longer carries the generation (the fold numbers it), and its config
 * names a check's target `restartsService` and always says `allowUnsafeScripts`. Fields
 * v2 added are null or false: no boot id, no executable, no group left behind, no last
 * words, no detail.
 */
function upgradeFromV1(raw: Record<string, unknown>): Record<string, unknown> {
  // The object is the decoder's own, fresh from JSON.parse: rebuilt only to keep field order.
  const { v: _v, seq, time, type, ...body } = raw;
  const o: Record<string, unknown> = { v: LOG_FORMAT_VERSION, seq, time, mono: time, type, ...body };
  switch (type) {
    case 'supervisor-started':
      o.bootId = null;
      break;
    case 'spawned':
    case 'check-started':
      o.exe = null;
      break;
    case 'exited':
      o.groupAlive = false;
      o.lastWords = null;
      break;
    case 'orphan-reaped':
      o.detail = null;
      break;
    case 'stop-requested':
    case 'start-requested':
      return {
        v: LOG_FORMAT_VERSION,
        seq,
        time,
        mono: time,
        type,
        target: 'service',
        ...body,
        source: 'api',
      };
    case 'config-loaded':
      return upgradeConfigLoaded(o);
  }
  return o;
}

function upgradeConfigLoaded(o: Record<string, unknown>): Record<string, unknown> {
  const { gen: _gen, ...rest } = o;
  const config = rest.config;
  if (typeof config !== 'object' || config === null) return rest;
  const c = config as Record<string, unknown>;
  const checks: Record<string, unknown> = {};
  if (typeof c.checks === 'object' && c.checks !== null) {
    for (const [name, def] of Object.entries(c.checks as Record<string, unknown>)) {
      if (typeof def !== 'object' || def === null || !('restarts' in def)) checks[name] = def;
      else {
        const { restarts, ...d } = def as Record<string, unknown>;
        checks[name] = { ...d, restartsService: restarts };
      }
    }
  }
  return { ...rest, config: { ...c, allowUnsafeScripts: c.allowUnsafeScripts ?? false, checks } };
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
