import * as rxjs from 'rxjs';
import { describe, expect, it } from 'vitest';
import * as rx from '../../src/shell/rx.js';

describe('the RxJS pieces procreg imports one module each', () => {
  it("are the very classes, operators and schedulers 'rxjs' exports, so users interoperate", () => {
    for (const name of Object.keys(rx) as (keyof typeof rx)[])
      expect(rx[name], name).toBe((rxjs as Record<string, unknown>)[name]);
    expect(Object.keys(rx).sort()).toEqual([
      'BehaviorSubject',
      'Observable',
      'Subject',
      'asyncScheduler',
      'filter',
      'map',
      'observeOn',
      'queueScheduler',
      'scan',
      'tap',
    ]);
    // e.g. what Supervisor.events hands out is an Observable by the user's own rxjs.
    expect(new rx.Subject<number>().asObservable()).toBeInstanceOf(rxjs.Observable);
  });
});
