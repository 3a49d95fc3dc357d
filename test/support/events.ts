import type { EventBody, EventType } from '../../src/events/types.js';
import { makeConfig, svc } from './configs.js';

/**
 * One well-formed body of every event type. The mapped type makes the table complete: a new
 * event type does not compile until it has a sample here.
 */
export const SAMPLE_EVENTS: { readonly [T in EventType]: Extract<EventBody, { type: T }> } = {
  'supervisor-started': { type: 'supervisor-started', pid: 1, version: 'test', bootId: null },
  'supervisor-stopping': { type: 'supervisor-stopping', reason: 'SIGTERM' },
  'supervisor-stopped': { type: 'supervisor-stopped' },
  'config-loaded': {
    type: 'config-loaded',
    source: 'test',
    config: makeConfig({ services: { web: svc() } }),
  },
  'reload-requested': { type: 'reload-requested', source: 'SIGHUP', services: ['web'] },
  'reload-failed': { type: 'reload-failed', reason: 'app.yaml: services: must be a mapping' },
  spawned: { type: 'spawned', name: 'web', gen: 1, incarnation: 1, pid: 4242, startTime: 77, exe: null },
  'spawn-failed': { type: 'spawn-failed', name: 'web', gen: 1, incarnation: 1, error: 'ENOENT' },
  'check-started': {
    type: 'check-started',
    name: 'alive',
    gen: 1,
    run: 1,
    pid: 4343,
    startTime: 78,
    exe: null,
  },
  'check-start-failed': { type: 'check-start-failed', name: 'alive', gen: 1, run: 1, error: 'EACCES' },
  exited: { type: 'exited', pid: 4242, code: 1, signal: null, groupAlive: false, lastWords: null },
  'group-exited': { type: 'group-exited', pid: 4242 },
  'timer-fired': { type: 'timer-fired', timer: { kind: 'backoff', name: 'web', gen: 1, incarnation: 2 } },
  'stop-requested': { type: 'stop-requested', target: 'service', name: 'web', source: 'test' },
  'start-requested': { type: 'start-requested', target: 'service', name: 'web', source: 'test' },
  'orphan-reaped': { type: 'orphan-reaped', pid: 4242, outcome: 'killed', detail: null },
  'signal-sent': { type: 'signal-sent', pid: 4242, signal: 'SIGTERM', error: null },
  'pidfile-written': { type: 'pidfile-written', path: '/run/procreg/web.pid', pid: 4242, error: null },
  'pidfile-removed': {
    type: 'pidfile-removed',
    path: '/run/procreg/web.pid',
    pid: 4242,
    outcome: 'removed',
    error: null,
  },
  'spawn-requested': { type: 'spawn-requested', name: 'web', gen: 1, incarnation: 2, reason: 'restart' },
  'restart-scheduled': { type: 'restart-scheduled', name: 'web', incarnation: 2, delayMs: 400, restarts: 3 },
  'service-given-up': { type: 'service-given-up', name: 'web', restarts: 10, withinMs: 60_000 },
  'service-failed': {
    type: 'service-failed',
    name: 'web',
    code: 3,
    reason: 'exit code 3 is listed in fatalExitCodes',
  },
  'stop-begun': { type: 'stop-begun', pid: 4242, name: 'web', signal: 'SIGTERM', reason: 'requested' },
  'check-run-requested': { type: 'check-run-requested', name: 'alive', gen: 1, run: 2 },
  'check-skipped': { type: 'check-skipped', name: 'alive', run: 2, reason: 'run 1 is still in flight' },
  'check-timed-out': { type: 'check-timed-out', name: 'alive', gen: 1, run: 1, pid: 4343 },
  'check-finished': {
    type: 'check-finished',
    name: 'alive',
    gen: 1,
    run: 1,
    pid: 4343,
    code: 0,
    signal: null,
    durationMs: 12,
    ok: true,
    timedOut: false,
    stale: false,
  },
  'check-health-changed': { type: 'check-health-changed', name: 'alive', healthy: false },
  'reload-applied': {
    type: 'reload-applied',
    gen: 2,
    services: { added: ['db'], removed: [], changed: ['web'], unchanged: [] },
    checks: { added: [], removed: ['alive'], changed: [], unchanged: [] },
  },
  'reload-coalesced': { type: 'reload-coalesced', source: 'SIGHUP' },
  'reload-signalled': { type: 'reload-signalled', name: 'web', pid: 4242, signal: 'SIGHUP' },
  'orphan-found': { type: 'orphan-found', pid: 4242, name: 'web', kind: 'service', startTime: 77 },
  'orphan-forgotten': {
    type: 'orphan-forgotten',
    pid: 4242,
    name: 'web',
    reason: 'left in an earlier boot (a); this is boot b',
  },
  'event-ignored': { type: 'event-ignored', ref: 12, reason: 'stale backoff timer' },
  'restart-requested': { type: 'restart-requested', name: 'web', source: 'socket' },
  'signal-requested': { type: 'signal-requested', name: 'web', signal: 'SIGHUP', source: 'socket' },
  'request-answered': {
    type: 'request-answered',
    ref: 12,
    outcome: 'already',
    message: 'web is already running',
  },
  'output-dropped': { type: 'output-dropped', output: 'procreg', lines: 120, bytes: 9000, since: 1_700_000_000_000 },
  'log-gap': { type: 'log-gap', fromSeq: 3, toSeq: 9, reason: 'queue-overflow', previous: null },
  'segments-deleted': {
    type: 'segments-deleted',
    segments: [
      {
        file: 'events.0000000000000001.jsonl',
        firstSeq: 1,
        lastSeq: 4000,
        bytes: 262144,
        reason: 'segments',
      },
    ],
  },
  snapshot: { type: 'snapshot', logId: '0f3a', cause: 'rotation', state: {} },
};

export const SAMPLES: readonly EventBody[] = Object.values(SAMPLE_EVENTS);
