import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  eventLogPath,
  isInside,
  reservedNameAt,
  reservedRunDirNames,
  runDirFile,
} from '../../src/config/run-dir.js';

describe('reservedRunDirNames: the names procreg keeps for itself', () => {
  const names = reservedRunDirNames('events.jsonl');
  const reserved = (name: string) => names.filter((r) => r.matches(name)).map((r) => r.pattern);

  it('lists the event log, its segments, snapshots and torn tails, procreg.pid and procreg.sock', () => {
    expect(names.map((r) => [r.in, r.pattern, r.what])).toEqual([
      ['eventLogDir', 'events.jsonl', 'the event log'],
      ['eventLogDir', 'events.<digits>.jsonl', 'a segment of the event log'],
      ['eventLogDir', 'events.jsonl.snapshot*', 'a snapshot of the event log'],
      ['eventLogDir', 'events.jsonl.torn-*', 'a torn tail cut off the event log'],
      ['eventLogDir', 'events.<digits>.jsonl.torn-*', 'a torn tail cut off a segment of the event log'],
      [
        'eventLogDir',
        'events.jsonl.displaced-*',
        'a file that stood where procreg started a fresh event log',
      ],
      ['eventLogDir', 'events.jsonl.ship-cursor*', "the shipper's cursor (how far the log is shipped)"],
      ['runDir', 'procreg.pid', "procreg's own PID file"],
      ['runDir', 'procreg.sock', "procreg's control socket"],
    ]);
  });

  it('matches each pattern and nothing next to it', () => {
    expect(reserved('events.jsonl')).toEqual(['events.jsonl']);
    expect(reserved('events.0.jsonl')).toEqual(['events.<digits>.jsonl']);
    expect(reserved('events.20261128.jsonl')).toEqual(['events.<digits>.jsonl']);
    expect(reserved('events.jsonl.snapshot')).toEqual(['events.jsonl.snapshot*']);
    expect(reserved('events.jsonl.snapshot.3')).toEqual(['events.jsonl.snapshot*']);
    expect(reserved('events.jsonl.torn-1024')).toEqual(['events.jsonl.torn-*']);
    expect(reserved('events.0000000000000042.jsonl.torn-77')).toEqual(['events.<digits>.jsonl.torn-*']);
    expect(reserved('events.jsonl.displaced-1795000000000')).toEqual(['events.jsonl.displaced-*']);
    expect(reserved('events.jsonl.ship-cursor')).toEqual(['events.jsonl.ship-cursor*']);
    expect(reserved('events.jsonl.ship-cursor.tmp')).toEqual(['events.jsonl.ship-cursor*']);
    expect(reserved('procreg.pid')).toEqual(['procreg.pid']);
    expect(reserved('procreg.sock')).toEqual(['procreg.sock']);
    for (const free of [
      'events.x.jsonl',
      'events..jsonl',
      'events.1.json',
      'events.jsonl.old',
      'web.pid',
      'procreg.out',
      'events.-1.jsonl',
      'events.x.jsonl.torn-1',
    ])
      expect(reserved(free), free).toEqual([]);
  });

  it('derives the patterns from the log name; a name without .jsonl keeps all of it as the stem', () => {
    const custom = reservedRunDirNames('app.jsonl');
    expect(custom.map((r) => r.pattern).slice(0, 4)).toEqual([
      'app.jsonl',
      'app.<digits>.jsonl',
      'app.jsonl.snapshot*',
      'app.jsonl.torn-*',
    ]);
    expect(reservedRunDirNames('log.txt')[1]?.matches('log.txt.7.jsonl')).toBe(true);
  });

  it('a segment is exactly <stem>.<digits>.jsonl (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('1', '9', 'a', '.', '-'), maxLength: 6 }), (middle) => {
        expect(names[1]?.matches(`events.${middle}.jsonl`)).toBe(/^\d+$/.test(middle));
      }),
    );
  });

  it('reservedNameAt looks in the right directory for each name', () => {
    const at = (p: string, log = '/r/events.jsonl') => reservedNameAt(p, '/r', log)?.pattern;
    expect(at('/r/procreg.pid')).toBe('procreg.pid');
    expect(at('/r/sub/procreg.pid')).toBeUndefined();
    expect(at('/r/events.3.jsonl')).toBe('events.<digits>.jsonl');
    expect(at('/r/log/events.3.jsonl')).toBeUndefined();
    expect(at('/r/log/events.3.jsonl', '/r/log/events.jsonl')).toBe('events.<digits>.jsonl');
    expect(at('/r/events.3.jsonl', '/r/log/events.jsonl')).toBeUndefined();
  });
});

describe('runDirFile and eventLogPath', () => {
  it('a file procreg writes is relative to runDir, without "..", and inside it', () => {
    expect(runDirFile('web.pid', '/r')).toEqual({ path: '/r/web.pid' });
    expect(runDirFile('./logs//web.out', '/r')).toEqual({ path: '/r/logs/web.out' });
    expect(runDirFile('/r/web.pid', '/r')).toHaveProperty('error');
    expect(runDirFile('a/../b', '/r')).toHaveProperty('error');
    expect(runDirFile('.', '/r')).toHaveProperty('error');
    expect(runDirFile('x/', '/r')).toHaveProperty('error');
  });

  it('whatever it is given, a file it accepts is strictly inside runDir (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '.', '/', 'b'), maxLength: 10 }), (v) => {
        const res = runDirFile(v, '/srv/run');
        if ('path' in res) expect(isInside(res.path, '/srv/run')).toBe(true);
        const log = eventLogPath(v, '/srv/run', '/srv');
        if ('path' in log) expect(isInside(log.path, '/srv/run')).toBe(true);
      }),
    );
  });

  it('the event log defaults to <runDir>/events.jsonl; given, it is relative to the config directory and inside runDir', () => {
    expect(eventLogPath(undefined, '/c/r', '/c')).toEqual({ path: '/c/r/events.jsonl' });
    expect(eventLogPath('r/x/e.jsonl', '/c/r', '/c')).toEqual({ path: '/c/r/x/e.jsonl' });
    expect(eventLogPath('/c/r/x/e.jsonl', '/c/r', '/c')).toEqual({ path: '/c/r/x/e.jsonl' });
    expect(eventLogPath('e.jsonl', '/c/r', '/c')).toHaveProperty('error'); // /c/e.jsonl: outside runDir
    expect(eventLogPath('/rx/e.jsonl', '/c/r', '/c')).toHaveProperty('error');
    expect(eventLogPath('/c/r/../r/e.jsonl', '/c/r', '/c')).toHaveProperty('error');
  });

  it('isInside is strict and respects path boundaries', () => {
    expect(isInside('/r/a', '/r')).toBe(true);
    expect(isInside('/r', '/r')).toBe(false);
    expect(isInside('/rr/a', '/r')).toBe(false);
    expect(isInside('/a', '/')).toBe(true);
    expect(isInside('/', '/')).toBe(false);
  });
});
