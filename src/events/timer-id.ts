import { assertNever } from './assert-never.js';
import type { TimerKey } from './types.js';

/** Canonical string form of a timer key: equal keys, equal strings. */
export function timerId(t: TimerKey): string {
  switch (t.kind) {
    case 'backoff':
      return `backoff/${t.name}/${t.gen}/${t.incarnation}`;
    case 'check-interval':
      return `check-interval/${t.name}/${t.gen}/${t.run}`;
    case 'check-timeout':
      return `check-timeout/${t.name}/${t.gen}/${t.run}/${t.pid}`;
    case 'stop-timeout':
      return `stop-timeout/${t.pid}/${t.name}/${t.gen}/${t.serial}`;
    default:
      return assertNever(t);
  }
}
