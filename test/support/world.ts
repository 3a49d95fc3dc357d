import type { NormalizedConfig } from '../../src/config/types.js';
import type { Event, InputEvent } from '../../src/events/types.js';
import { World } from '../../src/sim/world.js';

/** A world for hand-written scenarios: the test decides which queued input goes next. */
export function scenario(configs: NormalizedConfig[]): World {
  const w = new World({ configs, seed: 7 });
  w.start();
  return w;
}

/** Deliver the first queued input of this type (and matching `where`), leaving the rest queued. */
export function deliverFirst<T extends InputEvent['type']>(
  w: World,
  type: T,
  where: (e: Extract<InputEvent, { type: T }>) => boolean = () => true,
): Extract<InputEvent, { type: T }> {
  const i = w.pending.findIndex((e) => e.type === type && where(e as Extract<InputEvent, { type: T }>));
  if (i < 0) throw new Error(`no queued ${type}; queued: ${w.pending.map((e) => e.type).join(', ')}`);
  const [e] = w.pending.splice(i, 1);
  w.deliver(e as InputEvent);
  return e as Extract<InputEvent, { type: T }>;
}

/** Deliver queued inputs until none of the given types is left (others stay queued). */
export function deliverAll(w: World, ...types: InputEvent['type'][]): void {
  for (let guard = 0; guard < 1000; guard++) {
    const i = w.pending.findIndex((e) => types.includes(e.type));
    if (i < 0) return;
    const [e] = w.pending.splice(i, 1);
    w.deliver(e as InputEvent);
  }
  throw new Error('deliverAll did not settle');
}

export function logged<T extends Event['type']>(w: World, type: T): Extract<Event, { type: T }>[] {
  return w.log.filter((e): e is Extract<Event, { type: T }> => e.type === type);
}

/** Move time to a timer of this kind and queue its firing. */
export function fireTimer(
  w: World,
  kind: string,
  where: (key: Record<string, unknown>) => boolean = () => true,
): void {
  for (const [id, t] of w.timers) {
    if (t.key.kind === kind && where(t.key as unknown as Record<string, unknown>)) {
      w.timers.delete(id);
      w.time = Math.max(w.time, t.at);
      w.pending.push({ type: 'timer-fired', timer: t.key });
      return;
    }
  }
  throw new Error(`no armed ${kind} timer; armed: ${[...w.timers.keys()].join(', ')}`);
}
