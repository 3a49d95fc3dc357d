import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/core/replay.js';
import { toSnapshot } from '../../src/core/snapshot.js';
import { Walker } from '../../src/debug/walk.js';
import { decodeEvent } from '../../src/events/codec.js';
import type { Event, ReloadRule } from '../../src/events/types.js';

/**
 * Two real logs of one scenario — web (sleep) and a check on it, then a reload changing only
 * web's stopTimeout and the check's interval — neither recording its reload rule:
 * - written by procreg before reloads changed only what changed (dc31aa7^): web restarted;
 * - written by procreg since, before the rule was recorded: applied in place.
 */
const FIXTURES = {
  restarted: 'test/fixtures/reload-restart-unrecorded.events.jsonl',
  inPlace: 'test/fixtures/reload-in-place-unrecorded.events.jsonl',
} as const;

function events(path: string): Event[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const r = decodeEvent(line);
      if (!r.ok) throw new Error(`${path}: ${r.error}`);
      return r.event;
    });
}

const withRule = (log: Event[], rule: ReloadRule) =>
  log.map((e) => (e.type === 'config-loaded' ? { ...e, reloadRule: rule } : e));

const spawnsOfWeb = (log: Event[]) => log.filter((e) => e.type === 'spawned' && e.name === 'web').length;

describe('a reload replays by the rule its log was written under', () => {
  it('the fixtures are what they say: no rule recorded, one restarted web for the reload, one did not', () => {
    const restarted = events(FIXTURES.restarted);
    const inPlace = events(FIXTURES.inPlace);
    for (const log of [restarted, inPlace])
      for (const e of log) if (e.type === 'config-loaded') expect(e.reloadRule).toBeUndefined();
    expect(spawnsOfWeb(restarted)).toBe(2);
    expect(spawnsOfWeb(inPlace)).toBe(1);
  });

  it.each(Object.entries(FIXTURES))(
    '%s: replay --check re-derives every decision, by the rule the log shows',
    (kind, path) => {
      const res = replay(events(path), { check: true });
      expect(res.problems).toEqual([]);
      // The supervisor stopped cleanly; the reload's generation carried the new stopTimeout either way.
      expect(res.state.phase).toBe('stopped');
      expect(res.state.config?.services.web?.stopTimeoutMs).toBe(7000);
      expect(res.state.services.get('web')?.incarnation).toBe(kind === 'restarted' ? 2 : 1);
    },
  );

  it('a recorded rule is the one applied: each fixture with the other rule written in fails the check', () => {
    const asIfInPlace = replay(withRule(events(FIXTURES.restarted), 'policy-in-place'), { check: true });
    expect(asIfInPlace.problems[0]).toMatchObject({
      kind: 'decision-mismatch',
      message: expect.stringContaining('"inPlace":["web"]'),
    });
    const asIfRestarted = replay(withRule(events(FIXTURES.inPlace), 'restart-changed'), { check: true });
    expect(asIfRestarted.problems[0]).toMatchObject({ kind: 'decision-mismatch' });
    // ...and with its own rule written in, each is clean.
    expect(replay(withRule(events(FIXTURES.restarted), 'restart-changed'), { check: true }).problems).toEqual(
      [],
    );
    expect(replay(withRule(events(FIXTURES.inPlace), 'policy-in-place'), { check: true }).problems).toEqual(
      [],
    );
  });

  it.each(Object.entries(FIXTURES))(
    '%s: the debugging walker ends on the state replay derives',
    (_kind, path) => {
      const log = events(path);
      const walker = new Walker();
      for (const e of log) walker.push(e);
      expect(toSnapshot(walker.state)).toEqual(toSnapshot(replay(log).state));
    },
  );
});
