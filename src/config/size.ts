import { problem, type Schema } from './schema.js';

/** Binary units, as journald and logrotate count: 1 kB = 1024 B. */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  k: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  g: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
  t: 1024 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;

/** "512B", "256kB", "64MB", "1.5GB", "1TB" (1 kB = 1024 B) or a non-negative integer of bytes; undefined when neither. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE.exec(value.trim());
  const unit = m ? UNIT_BYTES[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** 65536 → "64kB", 1073741824 → "1GB", 1000 → "1000B". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['TB', 1024 ** 4],
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['kB', 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  return `${bytes}B`;
}

/** A size field of a config file, in bytes, from `min` to `max`. */
export const size =
  (min: number, max: number): Schema<number> =>
  (raw, path, problems) => {
    const bytes = parseSize(raw);
    if (bytes !== undefined && bytes >= min && bytes <= max) return bytes;
    const range = `from ${formatSize(min)} to ${formatSize(max)}`;
    if (bytes !== undefined) return problem(problems, path, raw, `must be a size ${range}`);
    return problem(
      problems,
      path,
      raw,
      `must be a size such as "256kB", "64MB", "1GB" (units B, kB, MB, GB, TB; 1 kB = 1024 B) or an integer of bytes, ${range}`,
    );
  };
