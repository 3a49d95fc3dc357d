import { type OperatorFunction, scan } from './rx.js';
import type { Event } from '../events/types.js';
import { initialState, type State } from './state.js';
import { type StepResult, step } from './step.js';

/**
 * The fold as an RxJS operator: each stamped event in, the step's result out (the new
 * state, the effects for the shell to execute, the decisions to log). It is `scan` over
 * `step` and as pure: the shell's pipeline is sources → stamp and log → foldRegistry() →
 * execute effects, whose outcomes re-enter the sources as events.
 */
export function foldRegistry(initial: State = initialState()): OperatorFunction<Event, StepResult> {
  return scan((acc: StepResult, event: Event) => step(acc.state, event), {
    state: initial,
    effects: [],
    records: [],
  });
}
