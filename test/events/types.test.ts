import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA, EVENT_TYPES } from '../../src/events/schema.js';
import { EVENT_KINDS, isDecision } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';
import { act, actionArb } from '../support/actions.js';
import { RELOAD_POOL } from '../support/configs.js';
import { SAMPLE_EVENTS, SAMPLES } from '../support/events.js';

describe('EVENT_KINDS', () => {
  it('classifies exactly the event types the log schema knows', () => {
    expect(Object.keys(EVENT_KINDS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('agrees with the fields of each type: the schema checks what the TypeScript type declares', () => {
    for (const type of EVENT_TYPES) {
      const declared = Object.keys(SAMPLE_EVENTS[type]).filter((k) => k !== 'type');
      expect(Object.keys(EVENT_SCHEMA[type]).sort(), type).toEqual(declared.sort());
    }
  });

  it('isDecision is true exactly for the types classified as decisions', () => {
    for (const e of SAMPLES) expect(isDecision(e), e.type).toBe(EVENT_KINDS[e.type] === 'decision');
    expect(SAMPLES.filter(isDecision).map((e) => e.type)).toContain('event-ignored');
    expect(SAMPLES.filter(isDecision).map((e) => e.type)).not.toContain('spawned');
  });

  it('matches what the fold does: it is stepped on inputs and records only decisions (property)', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.1 });
          w.start();
          for (const x of actions) {
            act(w, x);
            const next = w.pending[0];
            if (!next || !w.deliverNext()) continue;
            expect(EVENT_KINDS[next.type], next.type).toBe('input');
            for (const r of w.lastRecords) expect(EVENT_KINDS[r.type], r.type).toBe('decision');
          }
          const outcomes = new Set(w.log.filter((e) => EVENT_KINDS[e.type] === 'outcome').map((e) => e.type));
          for (const t of outcomes)
            expect(['signal-sent', 'pidfile-written', 'pidfile-removed']).toContain(t);
        },
      ),
      { numRuns: 200 },
    );
  });
});
