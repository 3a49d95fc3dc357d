import { describe, expect, it } from 'vitest';
import { verifyInvariants, verifyInvariantsOf } from '../../src/core/invariants.js';
import {
  type CheckEntry,
  type CheckStatus,
  type ServiceEntry,
  type ServiceStatus,
  type State,
  withCheck,
  withService,
} from '../../src/core/state.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, pidOf } from '../support/runs.js';
import { deliverAll, scenario } from '../support/world.js';

/**
 * A valid registry from the simulator: web running, db stopped (restart: never), check
 * alive with a run in flight. Each test breaks one thing in it by hand.
 */
function valid() {
  const w = scenario([
    makeConfig({
      services: { web: svc(), db: svc({ restart: 'never' }) },
      checks: { alive: chk() },
    }),
  ]);
  deliverAll(w, 'spawned', 'check-started');
  exits(w, pidOf(w, 'db'), 0);
  const state = w.state;
  const web = state.services.get('web') as ServiceStatus;
  const db = state.services.get('db') as ServiceStatus;
  const alive = state.checks.get('alive') as CheckStatus;
  const webPid = web.pid as number;
  const checkPid = alive.inFlight?.pid as number;
  return {
    state,
    web,
    db,
    alive,
    webPid,
    checkPid,
    webEntry: state.procs.get(webPid) as ServiceEntry,
    checkEntry: state.procs.get(checkPid) as CheckEntry,
  };
}

const withSvc = (s: State, v: ServiceStatus): State => ({ ...s, services: s.services.set(v.name, v) });
const withChk = (s: State, v: CheckStatus): State => ({ ...s, checks: s.checks.set(v.name, v) });

describe('verifyInvariants', () => {
  it('finds nothing wrong in a registry the fold produced', () => {
    const { state, db } = valid();
    expect(state.procs.size).toBe(2);
    expect(db.phase).toBe('stopped');
    expect(verifyInvariants(state)).toEqual([]);
  });

  describe('1. every PID in the tree belongs to exactly one live incarnation or check run', () => {
    it('a service process that is neither the current incarnation nor being stopped', () => {
      const { state, webEntry } = valid();
      const broken = { ...state, procs: state.procs.set(999, { ...webEntry, incarnation: 7 }) };
      expect(verifyInvariants(broken)).toEqual([
        { invariant: 1, message: 'pid 999 (web#7) is neither the current incarnation nor being stopped' },
      ]);
      // Being stopped, the same process is accounted for.
      const stopping = {
        ...broken,
        stopping: state.stopping.set(999, { signal: 'SIGTERM', since: 0, killAt: 1 }),
      };
      expect(verifyInvariants(stopping)).toEqual([]);
    });

    it('a check process that is not the run in flight', () => {
      const { state, checkEntry } = valid();
      const broken = { ...state, procs: state.procs.set(998, { ...checkEntry, run: 9 }) };
      expect(verifyInvariants(broken)).toEqual([
        {
          invariant: 1,
          message: 'pid 998 (check alive run 9) is neither the run in flight nor being stopped',
        },
      ]);
    });

    it('a stop in progress for a PID the tree does not hold', () => {
      const { state } = valid();
      const broken = {
        ...state,
        stopping: state.stopping.set(997, { signal: 'SIGTERM', since: 0, killAt: 1 }),
      };
      expect(verifyInvariants(broken)).toEqual([
        { invariant: 1, message: 'pid 997 is being stopped but is not in the tree' },
      ]);
    });

    it('a service whose phase and pid disagree', () => {
      const { state, web, webPid } = valid();
      expect(verifyInvariants(withSvc(state, withService(web, { phase: 'stopped' })))).toEqual([
        { invariant: 1, message: `service web is stopped with pid ${webPid}` },
      ]);
    });

    it('a service naming a PID the tree does not hold for it', () => {
      const { state, web, webPid } = valid();
      const broken = withSvc(
        { ...state, procs: state.procs.remove(webPid).map },
        withService(web, { pid: 555, pidFile: { path: web.def.pidFile, pid: 555 } }),
      );
      expect(verifyInvariants(broken)).toEqual([
        { invariant: 1, message: 'service web names pid 555, which the tree does not hold for it' },
      ]);
    });

    it('a check whose run in flight is a PID the tree does not hold for it', () => {
      const { state, alive, checkPid } = valid();
      const flight = alive.inFlight as NonNullable<CheckStatus['inFlight']>;
      const broken = withChk(
        { ...state, procs: state.procs.remove(checkPid).map },
        withCheck(alive, { inFlight: { ...flight, pid: 556 } }),
      );
      expect(verifyInvariants(broken)).toEqual([
        {
          invariant: 1,
          message: 'check alive has run in flight as pid 556, which the tree does not hold for it',
        },
      ]);
    });
  });

  describe('3. nothing refers to a generation that does not exist, nor lingers once done', () => {
    it('a process of a newer generation than the current one', () => {
      const { state, webPid, webEntry } = valid();
      const broken = { ...state, procs: state.procs.set(webPid, { ...webEntry, gen: 5 }) };
      expect(verifyInvariants(broken)).toEqual([
        { invariant: 3, message: `pid ${webPid} carries gen 5, newer than the current gen 1` },
      ]);
    });

    it('a service or check definition from a future generation', () => {
      const { state, web, alive } = valid();
      expect(verifyInvariants(withSvc(state, withService(web, { defGen: 7 })))).toEqual([
        { invariant: 3, message: 'service web has a definition from gen 7 > 1' },
      ]);
      expect(verifyInvariants(withChk(state, withCheck(alive, { defGen: 2 })))).toEqual([
        { invariant: 3, message: 'check alive has a definition from gen 2 > 1' },
      ]);
    });

    it('a backoff timer on a service that is not in backoff', () => {
      const { state, web } = valid();
      const timer = { kind: 'backoff', name: 'web', gen: 1, incarnation: 2 } as const;
      expect(verifyInvariants(withSvc(state, withService(web, { timer })))).toEqual([
        {
          invariant: 3,
          message:
            'service web is running with timer {"kind":"backoff","name":"web","gen":1,"incarnation":2}',
        },
      ]);
    });

    it('a service in backoff with no timer armed', () => {
      const { state, db } = valid();
      expect(verifyInvariants(withSvc(state, withService(db, { phase: 'backoff' })))).toEqual([
        { invariant: 3, message: 'service db is backoff with timer null' },
      ]);
    });

    it('a removed service kept with nothing running', () => {
      const { state, db } = valid();
      expect(verifyInvariants(withSvc(state, withService(db, { desired: 'removed' })))).toEqual([
        { invariant: 3, message: 'removed service db is still kept with nothing running' },
      ]);
    });

    it('a removed check kept with no run in flight', () => {
      const { state, alive, checkPid } = valid();
      const broken = withChk(
        { ...state, procs: state.procs.remove(checkPid).map },
        withCheck(alive, { removed: true, inFlight: null }),
      );
      expect(verifyInvariants(broken)).toEqual([
        { invariant: 3, message: 'removed check alive is kept with no run in flight' },
      ]);
    });
  });

  describe('4. the PID file names nothing or the live current incarnation', () => {
    it('a PID file naming another PID than the live one', () => {
      const { state, web, webPid } = valid();
      expect(
        verifyInvariants(
          withSvc(state, withService(web, { pidFile: { path: web.def.pidFile, pid: 12_345 } })),
        ),
      ).toEqual([
        { invariant: 4, message: `service web's PID file names 12345, but its live pid is ${webPid}` },
      ]);
    });

    it('a PID file left behind by a service that is down', () => {
      const { state, db } = valid();
      expect(
        verifyInvariants(withSvc(state, withService(db, { pidFile: { path: db.def.pidFile, pid: 100 } }))),
      ).toEqual([{ invariant: 4, message: "service db's PID file names 100, but its live pid is null" }]);
    });
  });

  describe('5. a stopped supervisor has nothing left running', () => {
    it('a stopped supervisor with processes in the tree', () => {
      const { state } = valid();
      expect(verifyInvariants({ ...state, phase: 'stopped' })).toEqual([
        { invariant: 5, message: 'supervisor stopped with 2 process(es) in the tree' },
      ]);
    });
  });

  it('reports every broken invariant at once', () => {
    const { state, web, db } = valid();
    const broken = withSvc(withSvc({ ...state, phase: 'stopped' }, withService(web, { defGen: 3 })), {
      ...db,
      pidFile: { path: db.def.pidFile, pid: 4 },
    });
    expect(
      verifyInvariants(broken)
        .map((v) => v.invariant)
        .sort(),
    ).toEqual([3, 4, 5]);
  });

  it('leaves a process of a previous instance alone until it is reaped (an orphan)', () => {
    const { state, webEntry } = valid();
    // A generation older than the instance's first is an orphan's, whatever its status says.
    const broken = {
      ...state,
      instanceGen: 2,
      gen: 2,
      procs: state.procs.set(999, { ...webEntry, incarnation: 7 }),
    };
    const orphans = [...broken.procs.values()].filter((e) => e.gen < 2).length;
    expect(verifyInvariants({ ...broken, orphans })).toEqual([]);
    // The count of a predecessor's processes is kept with the tree: a wrong one is reported.
    expect(verifyInvariants({ ...broken, orphans: orphans - 1 })).toEqual([
      expect.objectContaining({ invariant: 1, message: expect.stringMatching(/left by a predecessor/) }),
    ]);
  });
});

