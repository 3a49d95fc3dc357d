import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptedByFastPath, decodeEvent, validateParsed } from '../../src/events/codec.js';
import { EVENT_TYPES } from '../../src/events/schema.js';
import { LOG_FORMAT_VERSION } from '../../src/events/types.js';
import { SAMPLE_EVENTS } from '../support/events.js';

// decodeEvent accepts most lines through checks compiled per event type (codec.ts FAST) and
// falls back to the generic walk (validateParsed) for the rest, which also words the errors.
// These hold the compiled checks to the walk: the same lines accepted, the same event, the
// same error for every bad line.

/** Values a field may be set to: the edges of every check (signs, integers, names, null, nesting). */
const fieldValue = fc.oneof(
  fc.constantFrom(0, 1, -1, 1.5, 255, 256, 2 ** 53, -(2 ** 53), 1e300, '', 'web', 'SIGKILL', 'SIGNOPE'),
  fc.constantFrom(null, true, false, 'restart', 'backoff', 'service', 'removed', [], {}, [1], ['a']),
  fc.constantFrom({ kind: 'backoff', name: 'web', gen: 1, incarnation: 2 }, { lines: ['x'] }),
  fc.constantFrom({ file: 'f', offset: 3 }, { kind: 'constructor' }, { added: [] }),
  fc.jsonValue({ maxDepth: 2 }),
);

const KEYS = ['v', 'seq', 'time', 'mono', 'type', 'name', 'gen', 'pid', 'code', 'signal', 'timer'];

/** A key of the event, another known key, or a new one. */
const keyOf = (o: Record<string, unknown>, pick: number, extra: string): string => {
  const keys = [...Object.keys(o), ...KEYS, extra];
  return keys[pick % keys.length] as string;
};

const mutation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.nat(), extra: fc.string(), value: fieldValue }),
  fc.record({ op: fc.constant('delete' as const), key: fc.nat(), extra: fc.string() }),
  fc.record({
    op: fc.constant('nested' as const),
    key: fc.nat(),
    extra: fc.string(),
    inner: fc.constantFrom('kind', 'name', 'gen', 'incarnation', 'run', 'pid', 'serial', 'lines', 'x'),
    value: fieldValue,
  }),
  fc.constant({ op: 'reverse' as const }),
);

/** A valid event of any type, then a few changes that may or may not break it. */
const eventLike = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    seq: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fieldValue),
    time: fc.oneof(fc.nat(), fieldValue),
    mono: fc.oneof(fc.nat(), fieldValue),
    v: fc.oneof(fc.constant(LOG_FORMAT_VERSION), fc.constant(LOG_FORMAT_VERSION), fieldValue),
    mutations: fc.array(mutation, { maxLength: 3 }),
  })
  .map(({ type, seq, time, mono, v, mutations }) => {
    let o: Record<string, unknown> = { v, seq, time, mono, ...structuredClone(SAMPLE_EVENTS[type]) };
    for (const m of mutations) {
      if (m.op === 'reverse') {
        o = Object.fromEntries(Object.entries(o).reverse());
        continue;
      }
      const key = keyOf(o, m.key, m.extra);
      if (m.op === 'set') o[key] = structuredClone(m.value);
      else if (m.op === 'delete') delete o[key];
      else if (typeof o[key] === 'object' && o[key] !== null)
        (o[key] as Record<string, unknown>)[m.inner] = structuredClone(m.value);
    }
    return JSON.stringify(o);
  });

const anyLine = fc.oneof(
  { arbitrary: eventLike, weight: 8 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.string(), weight: 1 },
);

describe('decodeEvent: the compiled checks', () => {
  it('accept exactly the current-format lines the generic walk accepts, as the same event (property)', () => {
    fc.assert(
      fc.property(eventLike, (line) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const walked = validateParsed(JSON.parse(line));
        const fast = acceptedByFastPath(parsed);
        // config-loaded gets defaults filled in: always the walk. v1 lines are upgraded: the walk.
        const walkOnly = parsed.type === 'config-loaded' || parsed.v !== LOG_FORMAT_VERSION;
        expect(fast).toBe(walked.ok && !walkOnly);
        if (fast) expect(parsed).toStrictEqual(walked.ok && walked.event);
      }),
      { numRuns: 1000 },
    );
  });

  it('leave decodeEvent the same answer as the walk for any line, errors word for word (property)', () => {
    fc.assert(
      fc.property(anyLine, (line) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          expect(decodeEvent(line).ok).toBe(false);
          return;
        }
        expect(decodeEvent(line)).toStrictEqual(validateParsed(parsed));
      }),
      { numRuns: 1000 },
    );
  });

  it('accept a sample of every event type but config-loaded, and nothing with a key too many or too few', () => {
    for (const type of EVENT_TYPES) {
      const event = {
        v: LOG_FORMAT_VERSION,
        seq: 1,
        time: 2,
        mono: 3,
        ...structuredClone(SAMPLE_EVENTS[type]),
      };
      expect(acceptedByFastPath(event), type).toBe(type !== 'config-loaded');
      expect(acceptedByFastPath({ ...event, extra: 1 }), type).toBe(false);
      const { mono: _mono, ...withoutMono } = event;
      expect(acceptedByFastPath(withoutMono), type).toBe(false);
    }
  });

  it('still name the file-independent field, value and what is allowed on a bad line', () => {
    const line = JSON.stringify({ v: 2, seq: 5, time: 1, mono: 1, ...SAMPLE_EVENTS.spawned, gen: -1 });
    expect(decodeEvent(line)).toEqual({
      ok: false,
      error: 'spawned field gen: expected a non-negative integer, got -1',
    });
    const timer = { kind: 'backoff', name: 'web', gen: 1, incarnation: 'x' };
    const t = JSON.stringify({ v: 2, seq: 5, time: 1, mono: 1, type: 'timer-fired', timer });
    expect(decodeEvent(t)).toEqual({
      ok: false,
      error:
        'timer-fired field timer: expected a backoff timer key whose incarnation is a non-negative integer, got {"kind":"backoff","name":"web","gen":1,"incarnation":"x"}',
    });
  });
});
