// A segmented log written through the real LogSink — tiny segments, random retention and
// snapshot intervals, restarts that reopen it — replays exactly: the kept segments hold every
// event since the oldest kept snapshot, once each, in order, and fold to the state the
// unsegmented fold of everything reaches; `replay --check` finds nothing wrong.
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventLogPolicy } from '../../../src/config/types.js';
import { replay } from '../../../src/core/replay.js';
import { snapshotState, toSnapshot } from '../../../src/core/snapshot.js';
import type { State } from '../../../src/core/state.js';
import { bodyOf } from '../../../src/events/codec.js';
import type { Event, InputEvent } from '../../../src/events/types.js';
import { LogSink } from '../../../src/shell/event-log/log-sink.js';
import { openEventLog } from '../../../src/shell/event-log/open-log.js';
import { readLogParts } from '../../../src/shell/event-log/reader.js';
import { replayLogFile } from '../../../src/shell/event-log/replay-file.js';
import { allFiles, listLogFiles } from '../../../src/shell/event-log/segments.js';
import { LogWriter } from '../../../src/shell/event-log/writer.js';
import { World } from '../../../src/sim/world.js';
import { act, actionArb, crashSupervisor } from '../../support/actions.js';
import { RELOAD_POOL } from '../../support/configs.js';
import { useTmpDir } from '../../support/tmp.js';

/** Segments of a few hundred bytes to a few kB: a rotation every few events. */
const policyArb: fc.Arbitrary<EventLogPolicy> = fc.record({
  segmentSize: fc.integer({ min: 200, max: 6000 }),
  retain: fc.record({
    segments: fc.integer({ min: 0, max: 8 }),
    maxBytes: fc.oneof(fc.integer({ min: 1000, max: 100_000 }), fc.constant(1024 ** 3)),
    // 0: every closed segment is past it at once; else none ever is.
    maxAgeMs: fc.oneof(
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 4, arbitrary: fc.constant(30 * 86_400_000) },
    ),
  }),
  durability: fc.constant('none' as const),
  snapshotEvery: fc.record({
    events: fc.integer({ min: 1, max: 60 }),
    bytes: fc.integer({ min: 300, max: 30_000 }),
  }),
});

/** The registry without its seq: the live fold counts only inputs and outcomes, a reader every record. */
const registry = (s: State) => ({ ...toSnapshot(s), seq: 0 });

/**
 * The simulator's world, logging through a real LogSink as the supervisor does: a checkpoint
 * before every input (the sink may rotate, snapshot, apply retention there), then the input
 * and its records stamped by the sink. The world's seq follows the sink's.
 */
class LoggedWorld extends World {
  sink: LogSink | null = null;
  override deliver(body: InputEvent): void {
    const sink = this.sink as LogSink;
    sink.checkpoint(Date.now(), this.time);
    this.seq = sink.lastSeq;
    super.deliver(body);
  }
}

describe('a segmented log under random event sequences, tiny segments and random retention', () => {
  const tmp = useTmpDir();

  it('the kept segments replay to the unsegmented fold from the oldest kept snapshot on, with --check clean', async () => {
    let runs = 0;
    let rotatedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 1000 }),
        policyArb,
        async (actions, seed, policy) => {
          const live = join(tmp(), 'events.jsonl');
          /** Every line the log was ever given, by seq: what an unsegmented log would hold. */
          const all = new Map<number, Event>();
          const record = (e: Event) => {
            expect(all.has(e.seq), `seq ${e.seq} written twice`).toBe(false);
            all.set(e.seq, e);
          };
          const errors: string[] = [];
          const w = new LoggedWorld({
            configs: RELOAD_POOL,
            seed,
            spawnFailure: 0.05,
            onEvent: (e) => {
              const logged = (w.sink as LogSink).append(bodyOf(e), e.time, e.mono);
              expect(logged).toEqual(e); // the sink stamps the seq the world expects
              record(logged);
            },
          });
          let rotations = 0;

          const open = async (): Promise<void> => {
            const opened = await openEventLog(live, {
              durability: 'none',
              clock: () => w.time,
              mono: () => w.time,
            });
            // What a restart rebuilds is the registry as it stood.
            expect(registry(opened.result.state)).toEqual(registry(w.state));
            for (const e of opened.wrote) record(e);
            w.sink = new LogSink({
              writer: opened.writer,
              reopen: (afterSeq, fresh) =>
                LogWriter.open(live, { durability: 'none', fresh, continuesAfter: afterSeq }),
              logId: opened.logId,
              policy,
              live: opened.live,
              foldedSeq: opened.result.state.seq,
              runDir: null,
              snapshot: (seq) => snapshotState(w.state, seq),
              logger: {
                error: (_f, msg) => errors.push(msg),
                warn: (_f, msg) => errors.push(msg),
              },
              clock: Date.now,
              onLogged: record,
              onRunDirRecreated: () => {},
            });
            w.seq = w.sink.lastSeq;
            w.sink.applyRetention(w.time, w.time);
          };

          await open();
          w.start();
          for (const x of actions) {
            if (x.a !== 'crash') {
              act(w, x);
              continue;
            }
            // procreg stops and starts again: the log is closed and opened anew.
            crashSupervisor(w);
            rotations += (w.sink as LogSink).rotated;
            (w.sink as LogSink).close(Date.now(), w.time);
            await open();
            w.start();
          }
          w.drain();
          const sink = w.sink as LogSink;
          sink.checkpoint(Date.now(), w.time); // the last rotation, snapshot or retention due
          rotations += sink.rotated;
          sink.close(Date.now(), w.time);
          expect(errors).toEqual([]);

          const files = allFiles(listLogFiles(live));
          const read = await replayLogFile(
            files.map((f) => f.path),
            { check: true },
          );
          expect(read.problems).toEqual([]);
          expect(read.result.problems).toEqual([]);

          // Every seq from the first kept one on, once, in order, as it was written.
          const seqs = [...all.keys()];
          expect(seqs).toEqual(seqs.map((_, i) => i + 1));
          const first = read.result.firstSeq;
          const kept = [...all.values()].filter((e) => e.seq >= first);
          const replayed: Event[] = [];
          for await (const e of eventsOf(files.map((f) => f.path))) replayed.push(e);
          expect(replayed).toEqual(kept);
          // The oldest kept segment starts the log or with a snapshot; the newest snapshot is kept.
          expect(first === 1 || kept[0]?.type === 'snapshot').toBe(true);
          const snapshots = [...all.values()].filter((e) => e.type === 'snapshot');
          expect(first).toBeLessThanOrEqual((snapshots.at(-1) as Event).seq);

          // The same state as folding every event ever written, and as the world's own.
          const unsegmented = replay(all.values(), { check: true });
          expect(unsegmented.problems).toEqual([]);
          expect(toSnapshot(read.result.state)).toEqual(toSnapshot(unsegmented.state));
          expect(registry(read.result.state)).toEqual(registry(w.state));
          // Retention never keeps more closed segments than it allows.
          const closed = files.length - 1;
          expect(closed).toBeLessThanOrEqual(Math.max(policy.retain.segments, 0));
          runs++;
          if (rotations > 0) rotatedRuns++;
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 40) },
    );
    // The property is about segments: most runs rotate (segmentSize is a few lines).
    expect(rotatedRuns).toBeGreaterThan(runs / 2);
  });
});

async function* eventsOf(paths: readonly string[]): AsyncGenerator<Event> {
  for await (const b of readLogParts(paths.map((path) => ({ path })))) yield* b.events;
}
