import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem, normalizeConfig } from '../../src/config/normalize.js';
import { formatSize, parseSize } from '../../src/config/size.js';
import { EVENT_LOG_POLICY_DEFAULT } from '../../src/config/types.js';

const norm = (raw: unknown) => normalizeConfig(raw, { baseDir: '/etc/app' });
const problems = (raw: unknown) => {
  const res = norm(raw);
  return res.ok ? [] : res.problems.map((p) => formatProblem(p));
};

describe('eventLog: the path, or the long form with segments, retention, durability and snapshots', () => {
  it('the string form keeps working, with every policy at its default', () => {
    const res = norm({ runDir: './run', eventLog: './run/log/events.jsonl' });
    expect(res.ok && res.config.eventLog).toBe('/etc/app/run/log/events.jsonl');
    expect(res.ok && res.config.eventLogPolicy).toEqual(EVENT_LOG_POLICY_DEFAULT);
    expect(EVENT_LOG_POLICY_DEFAULT).toEqual({
      segmentSize: 64 * 1024 * 1024,
      retain: { segments: 16, maxBytes: 1024 ** 3, maxAgeMs: 30 * 86_400_000 },
      durability: 'batch',
      snapshotEvery: { events: 50_000, bytes: 16 * 1024 * 1024 },
    });
  });

  it('the long form: sizes in B, kB, MB, GB (1 kB = 1024 B), an age beyond the timers’ 24.8 days, partial maps defaulted', () => {
    const res = norm({
      runDir: './run',
      eventLog: {
        path: './run/events.jsonl',
        segmentSize: '256kB',
        retain: { segments: 3, maxBytes: '1.5MB', maxAge: '90d' },
        durability: 'every',
        snapshotEvery: { events: 500 },
      },
    });
    expect(res.ok && res.config.eventLog).toBe('/etc/app/run/events.jsonl');
    expect(res.ok && res.config.eventLogPolicy).toEqual({
      segmentSize: 262_144,
      retain: { segments: 3, maxBytes: 1_572_864, maxAgeMs: 90 * 86_400_000 },
      durability: 'every',
      snapshotEvery: { events: 500, bytes: 16 * 1024 * 1024 },
    });
    const noPath = norm({ runDir: './run', eventLog: { segmentSize: 65536 } });
    expect(noPath.ok && noPath.config.eventLog).toBe('/etc/app/run/events.jsonl');
  });

  it('names the field and what is allowed for every bad value', () => {
    expect(problems({ eventLog: 42 })).toEqual([
      'eventLog: must be a path inside runDir, or { path, segmentSize, retain: { segments, maxBytes, maxAge }, durability, snapshotEvery: { events, bytes } }, got 42 (number)',
    ]);
    expect(problems({ eventLog: { segmentSize: '1kB' } })).toEqual([
      'eventLog.segmentSize: must be a size from 4kB to 1TB, got "1kB" (string)',
    ]);
    expect(problems({ eventLog: { segmentSize: '64 parsecs' } })[0]).toMatch(
      /^eventLog\.segmentSize: must be a size such as "256kB", "64MB", "1GB" \(units B, kB, MB, GB, TB; 1 kB = 1024 B\)/,
    );
    expect(problems({ eventLog: { retain: { maxAge: '1y' } } })[0]).toMatch(
      /^eventLog\.retain\.maxAge: must be a duration/,
    );
    expect(problems({ eventLog: { durability: 'sometimes' } })).toEqual([
      'eventLog.durability: must be one of every | batch | none, got "sometimes" (string)',
    ]);
    expect(problems({ eventLog: { retain: { segments: -1, keep: 2 } } })).toEqual(
      [
        expect.stringMatching(/^eventLog\.retain\.keep: /),
        expect.stringMatching(/^eventLog\.retain\.segments: must be an integer from 0 to 1000000/),
      ].sort(),
    );
    expect(problems({ runDir: '/srv/run', eventLog: { path: '/var/log/x.jsonl' } })).toEqual([
      'eventLog.path: must be a file inside runDir (/srv/run), got "/var/log/x.jsonl" (string)',
    ]);
  });

  it('parseSize and formatSize agree (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), (n) => {
        expect(parseSize(formatSize(n))).toBe(n);
      }),
    );
    expect(parseSize('64MB')).toBe(64 * 1024 * 1024);
    expect(parseSize('2 GiB')).toBe(2 * 1024 ** 3);
    for (const bad of ['', 'MB', '-1MB', '1XB', '1e3B', 1.5, -1, null, '9'.repeat(30) + 'TB'])
      expect(parseSize(bad), String(bad)).toBeUndefined();
  });
});
