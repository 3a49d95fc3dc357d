/**
 * The few RxJS pieces procreg itself uses, imported one module each. `import … from 'rxjs'`
 * loads the whole library (every operator, ~300 modules), which costs the long-running
 * supervisor about 4 MB of resident heap for code it never runs. These paths are in rxjs's
 * package exports (`./internal/*`) and are the very modules the index re-exports, so the
 * classes are identical: users keep importing from 'rxjs' and interoperate.
 */
export { BehaviorSubject } from 'rxjs/internal/BehaviorSubject';
export { Observable } from 'rxjs/internal/Observable';
export { filter } from 'rxjs/internal/operators/filter';
export { map } from 'rxjs/internal/operators/map';
export { observeOn } from 'rxjs/internal/operators/observeOn';
export { scan } from 'rxjs/internal/operators/scan';
export { tap } from 'rxjs/internal/operators/tap';
export { asyncScheduler } from 'rxjs/internal/scheduler/async';
export { queueScheduler } from 'rxjs/internal/scheduler/queue';
export { Subject } from 'rxjs/internal/Subject';
export type { Subscription } from 'rxjs/internal/Subscription';
export type { OperatorFunction, SchedulerLike } from 'rxjs/internal/types';