describe('verifyInvariantsOf', () => {
  it('checks exactly the PIDs and names it is given, and the supervisor always', () => {
    const { state, web, webEntry } = valid();
    const broken = withSvc(
      {
        ...state,
        procs: state.procs.set(999, { ...webEntry, incarnation: 7 }),
        stopping: state.stopping.set(997, { signal: 'SIGTERM', since: 0, killAt: 1 }),
      },
      withService(web, { defGen: 9 }),
    );
    expect(verifyInvariantsOf(broken, [], [])).toEqual([]);
    expect(verifyInvariantsOf(broken, [998], ['db', 'alive', 'nope'])).toEqual([]);
    expect(verifyInvariantsOf(broken, [999], [])).toEqual([
      { invariant: 1, message: 'pid 999 (web#7) is neither the current incarnation nor being stopped' },
    ]);
    expect(verifyInvariantsOf(broken, [997], [])).toEqual([
      { invariant: 1, message: 'pid 997 is being stopped but is not in the tree' },
    ]);
    expect(verifyInvariantsOf(broken, [], ['web'])).toEqual([
      { invariant: 3, message: 'service web has a definition from gen 9 > 1' },
    ]);
    expect(verifyInvariantsOf({ ...state, phase: 'stopped' }, [], [])).toEqual([
      { invariant: 5, message: 'supervisor stopped with 2 process(es) in the tree' },
    ]);
  });

  it('finds what verifyInvariants finds when given every PID and name', () => {
    const { state, alive } = valid();
    const broken = withChk(state, withCheck(alive, { defGen: 4, removed: true }));
    const pids = [...state.procs.keys(), ...state.stopping.keys()];
    const names = [...state.services.keys(), ...state.checks.keys()];
    expect(verifyInvariantsOf(broken, pids, names)).toEqual(verifyInvariants(broken));
    expect(verifyInvariants(broken)).toEqual([
      { invariant: 3, message: 'check alive has a definition from gen 4 > 1' },
    ]);
  });
});
