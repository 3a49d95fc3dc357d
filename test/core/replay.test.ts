import { describe, expect, it } from 'vitest';
import { verifyInvariantsOf } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replay.js';
import { toSnapshot } from '../../src/core/snapshot.js';
import { stamp } from '../../src/events/codec.js';
import { type Event, isDecision } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';
import { RELOAD_POOL } from '../support/configs.js';

function session(): World {
  const w = new World({ configs: RELOAD_POOL, seed: 5 });
  w.start();
  for (let i = 0; i < 60; i++) {
    if (i % 5 === 0) w.exitProcess(i, 'fail');
    if (i % 3 === 0) w.fireNextTimer();
    w.deliverNext();
  }
  w.drain();
  return w;
}

const renumber = (events: Event[]) => events.map((e, i) => ({ ...e, seq: i + 1 }));

describe('replay --check', () => {
  it('accepts a log cut between an input and its decisions (a crash), at the end or before a restart', () => {
    const log = session().log;
    const i = log.findIndex((e, j) => e.type === 'exited' && isDecision(log[j + 1] as Event));
    expect(i).toBeGreaterThan(0);
    const cut = log.slice(0, i + 1); // the exit, none of what it led to
    expect(replay(cut, { check: true }).problems).toEqual([]);
    const restart = stamp(
      { type: 'supervisor-started', pid: 2, version: 'x', bootId: null },
      0,
      (cut.at(-1) as Event).time,
      (cut.at(-1) as Event).time,
    );
    expect(replay(renumber([...cut, restart]), { check: true }).problems).toEqual([]);
  });

  it('reports a decision missing in the middle of a log, and one that differs, by seq', () => {
    const log = session().log;
    const i = log.findIndex((e) => e.type === 'restart-scheduled');
    const missing = replay(renumber([...log.slice(0, i), ...log.slice(i + 1)]), { check: true }).problems;
    expect(missing[0]).toMatchObject({
      kind: 'decision-mismatch',
      message: expect.stringContaining('"type":"restart-scheduled"'),
    });
    const altered = replay(
      log.map((e, j) => (j === i ? { ...e, restarts: 99 } : e)),
      { check: true },
    ).problems;
    expect(altered).toEqual([
      expect.objectContaining({ seq: (log[i] as Event).seq, kind: 'decision-mismatch' }),
    ]);
  });

  it('checks exactly the processes and names it is given', () => {
    const w = new World({ configs: RELOAD_POOL, seed: 5 });
    w.start();
    w.drain();
    const running = [...w.state.services.values()].find((s) => s.phase === 'running');
    if (!running?.pid) throw new Error('no running service');
    // A state the fold cannot produce: a running service whose PID the tree does not hold.
    const forged = { ...w.state, procs: w.state.procs.remove(running.pid).map };
    expect(verifyInvariantsOf(forged, [running.pid], [running.name])).toEqual([
      {
        invariant: 1,
        message: `service ${running.name} names pid ${running.pid}, which the tree does not hold for it`,
      },
    ]);
    expect(verifyInvariantsOf(forged, [], [])).toEqual([]);
  });

  it('continues across a log-gap from the snapshot right after it; a gap without one is reported', () => {
    const log = session().log;
    // Drop a stretch of the log between two steps (what a full disk loses), the decisions cut
    // off mid-step included, and put the gap record and a snapshot of the registry after it.
    const from = log.findIndex((e, j) => j > 20 && e.type === 'exited');
    const to = log.findIndex((e, j) => j > from + 15 && !isDecision(e)); // the next input after the gap
    const state = replay(log.slice(0, to)).state;
    const gap = stamp(
      { type: 'log-gap', fromSeq: from + 1, toSeq: to, reason: 'queue-overflow', previous: null },
      to + 1,
      0,
      0,
    );
    const snapshot = stamp(
      { type: 'snapshot', logId: null, cause: null, state: toSnapshot(state) as never },
      to + 2,
      0,
      0,
    );
    const rest = log.slice(to).map((e) => ({ ...e, seq: e.seq + 2 }));
    const withGap = [...log.slice(0, from), gap, snapshot, ...rest];
    const res = replay(withGap, { check: true });
    expect(res.problems).toEqual([]);
    expect(res.state.services).toEqual(replay(log).state.services);
    // The snapshot is where the fold goes on: one that disagrees with the history is not checked
    // against it (the history is what is missing), but a gap with no snapshot is an error.
    expect(replay([...log.slice(0, from), gap, ...rest], { check: true }).problems[0]).toMatchObject({
      seq: (rest[0] as Event).seq,
      kind: 'log-gap',
      message: `the log-gap at seq ${to + 1} is followed by ${(rest[0] as Event).type}, not by the snapshot to continue from`,
    });
  });
});
