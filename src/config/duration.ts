import { problem, type Schema } from './schema.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** "250ms", "2s", "1.5m", "1h" or a non-negative integer of ms; undefined when it is neither. */
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

/** A duration field of a config file, in ms, at least `min`. */
export const duration =
  (min = 0): Schema<number> =>
  (raw, path, problems) => {
    const ms = parseDuration(raw);
    if (ms !== undefined && ms >= min) return ms;
    const least = min > 0 ? `, at least ${min}ms` : '';
    return problem(problems, path, raw, `must be a duration such as "250ms", "2s", "1m", "1h"${least}`);
  };
