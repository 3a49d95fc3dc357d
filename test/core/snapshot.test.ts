import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/core/replay.js';
import { fromSnapshot, type Snapshot, toSnapshot } from '../../src/core/snapshot.js';
import { initialState } from '../../src/core/state.js';
import { step } from '../../src/core/step.js';
import { stamp } from '../../src/events/codec.js';
import { type Event, isDecision } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';
import { act, actionArb } from '../support/actions.js';
import { RELOAD_POOL } from '../support/configs.js';
import { plain } from '../support/plain.js';

/** A world driven by random actions, crashes and lingering process groups included. */
function drive(
  actions: fc.RunDetails<never> extends never ? never : Parameters<typeof act>[1][],
  seed: number,
) {
  const w = new World({ configs: RELOAD_POOL, seed, spawnFailure: 0.05, lingering: 0.15 });
  w.start();
  for (const x of actions) act(w, x);
  return w;
}

/** Through JSON, as a snapshot travels in a log line. */
const roundTrip = (s: Snapshot): unknown => JSON.parse(JSON.stringify(s));

describe('snapshots of the registry', () => {
  it('read back to the very state they were taken from, at any point of any history (property)', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 120 }),
        fc.integer({ min: 1, max: 1000 }),
        (actions, seed) => {
          const w = drive(actions, seed);
          const read = fromSnapshot(roundTrip(toSnapshot(w.state)));
          if (!read.ok) throw new Error(JSON.stringify(read.problems));
          expect(plain(read.state)).toEqual(plain(w.state));
          // And taking it again gives the same text: snapshots compare as text.
          expect(JSON.stringify(toSnapshot(read.state))).toBe(JSON.stringify(toSnapshot(w.state)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('let a reader start mid-log: the fold from a snapshot on reaches the state of the whole fold (property)', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { minLength: 1, maxLength: 150 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (actions, seed, where) => {
          const w = drive(actions, seed);
          w.drain();
          const log = w.log;
          // Cut between two steps: a snapshot is taken after an input and all its decisions.
          const boundaries = log
            .map((e, i) => [e, i] as const)
            .filter(([e]) => !isDecision(e))
            .map(([, i]) => i);
          const cut = boundaries[Math.floor(where * boundaries.length)] ?? log.length;
          const before = replay(log.slice(0, cut));
          const snap: Event = stamp(
            {
              type: 'snapshot',
              logId: null,
              cause: null,
              state: roundTrip(toSnapshot(before.state)) as never,
            },
            cut + 1,
            0,
            0,
          );
          // The events after it move up by one seq (and so do the seqs that ignored-records cite).
          const rest = log
            .slice(cut)
            .map((e) =>
              e.type === 'event-ignored' || e.type === 'request-answered'
                ? { ...e, seq: e.seq + 1, ref: e.ref + 1 }
                : { ...e, seq: e.seq + 1 },
            );
          const fromSnap = replay([snap, ...rest]);
          expect(plain({ ...fromSnap.state, seq: 0 })).toEqual(plain({ ...w.state, seq: 0 }));
          // With --check over the whole log, the snapshot in the middle is verified and matches.
          const whole = replay([...log.slice(0, cut), snap, ...rest], { check: true });
          expect(whole.problems).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('leave out the definitions the config in force holds, and keep those of draining old generations', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 5 });
    w.start();
    w.drain();
    const s = toSnapshot(w.state);
    expect(Object.values(s.services).every((svc) => svc.def === null)).toBe(true);
    expect(
      s.procs
        .filter(([, e]) => e.kind === 'service')
        .every(([, e]) => e.kind === 'service' && e.def === 'same'),
    ).toBe(true);
    // A reload to a config where web's definition changed: while the old web drains, its entry keeps the old one.
    w.pending.push({ type: 'reload-requested', source: 'test' });
    w.deliverNext();
    w.deliverNext(); // config-loaded of RELOAD_POOL[1]: web unchanged, db removed (draining)
    const draining = toSnapshot(w.state);
    const db = draining.services.db;
    expect(db?.desired).toBe('removed');
    expect(db?.def).toMatchObject({ restart: 'on-failure' }); // the removed service's own definition
  });

  it('are refused when damaged, naming the field, and the fold keeps its state', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 5 });
    w.start();
    w.drain();
    const good = roundTrip(toSnapshot(w.state)) as Record<string, unknown>;
    const bad = { ...good, phase: 'dancing' };
    const read = fromSnapshot(bad);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problems[0]).toMatchObject({ path: 'phase', value: 'dancing' });
    const res = step(w.state, stamp({ type: 'snapshot', logId: null, cause: null, state: bad }, 999, 0, 0));
    expect(res.state.services).toBe(w.state.services);
    expect(res.records).toEqual([
      {
        type: 'event-ignored',
        ref: 999,
        reason:
          'snapshot unreadable: phase: must be one of idle | starting | running | stopping | stopped, got "dancing" (string); the registry stays as it was',
      },
    ]);
  });

  it('that disagree with the history before them are reported by replay --check, with the seq', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 9 });
    w.start();
    w.drain();
    const s = roundTrip(toSnapshot(w.state)) as Snapshot;
    const lie = { ...s, gen: s.gen + 1 };
    const seq = w.log.length + 1;
    const r = replay(
      [...w.log, stamp({ type: 'snapshot', logId: null, cause: null, state: lie as never }, seq, 0, 0)],
      {
        check: true,
      },
    );
    expect(r.problems).toEqual([
      expect.objectContaining({
        seq,
        kind: 'snapshot-mismatch',
        message: expect.stringMatching(/^the snapshot differs/),
      }),
    ]);
  });

  it('written before exits recorded their uptime (no uptimeMs) still match, and read back with it null', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 9 });
    w.start();
    w.drain();
    w.exitProcess(0, 'fail');
    w.drain();
    const s = roundTrip(toSnapshot(w.state)) as { services: Record<string, { lastExit: object | null }> };
    const exited = Object.values(s.services).filter((v) => v.lastExit !== null);
    expect(exited.length).toBeGreaterThan(0);
    for (const v of exited) delete (v.lastExit as { uptimeMs?: unknown }).uptimeMs;
    const seq = w.log.length + 1;
    const old = stamp({ type: 'snapshot', logId: null, cause: null, state: s as never }, seq, 0, 0);
    expect(replay([...w.log, old], { check: true }).problems).toEqual([]);
    const read = fromSnapshot(s);
    expect(read.ok && [...read.state.services.values()].find((v) => v.lastExit)?.lastExit?.uptimeMs).toBe(
      null,
    );
    // A snapshot that says another uptime is still a mismatch.
    for (const v of exited) (v.lastExit as { uptimeMs?: unknown }).uptimeMs = 123_456;
    const wrong = stamp({ type: 'snapshot', logId: null, cause: null, state: s as never }, seq, 0, 0);
    expect(replay([...w.log, wrong], { check: true }).problems).toEqual([
      expect.objectContaining({ seq, kind: 'snapshot-mismatch' }),
    ]);
  });

  it('written before a config field with a default existed (host, ship) still match; a changed value does not', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 9 });
    w.start();
    w.drain();
    const s = roundTrip(toSnapshot(w.state)) as { config: Record<string, unknown> | null };
    expect(s.config).toMatchObject({ host: null, ship: null });
    delete s.config?.host;
    delete s.config?.ship;
    const seq = w.log.length + 1;
    const old = stamp({ type: 'snapshot', logId: null, cause: null, state: s as never }, seq, 0, 0);
    expect(replay([...w.log, old], { check: true }).problems).toEqual([]);
    if (s.config) s.config.host = 'elsewhere';
    const wrong = stamp({ type: 'snapshot', logId: null, cause: null, state: s as never }, seq, 0, 0);
    expect(replay([...w.log, wrong], { check: true }).problems).toEqual([
      expect.objectContaining({ seq, kind: 'snapshot-mismatch' }),
    ]);
  });

  it('of the initial state read back to it', () => {
    const read = fromSnapshot(roundTrip(toSnapshot(initialState())));
    expect(read.ok && plain(read.state)).toEqual(plain(initialState()));
  });
});
