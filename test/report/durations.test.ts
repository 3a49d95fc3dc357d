import { describe, expect, it } from 'vitest';
import { formatUptime } from '../../src/report/durations.js';

describe('formatUptime', () => {
  it('reads at a glance from milliseconds to days', () => {
    expect([0, 850, 12_340, 184_000, 7_380_000, 352_800_000, -5].map(formatUptime)).toEqual([
      '0ms',
      '850ms',
      '12.3s',
      '3m04s',
      '2h03m',
      '4d02h',
      '0ms',
    ]);
  });
});
