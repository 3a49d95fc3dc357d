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
    checks: { same: chk({ rise: 1 }), tweak: chk({ command: ['sh', '-c', 'exit 0'] }) },
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
    // A change of policy only keeps them too (see "applies a change of policy in place").
  });

  it('applies a change of policy in place: no restart, history kept, the running entry stops by the new rules', () => {
    const p1 = makeConfig({
      services: { web: svc({ reloadSignal: 'SIGHUP' }) },
      checks: { alive: chk({ restarts: 'web', fall: 2 }) },
    });
    const p2 = makeConfig({
      services: {
        web: svc({
          reloadSignal: 'SIGUSR1',
          stopSignal: 'SIGQUIT',
          stopTimeout: '9s',
          backoff: { initial: '1s', max: '1m' },
          maxRestarts: { count: 3, within: '10m' },
          restart: 'on-failure',
          fatalExitCodes: [2],
        }),
      },
      checks: { alive: chk({ restarts: 'web', fall: 4, interval: '10s', timeout: '3s', rise: 2 }) },
    });
    const w = loaded(p1, p2);
    const pid = w.state.services.get('web')?.pid as number;
    runFinishes(w, 'alive', 1);
    const before = w.state.checks.get('alive');
    reload(w);
    expect(logged(w, 'reload-applied')[0]).toMatchObject({
      services: { changed: ['web'], inPlace: ['web'] },
      checks: { changed: ['alive'], inPlace: ['alive'] },
    });
    expect(logged(w, 'stop-begun')).toEqual([]);
    expect(w.state.services.get('web')).toMatchObject({ phase: 'running', pid, incarnation: 1, defGen: 2 });
    expect(w.state.services.get('web')?.def.stopSignal).toBe('SIGQUIT');
    const entry = w.state.procs.get(pid);
    expect(entry?.kind === 'service' && entry.def?.stopTimeoutMs).toBe(9000);
    // The check keeps its count of failures and its generation of definition; the next run
    // is due one new interval from now.
    expect(w.state.checks.get('alive')).toMatchObject({
      failures: 1,
      defGen: before?.defGen,
      def: expect.objectContaining({ intervalMs: 10_000, fall: 4 }),
    });
    const timer = w.state.checks.get('alive')?.timer;
    expect(timer).toMatchObject({ kind: 'check-interval', gen: 2 });
    expect(w.lastEffects).toContainEqual({ do: 'arm-timer', timer, at: w.time + 10_000 });
    // Stopping it now uses the new signal.
    w.pending.push({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    deliverFirst(w, 'supervisor-stopping');
    expect(logged(w, 'stop-begun').map((e) => [e.pid, e.signal])).toEqual([[pid, 'SIGQUIT']]);
    expect(verifyInvariants(w.state)).toEqual([]);
  });

  it('restarts a service when a field of its process changes, even beside policy fields', () => {
    for (const change of [
      { command: ['node', 'v2.js'] },
      { env: { A: '1' } },
      { cwd: '/tmp' },
      { stderrLevel: 'warn' },
      { stdout: 'web.out' },
    ]) {
      const w = loaded(
        makeConfig({ services: { web: svc() } }),
        makeConfig({ services: { web: svc({ stopTimeout: '9s', ...change }) } }),
      );
      const pid = w.state.services.get('web')?.pid as number;
      reload(w);
      expect(
        logged(w, 'stop-begun').map((e) => [e.pid, e.reason]),
        JSON.stringify(change),
      ).toEqual([[pid, 'reload-changed']]);
      expect(logged(w, 'reload-applied')[0]?.services.inPlace).toBeUndefined();
    }
  });

  it("reload --services: sends each named service's reloadSignal to its group once the config is applied, recorded", () => {
    const c = makeConfig({
      services: {
        nginx: svc({ reloadSignal: 'SIGHUP' }),
        plain: svc(),
        moved: svc({ reloadSignal: 'SIGHUP' }),
      },
    });
    const c2 = makeConfig({
      services: {
        nginx: svc({ reloadSignal: 'SIGHUP' }),
        plain: svc(),
        moved: svc({ reloadSignal: 'SIGHUP', command: ['node', 'v2.js'] }),
      },
    });
    const w = loaded(c, c2);
    const pid = (n: string) => w.state.services.get(n)?.pid as number;
    const nginx = pid('nginx');
    w.pending.push({ type: 'reload-requested', source: 'socket', services: ['nginx', 'plain'] });
    deliverFirst(w, 'reload-requested');
    // A second request while the first loads: coalesced, its names kept for the load after.
    w.pending.push({ type: 'reload-requested', source: 'socket', services: ['moved', 'ghost'] });
    deliverFirst(w, 'reload-requested');
    expect(w.state.reloadSignals).toEqual(['ghost', 'moved', 'nginx', 'plain']);
    deliverFirst(w, 'config-loaded');
    expect(logged(w, 'reload-signalled')).toEqual([]); // the next load is still to come
    deliverFirst(w, 'config-loaded');
    expect(logged(w, 'reload-signalled').map((e) => [e.name, e.pid, e.signal])).toEqual([
      ['nginx', nginx, 'SIGHUP'],
    ]);
    expect(w.lastEffects).toContainEqual({ do: 'signal-group', pid: nginx, signal: 'SIGHUP' });
    expect(logged(w, 'event-ignored').map((e) => e.reason)).toEqual([
      'reload --services ghost: no such service',
      'reload --services moved: not signalled, it is restarting',
      'reload --services plain: it has no reloadSignal',
    ]);
    expect(w.state.reloadSignals).toEqual([]);
    expect(pid('nginx')).toBe(nginx); // signalled, not restarted
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
