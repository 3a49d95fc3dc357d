/**
 * How the debugging views write times and durations for people. Pure: a time is formatted
 * from the epoch milliseconds the log holds, in UTC or in the zone the process runs in
 * (`TZ`), never read from a clock.
 */
import { formatConfigDuration } from '../config/duration.js';
import { formatUptime } from '../report/durations.js';

export interface TimeStyle {
  /** Write times in UTC (with a `Z`) instead of local time. */
  readonly utc?: boolean;
}

const two = (n: number) => String(n).padStart(2, '0');
const three = (n: number) => String(n).padStart(3, '0');

/** `03:12:04.117` (local, or UTC with `utc`). */
export function clockTime(ms: number, style: TimeStyle = {}): string {
  const d = new Date(ms);
  const [h, m, s, f] = style.utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${two(h)}:${two(m)}:${two(s)}.${three(f)}`;
}

/** `2026-11-28` (local, or UTC with `utc`): the day a clock time belongs to. */
export function calendarDay(ms: number, style: TimeStyle = {}): string {
  const d = new Date(ms);
  const [y, mo, da] = style.utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate()];
  return `${y}-${two(mo)}-${two(da)}`;
}

/** `2026-11-28 03:12:04.117` (with ` UTC` when `utc`). */
export function fullTime(ms: number, style: TimeStyle = {}): string {
  return `${calendarDay(ms, style)} ${clockTime(ms, style)}${style.utc ? ' UTC' : ''}`;
}

/** ISO 8601 in UTC, for JSON. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A duration for a person: `0ms`, `400ms`, `2.8s`, `2m10s`, `1h05m`. */
export function duration(ms: number): string {
  return formatUptime(ms);
}

/** A configured duration, exactly: `100ms`, `1.5s`, `60s`, `15m`, `2h` (seconds up to 10 minutes). */
export const configDuration = formatConfigDuration;

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix =
    tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** `code 1`, `signal SIGKILL`, `spawn failed: ENOENT`. */
export function exitWords(code: number | null, signal: string | null, error: string | null = null): string {
  if (error !== null) return `spawn failed: ${error}`;
  if (signal !== null) return `signal ${signal}`;
  return `code ${code}`;
}

/** A string quoted for a one-line summary, cut at `max` characters. */
export function quote(s: string, max = 120): string {
  const t = s.length > max ? `${s.slice(0, max - 1)}…` : s;
  return JSON.stringify(t);
}

/** `a, b and c`. */
export function listWords(xs: readonly string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
