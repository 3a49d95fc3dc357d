import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { foldRegistry } from '../../src/core/fold-operator.js';
import { stamp } from '../../src/events/codec.js';
import type { Event } from '../../src/events/types.js';
import { makeConfig, svc } from '../support/configs.js';

const config = makeConfig({ services: { web: svc() } });
const events: Record<string, Event> = {
  s: stamp({ type: 'supervisor-started', pid: 1, version: 'x', bootId: null }, 1, 0, 0),
  c: stamp({ type: 'config-loaded', source: 'x', config }, 2, 0, 0),
  p: stamp(
    { type: 'spawned', name: 'web', gen: 1, incarnation: 1, pid: 42, startTime: 7, exe: null },
    3,
    10,
    10,
  ),
  x: stamp(
    { type: 'exited', pid: 42, code: null, signal: 'SIGKILL', groupAlive: false, lastWords: null },
    4,
    20,
    20,
  ),
  u: stamp(
    { type: 'exited', pid: 42, code: null, signal: 'SIGKILL', groupAlive: false, lastWords: null },
    5,
    30,
    30,
  ),
};

describe('foldRegistry', () => {
  it('emits one step result per event, in event time, carrying the state forward', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const source = cold('s-c--p--x--u|', events);
      const effects = source.pipe(
        foldRegistry(),
        map((r) => r.effects.map((e) => e.do).join(',') || '-'),
      );
      expectObservable(effects).toBe('a-b--c--d--e|', {
        a: '-',
        b: 'spawn',
        c: 'write-pidfile',
        d: 'remove-pidfile,arm-timer',
        e: '-', // the duplicate exit changes nothing
      });
      const phases = source.pipe(
        foldRegistry(),
        map((r) => `${r.state.services.get('web')?.phase ?? '-'}:${r.state.procs.size}`),
      );
      expectObservable(phases).toBe('a-b--c--d--e|', {
        a: '-:0',
        b: 'starting:0',
        c: 'running:1',
        d: 'backoff:0',
        e: 'backoff:0',
      });
    });
  });
});
