/* eslint-disable @typescript-eslint/switch-exhaustiveness-check -- each switch misses a case on purpose */
// Compile-time proof that a missing case is a type error: each switch below leaves out one
// variant, and the `@ts-expect-error` on its assertNever says the compiler must object.
// `npm run typecheck` covers this file; should the missing case ever stop being an error
// (an effect, event or timer kind made optional, a default that swallows), the directive
// is unused and the typecheck fails.
import type { Effect } from '../../src/core/effects.js';
import { assertNever } from '../../src/events/assert-never.js';
import type { EventBody, TimerKey } from '../../src/events/types.js';

export function effectWithoutExit(e: Effect): string {
  switch (e.do) {
    case 'spawn':
    case 'run-check':
    case 'signal-group':
    case 'write-pidfile':
    case 'remove-pidfile':
    case 'arm-timer':
    case 'cancel-timer':
    case 'load-config':
    case 'reap-orphan':
      return e.do;
    default:
      // @ts-expect-error -- 'exit' is not handled
      return assertNever(e);
  }
}

export function timerWithoutStop(t: TimerKey): string {
  switch (t.kind) {
    case 'backoff':
    case 'check-interval':
    case 'check-timeout':
      return t.kind;
    default:
      // @ts-expect-error -- 'stop-timeout' is not handled
      return assertNever(t);
  }
}

export function eventWithoutExited(e: EventBody): string {
  switch (e.type) {
    case 'supervisor-started':
    case 'supervisor-stopping':
    case 'supervisor-stopped':
    case 'config-loaded':
    case 'reload-requested':
    case 'reload-failed':
    case 'spawned':
    case 'spawn-failed':
    case 'check-started':
    case 'check-start-failed':
    case 'timer-fired':
    case 'stop-requested':
    case 'start-requested':
    case 'orphan-reaped':
    case 'signal-sent':
    case 'pidfile-written':
    case 'pidfile-removed':
    case 'spawn-requested':
    case 'restart-scheduled':
    case 'service-given-up':
    case 'service-failed':
    case 'stop-begun':
    case 'check-run-requested':
    case 'check-skipped':
    case 'check-timed-out':
    case 'check-finished':
    case 'check-health-changed':
    case 'reload-applied':
    case 'reload-coalesced':
    case 'orphan-found':
    case 'event-ignored':
      return e.type;
    default:
      // @ts-expect-error -- 'exited' is not handled
      return assertNever(e);
  }
}
