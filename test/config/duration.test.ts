import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  duration,
  formatDuration,
  formatDurationLong,
  MAX_DURATION_MS,
  parseDuration,
} from '../../src/config/duration.js';
import { type ConfigProblem, INVALID } from '../../src/config/schema.js';

describe('parseDuration and formatDuration', () => {
  it('parses durations', () => {
    expect(['250ms', '2s', '1.5m', '1h', '1d', '0.5d', 0, 42].map(parseDuration)).toEqual([
      250, 2000, 90_000, 3_600_000, 86_400_000, 43_200_000, 0, 42,
    ]);
    expect(['', '2', '-1s', '1w', '1D', -5, 1.5, null].map(parseDuration)).toEqual(Array(8).fill(undefined));
    expect([250, 2000, 60_000, 3_600_000, 0].map(formatDuration)).toEqual(['250ms', '2s', '1m', '1h', '0ms']);
  });

  it('reads fractions of a unit to the nearest millisecond, and tolerates surrounding blanks', () => {
    expect(['1.5ms', '0.25s', ' 2s ', '0.5h'].map(parseDuration)).toEqual([2, 250, 2000, 1_800_000]);
    expect(['2 s', '2S', '.5s', '1e3ms', 'Infinity'].map(parseDuration)).toEqual(Array(5).fill(undefined));
  });

  it('refuses a duration too long to count in safe integer milliseconds', () => {
    expect(parseDuration(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDuration(Number.MAX_SAFE_INTEGER + 1)).toBeUndefined();
    expect(parseDuration('9999999999999h')).toBeUndefined();
  });

  it('formatDuration writes what parseDuration reads back (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat(),
          fc.nat().map((n) => n * 1000),
          fc.nat().map((n) => n * 60_000),
        ),
        (ms) => {
          expect(parseDuration(formatDuration(ms))).toBe(ms);
        },
      ),
    );
  });
});

describe('duration(): a duration field of a config file', () => {
  const run = (min: number | undefined, raw: unknown) => {
    const problems: ConfigProblem[] = [];
    const value = (min === undefined ? duration() : duration(min))(raw, 'services.web.stopTimeout', problems);
    return { value, problems };
  };

  it('is the duration in milliseconds', () => {
    expect(run(undefined, '5s')).toEqual({ value: 5000, problems: [] });
    expect(run(undefined, 0)).toEqual({ value: 0, problems: [] });
    expect(run(1, '1ms')).toEqual({ value: 1, problems: [] });
  });

  it('names the field, the value and the forms allowed', () => {
    expect(run(undefined, '5 minutes')).toEqual({
      value: INVALID,
      problems: [
        {
          path: 'services.web.stopTimeout',
          value: '5 minutes',
          message: 'must be a duration such as "250ms", "2s", "1m", "1h", "1d"',
        },
      ],
    });
    expect(run(undefined, -1).problems[0]?.value).toBe(-1);
  });

  it('with a minimum, says it and refuses less', () => {
    expect(run(1, '0ms')).toEqual({
      value: INVALID,
      problems: [
        {
          path: 'services.web.stopTimeout',
          value: '0ms',
          message: 'must be a duration such as "250ms", "2s", "1m", "1h", "1d", at least 1ms',
        },
      ],
    });
    expect(run(1000, '0.9s').value).toBe(INVALID);
    expect(run(1000, '1s').value).toBe(1000);
  });
});

describe('durations longer than a Node timer can hold', () => {
  const run = (raw: unknown) => {
    const problems: ConfigProblem[] = [];
    return { value: duration()(raw, 'services.web.stopTimeout', problems), problems };
  };
  const TOO_LONG = 'must be at most 24d20h31m23.647s (2147483647 ms)';

  it('accepts exactly 2^31-1 ms, however it is written', () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    expect(run(2_147_483_647)).toEqual({ value: 2_147_483_647, problems: [] });
    expect(run('2147483647ms')).toEqual({ value: 2_147_483_647, problems: [] });
    expect(run('2147483.647s')).toEqual({ value: 2_147_483_647, problems: [] });
    expect(run('24d').value).toBe(24 * 86_400_000);
  });

  it('refuses one millisecond more, and days a timer would fire at once, naming the maximum', () => {
    for (const raw of [
      2_147_483_648,
      '2147483648ms',
      '2147483.648s',
      '30d',
      '25d',
      '9999999999999h',
      2 ** 60,
    ]) {
      expect(run(raw)).toEqual({
        value: INVALID,
        problems: [{ path: 'services.web.stopTimeout', value: raw, message: TOO_LONG }],
      });
    }
  });

  it('formatDurationLong spells every unit, largest first', () => {
    expect(
      [0, 7, 1000, 1500, 60_000, 86_400_000, 90_061_001, MAX_DURATION_MS].map(formatDurationLong),
    ).toEqual(['0ms', '7ms', '1s', '1.5s', '1m', '1d', '1d1h1m1.001s', '24d20h31m23.647s']);
  });
});
