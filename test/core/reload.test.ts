import { describe, expect, it } from 'vitest';
import { verifyInvariants } from '../../src/core/invariants.js';
import { diffDefs } from '../../src/core/reload.js';
import { World } from '../../src/sim/world.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { runFinishes } from '../support/runs.js';
import { deliverAll, deliverFirst, logged, scenario } from '../support/world.js';

describe('reload', () => {
  const v1 = makeConfig({
    services: { keep: svc(), change: svc(), drop: svc({ pidFile: 'drop.pid' }) },
    checks: { same: chk({ rise: 1 }), tweak: chk() },
  });
  const v2 = makeConfig({
    services: { keep: svc(), change: svc({ command: ['node', 'v2.js'] }), add: svc() },
    checks: { same: chk({ rise: 1 }), tweak: chk({ fall: 5 }) },
  });

  function loaded(...configs: ReturnType<typeof makeConfig>[]) {
    const w = scenario(configs);
    deliverAll(w, 'spawned', 'check-started');
    return w;
  }

  function reload(w: World) {
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    deliverFirst(w, 'config-loaded');
  }

  it('diffs services and checks by value', () => {
    expect(diffDefs(v1.services, v2.services)).toEqual({
      added: ['add'],
      removed: ['drop'],
      changed: ['change'],
      unchanged: ['keep'],
    });
    expect(diffDefs(v1.checks, v2.checks)).toEqual({
      added: [],
      removed: [],
      changed: ['tweak'],
      unchanged: ['same'],
    });
  });

  it('produces generation N+1 in one step: unchanged keeps its PID, changed restarts, removed stops, added starts', () => {
    const w = loaded(v1, v2);
    const pidOf = (n: string) => w.state.services.get(n)?.pid;
    const keepPid = pidOf('keep');
    const changePid = pidOf('change') as number;
    const dropPid = pidOf('drop') as number;
    reload(w);
    expect(w.state.gen).toBe(2);
    expect(logged(w, 'reload-applied')).toEqual([
      expect.objectContaining({
        gen: 2,
        services: expect.objectContaining({ added: ['add'], removed: ['drop'], changed: ['change'] }),
      }),
    ]);
    expect(pidOf('keep')).toBe(keepPid);
    expect(w.state.services.get('keep')?.defGen).toBe(1);
    expect(logged(w, 'stop-begun').map((e) => [e.pid, e.reason])).toEqual([
      [dropPid, 'reload-removed'],
      [changePid, 'reload-changed'],
    ]);
    for (const pid of [changePid, dropPid]) {
      w.live.delete(pid);
      w.pending.push({
        type: 'exited',
        pid,
        code: null,
        signal: 'SIGTERM',
        groupAlive: false,
        lastWords: null,
      });
    }
    deliverAll(w, 'exited', 'spawned');
    expect(w.state.services.has('drop')).toBe(false);
    expect(w.files.has('/run/procreg/drop.pid')).toBe(false);
    expect(w.state.services.get('change')).toMatchObject({ phase: 'running', defGen: 2, incarnation: 2 });
    expect(w.state.services.get('add')?.phase).toBe('running');
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('carries check counters over only for an identical definition', () => {
    const w = loaded(v1, v2);
    runFinishes(w, 'same', 0);
    runFinishes(w, 'tweak', 1);
    expect(w.state.checks.get('same')?.healthy).toBe(true);
    reload(w);
    expect(w.state.checks.get('same')).toMatchObject({ healthy: true, successes: 1, defGen: 1 });
    expect(w.state.checks.get('tweak')).toMatchObject({ healthy: null, failures: 0, defGen: 2 });
  });

  it('coalesces a storm of reload requests into at most one more load', () => {
    const w = loaded(v1, v2, v1);
    for (let i = 0; i < 50; i++) w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverAll(w, 'reload-requested');
    expect(logged(w, 'reload-coalesced')).toHaveLength(49);
    deliverAll(w, 'config-loaded');
    expect(logged(w, 'config-loaded')).toHaveLength(3);
    expect(logged(w, 'reload-applied').map((e) => e.gen)).toEqual([2, 3]);
    expect(w.state.reload).toBe('idle');
  });

  it('a failed reload leaves the running generation untouched', () => {
    const w = loaded(v1, v2);
    const before = w.state;
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    w.pending.length = 0; // the shell could not parse the file
    w.pending.push({
      type: 'reload-failed',
      reason: 'procreg.yaml: services.web.restart: must be one of always | on-failure | never',
    });
    deliverFirst(w, 'reload-failed');
    expect(w.state.gen).toBe(1);
    expect(w.state.config).toBe(before.config);
    expect(w.state.procs).toBe(before.procs);
    expect(w.state.reload).toBe('idle');
  });

  it('numbers the generation itself: a config pushed by the shell becomes the next one', () => {
    const w = loaded(v1, v2);
    w.pending.push({ type: 'config-loaded', source: 'x', config: v2 });
    deliverFirst(w, 'config-loaded');
    expect(w.state.gen).toBe(2);
    expect(w.lastRecords).toContainEqual(expect.objectContaining({ type: 'reload-applied', gen: 2 }));
  });

  it('ignores a config that arrives while the supervisor stops', () => {
    const w = loaded(v1, v2);
    w.pending.push({ type: 'supervisor-stopping', reason: 'test' });
    deliverFirst(w, 'supervisor-stopping');
    w.pending.push({ type: 'config-loaded', source: 'x', config: v2 });
    deliverFirst(w, 'config-loaded');
    expect(w.state.gen).toBe(1);
    expect(w.lastRecords).toEqual([
      expect.objectContaining({ reason: 'config loaded while the supervisor is stopping' }),
    ]);
  });
});

describe('hardening part 5 (identity issue): a reload that moves a PID file', () => {
  it('removes the old file where it was written, not at the new path, and writes the new one', () => {
    const v1 = makeConfig({ services: { web: svc({ pidFile: 'old.pid' }) } });
    const v2 = makeConfig({ services: { web: svc({ pidFile: 'new.pid' }) } });
    const w = new World({ configs: [v1, v2], seed: 3 });
    w.start();
    w.drain();
    const first = w.state.services.get('web')?.pid as number;
    expect(w.files.get('/run/procreg/old.pid')).toBe(first);
    w.pending.push({ type: 'reload-requested', source: 'test' });
    w.drain(); // config v2: web changed, its stop begins
    w.exitProcess([...w.live.keys()].indexOf(first), 'signal');
    w.drain();
    const second = w.state.services.get('web')?.pid as number;
    expect(second).not.toBe(first);
    expect(w.files.has('/run/procreg/old.pid')).toBe(false);
    expect(w.files.get('/run/procreg/new.pid')).toBe(second);
    expect(w.log).toContainEqual(
      expect.objectContaining({
        type: 'pidfile-removed',
        path: '/run/procreg/old.pid',
        pid: first,
        outcome: 'removed',
      }),
    );
  });
});
