// procreg's own log as JSON lines, the shape pino writes, without pino: the supervisor is
// long-lived, and pino (the first CommonJS package it would load, with its dependencies)
// measured ~6 MB of resident memory. `--log-format pretty` still renders through pino-pretty.
import type { Logger } from 'pino';

/** What procreg itself calls on a logger: pino's signatures, so a pino Logger is one too. */
export type OwnLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'fatal'>;

/** Where the lines go: a stream-like `write` that takes a whole line (ending in "\n"). */
export interface LineSink {
  write(line: string): unknown;
}

/** pino's numbers for its levels. */
const LEVELS = { info: 30, warn: 40, error: 50, fatal: 60 } as const;

/**
 * One JSON object per line, as pino writes them with `base: null`: `level` (30 info, 40
 * warn, 50 error, 60 fatal), `time` (epoch ms), the fields given in their order, then
 * `msg`. An `err` field that is an Error is written as pino's standard serializer writes it
 * (`type`, `message` and `stack` with their causes, then the error's own fields). Called as
 * pino is: `(fields, msg)`, `(msg)`, or `(error, msg?)` — an Error alone is `{ err }` with its
 * message.
 */
export class JsonLineLogger implements OwnLogger {
  constructor(
    private readonly sink: LineSink,
    private readonly now: () => number = Date.now,
  ) {}

  readonly info = (a?: unknown, msg?: string): void => this.line(LEVELS.info, a, msg);
  readonly warn = (a?: unknown, msg?: string): void => this.line(LEVELS.warn, a, msg);
  readonly error = (a?: unknown, msg?: string): void => this.line(LEVELS.error, a, msg);
  readonly fatal = (a?: unknown, msg?: string): void => this.line(LEVELS.fatal, a, msg);

  private line(level: number, a: unknown, given: string | undefined): void {
    let fields: object | null = null;
    let msg: unknown = given;
    if (typeof a === 'string') msg = a;
    else if (isErrorLike(a)) {
      fields = { err: a };
      msg ??= a.message;
    } else if (a !== null && typeof a === 'object') {
      fields = a;
      // pino: `{ err }` with no message has the error's message as its own.
      const err = (a as { err?: unknown }).err;
      if (msg === undefined && isErrorLike(err)) msg = err.message;
    } else if (a !== undefined && a !== null) msg = a; // pino: a number or boolean is the message
    let out = `{"level":${level},"time":${this.now()}`;
    if (fields !== null) {
      let entries: [string, unknown][] = [];
      try {
        entries = Object.entries(fields);
      } catch {
        out += `,"fields":${UNSERIALIZABLE}`; // a Proxy whose keys throw
      }
      for (const [key, value] of entries) {
        const text = stringify(key, value);
        if (text !== undefined) out += `,${JSON.stringify(key)}:${text}`;
      }
    }
    if (msg !== undefined) out += `,"msg":${stringify('msg', msg, String) ?? UNSERIALIZABLE}`;
    this.sink.write(`${out}}\n`);
  }
}

/** What pino writes for a value it cannot serialize: logging never throws. */
const UNSERIALIZABLE = '"[unable to serialize, circular reference is too complex to analyze]"';

/**
 * JSON text of a field, or undefined to leave it out (undefined, a function, a symbol). Never
 * throws: a value whose toJSON or getter throws, or whose text is too long for a string, is
 * written as pino writes it.
 */
function stringify(key: string, value: unknown, as?: (v: unknown) => unknown): string | undefined {
  try {
    const v = as ? as(value) : key === 'err' ? serializeErr(value) : value;
    try {
      return JSON.stringify(v, bigints);
    } catch {
      return JSON.stringify(v, decycled()); // a circular structure: "[Circular]" where it loops
    }
  } catch {
    return UNSERIALIZABLE;
  }
}

/** A BigInt as pino writes it: its digits (a number, exact while it is a safe integer). */
function bigints(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}

function decycled(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return bigints(_key, value);
    if (value === null || typeof value !== 'object') return value;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}

interface ErrorLike {
  message: string;
  stack?: string;
  name?: string;
  cause?: unknown;
  errors?: unknown;
}

const isErrorLike = (e: unknown): e is ErrorLike =>
  e !== null && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string';

/** pino-std-serializers' `err`: type, message and stack with their causes, aggregated errors, own fields. */
function serializeErr(err: unknown, seen: Set<unknown> = new Set()): unknown {
  if (!isErrorLike(err)) return err;
  seen.add(err);
  const out: Record<string, unknown> = {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: withCauses(err, (e) => e.message, ': '),
    stack: withCauses(err, (e) => e.stack ?? '', '\ncaused by: '),
  };
  if (Array.isArray(err.errors)) out.aggregateErrors = err.errors.map((e) => serializeErr(e, seen));
  for (const key in err) {
    if (out[key] !== undefined) continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (!isErrorLike(value)) out[key] = value;
    else if (key !== 'cause' && !seen.has(value)) out[key] = serializeErr(value, seen);
  }
  return out;
}

/** `part` of the error and of each of its causes, joined; a cycle of causes ends the chain. */
function withCauses(err: ErrorLike, part: (e: ErrorLike) => string, glue: string): string {
  const seen = new Set<unknown>();
  let text = part(err);
  for (let e = err; isErrorLike(e.cause); e = e.cause) {
    if (seen.has(e)) return `${text}${glue === ': ' ? ': ...' : '\ncauses have become circular...'}`;
    seen.add(e);
    text += glue + part(e.cause);
  }
  return text;
}
