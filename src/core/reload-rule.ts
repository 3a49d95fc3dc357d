import type { DecisionRecord, Event } from '../events/types.js';
import type { State } from './state.js';
import { step, type StepResult } from './step.js';

const appliedInPlace = (r: DecisionRecord | Event): boolean =>
  r.type === 'reload-applied' && (r.services.inPlace !== undefined || r.checks.inPlace !== undefined);

/**
 * Logs written before config-loaded recorded its `reloadRule` hold loads of either rule: a
 * procreg from before reloads changed only what changed restarted a service for a new
 * `stopTimeout`, a later one applied it in place. The fold applies such a load by
 * `policy-in-place`; the reload-applied the supervisor decided right after it says whether
 * that is what was done — `inPlace` appears exactly when something was applied in place — and
 * when it was not, the load is folded again from the state before it by `restart-changed`.
 * Replayer and Walker each keep one, so a replay, a start-up and the debugging commands all
 * fold such a log as it happened.
 */
export class LegacyReloadRule {
  private pending: {
    readonly before: State;
    readonly event: Extract<Event, { type: 'config-loaded' }>;
  } | null = null;

  /** After folding an input: remember a load without a recorded rule that applied something in place. */
  folded(before: State, event: Event, records: readonly DecisionRecord[]): void {
    this.pending = null;
    if (event.type === 'config-loaded' && event.reloadRule === undefined && records.some(appliedInPlace))
      this.pending = { before, event };
  }

  /**
   * Before folding or matching the next event: the fold of the load again, by the rule the
   * log shows, when that is not the one it was folded by; else null.
   */
  refold(next: Event): StepResult | null {
    const p = this.pending;
    this.pending = null;
    if (p === null || next.type !== 'reload-applied' || appliedInPlace(next)) return null;
    return step(p.before, { ...p.event, reloadRule: 'restart-changed' });
  }
}
