/**
 * The registry as it was at a point of the log: a seq, a time, or `gen:N`. Reads only up to
 * the point; a snapshot on the way is where the fold continues from (core/snapshot.ts), so
 * the events before it cost only their reading.
 */
import type { NormalizedConfig } from '../config/types.js';
import { Replayer, type ReplayOptions, type ReplayResult } from '../core/replay.js';
import { registryView, type RegistryView } from '../core/view.js';
import type { TimeStyle } from './format.js';
import { type Point, PointSeeker } from './point.js';
import { type EventInput, Walker, batchesOf } from './walk.js';
import type { Event as LogEvent } from '../events/types.js';

export interface PointReplay {
  readonly result: ReplayResult;
  /** The registry at the point, as `status --json` and `replay --json` print it. */
  readonly view: RegistryView;
  /** Where it stands: the last event at or before the point. */
  readonly seq: number;
  readonly time: number;
  readonly generation: number;
  /** The config in force there (null before the first was loaded). */
  readonly config: NormalizedConfig | null;
}

export type PointReplayResult =
  { readonly ok: true; readonly replay: PointReplay } | { readonly ok: false; readonly error: string };

export async function replayTo(
  events: EventInput,
  point: Point,
  options: ReplayOptions & TimeStyle = {},
): Promise<PointReplayResult> {
  // The walker knows the generation after each event; with `check` a Replayer re-verifies too.
  const walker = new Walker();
  const replayer = options.check ? new Replayer(options) : null;
  const seeker = new PointSeeker(point);
  let last: { seq: number; time: number } = { seq: 0, time: 0 };
  let first: LogEvent | null = null;
  reading: for await (const batch of batchesOf(events))
    for (const e of batch) {
      if (seeker.passes(e)) break reading;
      walker.push(e);
      replayer?.push(e);
      first ??= e;
      last = e;
      if (seeker.reached(e, walker.state.gen)) break reading;
    }
  const verdict = seeker.verdict(options);
  if (verdict !== null) return { ok: false, error: verdict };
  const result: ReplayResult = replayer?.result() ?? {
    state: walker.state,
    firstSeq: first?.seq ?? 0,
    fromSnapshot: first?.type === 'snapshot',
    lastSeq: last.seq,
    lastTime: last.time,
    events: walker.count,
    problems: [],
  };
  return {
    ok: true,
    replay: {
      result,
      view: registryView(result.state, result.lastSeq),
      seq: result.lastSeq,
      time: result.lastTime,
      generation: result.state.gen,
      config: result.state.config,
    },
  };
}
