import {
  filter,
  firstValueFrom,
  type MonoTypeOperatorFunction,
  type Observable,
  throwError,
  timeout,
} from 'rxjs';
import type { Event } from '../../src/events/types.js';

/** Anything with a live event stream: a Supervisor. */
export interface EventSource {
  readonly events: Observable<Event>;
}

export type EventOf<T extends Event['type']> = Extract<Event, { type: T }>;

/** A predicate that also says what it waits for, for the timeout message. */
export interface EventMatch<E extends Event = Event> {
  (e: Event): e is E;
  readonly label: string;
}

/** Events of one type, narrowed further by `where`. */
export function ofType<T extends Event['type']>(
  type: T,
  where: (e: EventOf<T>) => boolean = () => true,
  label = `a ${type} event`,
): EventMatch<EventOf<T>> {
  const match = (e: Event): e is EventOf<T> => e.type === type && where(e as EventOf<T>);
  return Object.assign(match, { label });
}

/**
 * The first event `source` emits from now on that matches `match`; rejects after `ms` naming
 * what was awaited. It subscribes at the call: call it before the action whose event it waits
 * for, and await it after. A promise never awaited (the test failed first) rejects quietly.
 */
export function nextEvent<E extends Event>(
  source: EventSource,
  match: (e: Event) => e is E,
  ms?: number,
): Promise<E>;
export function nextEvent(source: EventSource, match: (e: Event) => boolean, ms?: number): Promise<Event>;
export function nextEvent(source: EventSource, match: (e: Event) => boolean, ms = 10_000): Promise<Event> {
  return firstMatch(source.events, match, (match as Partial<EventMatch>).label ?? 'a matching event', ms);
}

/**
 * The first value `source$` emits from now on (or replays, for a ReplaySubject) that matches
 * `match`, bounded like nextEvent.
 */
export function firstMatch<T, S extends T>(
  source$: Observable<T>,
  match: (v: T) => v is S,
  what: string,
  ms?: number,
): Promise<S>;
export function firstMatch<T>(
  source$: Observable<T>,
  match: (v: T) => boolean,
  what: string,
  ms?: number,
): Promise<T>;
export function firstMatch<T>(
  source$: Observable<T>,
  match: (v: T) => boolean,
  what: string,
  ms = 10_000,
): Promise<T> {
  const p = firstValueFrom(source$.pipe(filter(match), within<T>(ms, what)));
  p.catch(() => {});
  return p;
}

/** Fail unless the source emits within `ms`, naming what was awaited. */
export function within<T>(ms: number, what: string): MonoTypeOperatorFunction<T> {
  return timeout<T, Observable<never>>({
    first: ms,
    with: () => throwError(() => new Error(`timed out after ${ms}ms waiting for ${what}`)),
  });
}
