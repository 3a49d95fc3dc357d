import type { ServiceDef } from '../config/types.js';
import { admitRestart, nextBackoffDelay, wasStable } from './backoff.js';
import type { ExitInfo, RestartCause, ServiceStatus, SupervisorPhase } from './state.js';

/**
 * What happens to a service once its current incarnation has ended (it exited, or it never
 * started): one pure decision with every rule in one place, so `why` can name the rule.
 */
export type AfterExit =
  /** A reload removed the service: its status goes. */
  | { readonly kind: 'drop' }
  /** It stays down: stopped by request, by the supervisor stopping, or by its restart policy. */
  | { readonly kind: 'stay-down'; readonly reason: string }
  /** A restart that was waiting for this exit (reload change, operator request, a dependency restarted): at once, not counted. */
  | { readonly kind: 'respawn'; readonly cause: 'reload' | 'requested' | 'dependency' }
  /** A failed check asked for the restart: at once, counted towards maxRestarts. */
  | { readonly kind: 'restart-now'; readonly recentRestarts: readonly number[] }
  /** The exit code is listed in fatalExitCodes. */
  | { readonly kind: 'fail'; readonly code: number; readonly reason: string }
  /** One more restart would exceed maxRestarts within its window. */
  | { readonly kind: 'give-up'; readonly reason: string }
  /** Restart after a backoff delay. */
  | {
      readonly kind: 'backoff';
      readonly delayMs: number;
      /** Consecutive quick failures before this one (the backoff exponent used). */
      readonly quickFailures: number;
      readonly recentRestarts: readonly number[];
    };

export function decideAfterExit(
  svc: ServiceStatus,
  exit: ExitInfo,
  supervisor: SupervisorPhase,
  now: number,
): AfterExit {
  const def = svc.def;
  if (svc.desired === 'removed') return { kind: 'drop' };
  if (supervisor === 'stopping') return { kind: 'stay-down', reason: 'supervisor stopping' };
  if (svc.desired === 'down') return { kind: 'stay-down', reason: svc.reason ?? 'stop requested' };
  const cause = svc.restartAfterExit;
  if (cause === 'reload' || cause === 'requested' || cause === 'dependency')
    return { kind: 'respawn', cause };
  if (cause === 'check-failed') {
    const admitted = admitRestart(def.maxRestarts, svc.recentRestarts, now);
    return admitted ? { kind: 'restart-now', recentRestarts: admitted } : giveUp(def);
  }
  if (exit.code !== null && def.fatalExitCodes.includes(exit.code))
    return { kind: 'fail', code: exit.code, reason: `exit code ${exit.code} is listed in fatalExitCodes` };
  const clean = exit.code === 0 && exit.error === null;
  if (def.restart === 'never' || (def.restart === 'on-failure' && clean))
    return { kind: 'stay-down', reason: `exited (${describeExit(exit)}); restart: ${def.restart}` };
  // Restarting a program that daemonizes itself loops: each copy forks and exits again.
  if (svc.daemonized !== null) return { kind: 'fail', code: exit.code ?? 0, reason: svc.daemonized };
  const admitted = admitRestart(def.maxRestarts, svc.recentRestarts, now);
  if (!admitted) return giveUp(def);
  const uptime = svc.startedAt !== null && exit.pid !== null ? exit.time - svc.startedAt : null;
  const quickFailures = wasStable(def.backoff, uptime) ? 0 : svc.quickFailures;
  return {
    kind: 'backoff',
    delayMs: nextBackoffDelay(def.backoff, quickFailures),
    quickFailures,
    recentRestarts: admitted,
  };
}

function giveUp(def: ServiceDef): AfterExit {
  const { count, withinMs } = def.maxRestarts;
  // The wording is part of the state snapshots in logs hold: kept as logs have it (status words it for people).
  return { kind: 'give-up', reason: `more than ${count} restarts within ${withinMs}ms` };
}

/** Why it ended, in a few words: `code 1`, `signal SIGKILL`, `spawn failed: ENOENT`. */
export function describeExit(e: ExitInfo): string {
  if (e.error !== null) return `spawn failed: ${e.error}`;
  if (e.signal !== null) return `signal ${e.signal}`;
  return `code ${e.code}`;
}

/** Restart causes a restart waits on, mapped once to the words each record uses. */
export const STOP_REASON_FOR = {
  reload: 'reload-changed',
  'check-failed': 'check-failed',
  requested: 'requested',
  dependency: 'dependency-restarted',
} as const satisfies Record<RestartCause, string>;
