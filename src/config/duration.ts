import { problem, type Schema } from './schema.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * The longest duration a config may give: Node's timers hold a signed 32-bit count of
 * milliseconds and turn anything longer into 1 ms, so `stopTimeout: 30d` would fire at once.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** "250ms", "2s", "1.5m", "1h", "1d" or a non-negative integer of ms; undefined when it is neither. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A configured duration for a person, exactly: `100ms`, `1.5s`, `60s`, `15m`, `2h` (seconds up to 10 minutes). */
export function formatConfigDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 600_000 || ms % 60_000 !== 0) return `${Number((ms / 1000).toFixed(3))}s`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${ms / 60_000}m`;
}

/** Every unit spelled out, largest first, for messages: 2147483647 → `24d20h31m23.647s`. */
export function formatDurationLong(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) out += `${n}${unit}`;
  }
  if (rest === 0) return out || '0ms';
  const s = Math.floor(rest / 1000);
  const frac = rest % 1000;
  if (s === 0 && out === '') return `${frac}ms`;
  return `${out}${s}${frac ? `.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
}

const FORMS = 'must be a duration such as "250ms", "2s", "1m", "1h", "1d"';
const TOO_LONG = `must be at most ${formatDurationLong(MAX_DURATION_MS)} (${MAX_DURATION_MS} ms)`;

/**
 * A duration field of a config file, in ms, from `min` to MAX_DURATION_MS. A value that is a
 * duration but too long says the maximum, in units and in ms.
 */
export const duration =
  (min = 0): Schema<number> =>
  (raw, path, problems) => {
    const ms = parseDuration(raw);
    if (ms !== undefined && ms >= min && ms <= MAX_DURATION_MS) return ms;
    if (ms !== undefined && ms > MAX_DURATION_MS) return problem(problems, path, raw, TOO_LONG);
    if (ms === undefined && tooLongToCount(raw)) return problem(problems, path, raw, TOO_LONG);
    const least = min > 0 ? `, at least ${min}ms` : '';
    return problem(problems, path, raw, `${FORMS}${least}`);
  };

/** A duration written correctly whose milliseconds are beyond safe integers ("9999999999999h"). */
function tooLongToCount(raw: unknown): boolean {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw > MAX_DURATION_MS;
  return typeof raw === 'string' && DURATION.test(raw.trim());
}

/** The longest age a config may give (100 years): an age is compared, never put on a timer. */
export const MAX_AGE_MS = 36_500 * 86_400_000;

/**
 * An age (how old something may get, e.g. a log segment kept): a duration like the others, but
 * never put on a timer, so not bound by Node's 2^31-1 ms — `30d`, `1y` as `365d`, up to 100 years.
 */
export const age =
  (min = 0): Schema<number> =>
  (raw, path, problems) => {
    const ms = parseDuration(raw);
    if (ms !== undefined && ms >= min && ms <= MAX_AGE_MS) return ms;
    const least = min > 0 ? `, at least ${min}ms` : '';
    return problem(problems, path, raw, `${FORMS}${least}, at most 36500d`);
  };
