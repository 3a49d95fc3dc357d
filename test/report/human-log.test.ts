import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/core/state.js';
import type { EventBody, EventType } from '../../src/events/types.js';
import { EVENT_TYPES } from '../../src/events/schema.js';
import { describeEvent } from '../../src/report/human-log.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { SAMPLE_EVENTS } from '../support/events.js';
import { pidOf } from '../support/runs.js';
import { deliverAll, scenario } from '../support/world.js';

/** web running, a run of check alive in flight. */
function running() {
  const w = scenario([makeConfig({ services: { web: svc() }, checks: { alive: chk() } })]);
  deliverAll(w, 'spawned', 'check-started');
  return { w, web: pidOf(w, 'web'), probe: w.state.checks.get('alive')?.inFlight?.pid as number };
}

const S = SAMPLE_EVENTS;

describe('describeEvent: what a person watching the supervisor is told', () => {
  const said: [EventBody, string, Record<string, unknown>, string][] = [
    [S.spawned, 'info', { service: 'web', pid: 4242 }, 'web: started, pid 4242'],
    [S['spawn-failed'], 'error', { service: 'web' }, 'web: cannot start: ENOENT'],
    [S['check-start-failed'], 'error', { check: 'alive' }, 'alive: cannot run: EACCES'],
    // The shell's reasons that name the program already say "cannot start": said once.
    [
      { ...S['spawn-failed'], error: 'cannot start nod: not found (ENOENT)' },
      'error',
      { service: 'web' },
      'web: cannot start nod: not found (ENOENT)',
    ],
    [S['reload-requested'], 'info', {}, 'reload requested (SIGHUP)'],
    [
      S['log-gap'],
      'warn',
      { fromSeq: 3, toSeq: 9, reason: 'queue-overflow', previous: null },
      'event log: seq 3-9 lost: the log could not be written for longer than the in-memory queue holds; a snapshot of the registry follows',
    ],
    [
      S['segments-deleted'],
      'info',
      { segments: ['events.0000000000000001.jsonl'] },
      'event log: retention deleted 1 old segment(s), seq 1-4000, 262144 bytes (more segments than retain.segments)',
    ],
    [
      S['ship-gap'],
      'warn',
      { fromSeq: 1, toSeq: 4000, bytes: 262144 },
      "event log: seq 1-4000 (262144 bytes) deleted before the shipper shipped it (unshipped segments past ship.maxBacklog); they are not on the fleet's stream",
    ],
    [
      S['reload-signalled'],
      'info',
      { service: 'web', pid: 4242, signal: 'SIGHUP' },
      'web: SIGHUP sent to re-read its own config (reload --services)',
    ],
    [
      S['output-dropped'],
      'warn',
      { output: 'procreg', dropped: 120, bytes: 9000, since: 1_700_000_000_000 },
      "procreg's own log: 120 line(s) (9000 bytes) dropped since 2023-11-14T22:13:20.000Z while it did not drain; supervision went on",
    ],
    [
      { type: 'output-dropped', output: 'web', lines: 2, bytes: 30, since: 1_700_000_000_000 },
      'warn',
      { output: 'web', dropped: 2, bytes: 30, since: 1_700_000_000_000 },
      'the log file of web: 2 line(s) (30 bytes) dropped since 2023-11-14T22:13:20.000Z while it did not drain; supervision went on',
    ],
    [
      { type: 'log-gap', fromSeq: 1, toSeq: 40, reason: 'log-replaced', previous: '/run/app/events.1' },
      'warn',
      { fromSeq: 1, toSeq: 40, reason: 'log-replaced', previous: '/run/app/events.1' },
      'event log: seq 1-40 are in the previous log file, which was moved away or deleted (now /run/app/events.1); a snapshot of the registry follows',
    ],
    [
      S['reload-failed'],
      'error',
      { reason: 'app.yaml: services: must be a mapping' },
      'reload failed, the running generation stays: app.yaml: services: must be a mapping',
    ],
    [S['stop-requested'], 'info', { service: 'web', source: 'test' }, 'web: stop requested (test)'],
    [S['start-requested'], 'info', { service: 'web', source: 'test' }, 'web: start requested (test)'],
    [
      { type: 'stop-requested', target: 'check', name: 'alive', source: 'socket' },
      'info',
      { check: 'alive', source: 'socket' },
      'alive: pause requested (socket)',
    ],
    [S['restart-requested'], 'info', { service: 'web', source: 'socket' }, 'web: restart requested (socket)'],
    [S['signal-requested'], 'info', { service: 'web', source: 'socket' }, 'web: SIGHUP requested (socket)'],
    [S['request-answered'], 'info', { ref: 12, outcome: 'already' }, 'web is already running'],
    [S['orphan-reaped'], 'warn', { pid: 4242, outcome: 'killed', detail: null }, 'orphan pid 4242: killed'],
    [
      {
        type: 'orphan-reaped',
        pid: 4242,
        outcome: 'not-ours',
        detail: "started at tick 9, procreg's started at tick 77",
      },
      'warn',
      { pid: 4242, outcome: 'not-ours', detail: "started at tick 9, procreg's started at tick 77" },
      "orphan pid 4242: not the process procreg started, left alone (started at tick 9, procreg's started at tick 77)",
    ],
    [
      S['orphan-forgotten'],
      'warn',
      { pid: 4242, name: 'web' },
      'web: pid 4242 forgotten, left in an earlier boot (a); this is boot b',
    ],
    [S['restart-scheduled'], 'info', { service: 'web', delayMs: 400, restarts: 3 }, 'web: restart in 400 ms'],
    [S['service-given-up'], 'error', { service: 'web', restarts: 10 }, 'web: given up after 10 restarts'],
    [
      S['service-failed'],
      'error',
      { service: 'web', code: 3 },
      'web: exit code 3 is listed in fatalExitCodes',
    ],
    [S['check-health-changed'], 'warn', { check: 'alive' }, 'alive: unhealthy'],
    [{ ...S['check-health-changed'], healthy: true }, 'info', { check: 'alive' }, 'alive: healthy'],
    [S['check-timed-out'], 'warn', { check: 'alive', pid: 4343 }, 'alive: run 1 timed out'],
    [S['stop-begun'], 'info', { service: 'web', pid: 4242, signal: 'SIGTERM' }, 'web: SIGTERM (requested)'],
    [
      S['reload-applied'],
      'info',
      { gen: 2, services: S['reload-applied'].services, checks: S['reload-applied'].checks },
      'config generation 2 applied',
    ],
    [
      S['orphan-found'],
      'warn',
      { pid: 4242, name: 'web' },
      'web: pid 4242 left running by a previous procreg',
    ],
  ];

  it.each(said.map(([e, level, fields, msg]) => [e.type, level, msg, e, fields] as const))(
    '%s: %s "%s"',
    (_type, level, msg, event, fields) => {
      expect(describeEvent(event, initialState())).toEqual({ level, fields, msg });
    },
  );

  /** Said by other lines already, or too frequent to be worth a line each. */
  const QUIET: EventType[] = [
    'supervisor-started',
    'supervisor-stopping',
    'supervisor-stopped',
    'config-loaded',
    'group-exited',
    'check-started',
    'timer-fired',
    'signal-sent',
    'pidfile-written',
    'pidfile-removed',
    'spawn-requested',
    'check-run-requested',
    'check-skipped',
    'check-finished',
    'reload-coalesced',
    'event-ignored',
    'snapshot',
  ];

  it.each(QUIET)('%s: nothing', (type) => {
    const { w } = running();
    expect(describeEvent(S[type], w.state)).toBeNull();
  });

  it('has a verdict above for every event type', () => {
    const covered = [...said.map(([e]) => e.type), 'exited', 'daemon-suspected', ...QUIET];
    expect([...new Set(covered)].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('daemon-suspected: warn, naming what was left and how to run the program in the foreground', () => {
    const { w, web } = running();
    const e = { type: 'daemon-suspected', pid: web, left: [web + 1], escaped: true, afterMs: 40 } as const;
    const said = describeEvent(e, w.state);
    expect(said).toMatchObject({
      level: 'warn',
      fields: { service: 'web', pid: web, left: [web + 1], escaped: true },
    });
    expect(said?.msg).toMatch(
      new RegExp(
        `^web: looks like it daemonized itself: its main process exited 0 after 40ms and pid ${web + 1} it forked lives on in a session of its own, out of procreg's reach .*run it in the foreground \\(redis-server --daemonize no, nginx -g 'daemon off;'`,
      ),
    );
    expect(describeEvent({ ...e, pid: 999_999 }, w.state)).toBeNull(); // not a service's
  });

  describe('an exit, described by the registry before it', () => {
    it('of a service that was not asked to stop: warn, with its code or signal', () => {
      const { w, web } = running();
      expect(
        describeEvent(
          { type: 'exited', pid: web, code: 1, signal: null, groupAlive: false, lastWords: null },
          w.state,
        ),
      ).toEqual({
        level: 'warn',
        fields: { service: 'web', pid: web, code: 1, signal: null },
        msg: `web: pid ${web} exited with code 1`,
      });
      expect(
        describeEvent(
          { type: 'exited', pid: web, code: null, signal: 'SIGSEGV', groupAlive: false, lastWords: null },
          w.state,
        ),
      ).toEqual({
        level: 'warn',
        fields: { service: 'web', pid: web, code: null, signal: 'SIGSEGV' },
        msg: `web: pid ${web} killed by SIGSEGV`,
      });
    });

    it('of a service that exits 0 on its own: info', () => {
      const { w, web } = running();
      expect(
        describeEvent(
          { type: 'exited', pid: web, code: 0, signal: null, groupAlive: false, lastWords: null },
          w.state,
        ),
      ).toMatchObject({
        level: 'info',
        msg: `web: pid ${web} exited with code 0`,
      });
    });

    it('of a service being stopped: info, whatever killed it', () => {
      const { w, web } = running();
      w.deliver({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
      for (const [code, signal, how] of [
        [null, 'SIGTERM', 'killed by SIGTERM'],
        [null, 'SIGKILL', 'killed by SIGKILL'],
        [143, null, 'exited with code 143'],
      ] as const) {
        expect(
          describeEvent(
            { type: 'exited', pid: web, code, signal, groupAlive: false, lastWords: null },
            w.state,
          ),
        ).toEqual({
          level: 'info',
          fields: { service: 'web', pid: web, code, signal },
          msg: `web: pid ${web} ${how}`,
        });
      }
    });

    it('of a check run, or of a PID the registry does not hold: nothing', () => {
      const { w, probe } = running();
      expect(
        describeEvent(
          { type: 'exited', pid: probe, code: 1, signal: null, groupAlive: false, lastWords: null },
          w.state,
        ),
      ).toBeNull();
      expect(
        describeEvent(
          { type: 'exited', pid: 99_999, code: 1, signal: null, groupAlive: false, lastWords: null },
          w.state,
        ),
      ).toBeNull();
    });
  });
});
