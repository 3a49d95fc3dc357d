import { describe, expect, it } from 'vitest';
import { serviceHistory } from '../../src/debug/history.js';
import { why, type WhyAnswer, type WhyTarget } from '../../src/debug/why.js';
import type { World } from '../../src/sim/world.js';
import { chk, makeConfig, svc } from '../support/configs.js';
import { exits, nextRun, pidOf, runFinishes } from '../support/runs.js';
import { deliverAll, deliverFirst, fireTimer, logged, scenario } from '../support/world.js';

const UTC = { utc: true };

async function ask(w: World, name: string, target: WhyTarget = { kind: 'current' }): Promise<WhyAnswer> {
  const r = await why(w.log, name, target, UTC);
  if (!r.ok) throw new Error(r.error);
  return r.answer;
}

const texts = (a: WhyAnswer) => a.chain.map((l) => `${l.role}: ${l.text}`);

/** The current incarnation of `name` dies after `ms`, exiting with `code`. */
function dies(w: World, name: string, ms: number, code = 1): void {
  w.advance(ms);
  exits(w, pidOf(w, name), code);
}

function restarts(w: World): void {
  fireTimer(w, 'backoff');
  deliverFirst(w, 'timer-fired');
  deliverFirst(w, 'spawned');
}

describe('why: the causal chain of each kind of decision, from a hand-built log', () => {
  it('a crash restart: the exit, the backoff rule with its numbers, the restart window', async () => {
    const w = scenario([
      makeConfig({
        services: {
          web: svc({ backoff: { initial: '100ms', factor: 2 }, maxRestarts: { count: 10, within: '60s' } }),
        },
      }),
    ]);
    deliverFirst(w, 'spawned');
    dies(w, 'web', 400);
    restarts(w);
    dies(w, 'web', 300);
    restarts(w);
    dies(w, 'web', 200);
    const a = await ask(w, 'web', { kind: 'incarnation', incarnation: 3 });
    expect(a.answer).toBe('restarted after 400ms');
    expect(texts(a)).toEqual([
      'decision: web restart as #4 scheduled in 400ms (restart 3)',
      'rule: 3rd consecutive exit before backoff.resetAfter 60s → 100ms × 2^2 = 400ms',
      'rule: restarts in the last 60s: 3 of maxRestarts 10',
      `input: web #3 (pid ${logged(w, 'spawned')[2]?.pid}) exited code 1 after 200ms`,
    ]);
    expect(a.chain[0]?.seq).toBe(logged(w, 'restart-scheduled')[2]?.seq);
    expect(a.root).toBe('web exited with code 1 on its own: nobody had asked it to stop');
    // And now: waiting for that backoff.
    const now = await ask(w, 'web');
    expect(now.answer).toMatch(/^waiting 400ms backoff until \d\d:\d\d:\d\d\.\d{3}$/);
  });

  it('a backoff reset: a run longer than resetAfter starts the backoff over', async () => {
    const w = scenario([
      makeConfig({
        services: {
          web: svc({
            backoff: { initial: '100ms', resetAfter: '10s' },
            maxRestarts: { count: 10, within: '60s' },
          }),
        },
      }),
    ]);
    deliverFirst(w, 'spawned');
    dies(w, 'web', 50);
    restarts(w);
    dies(w, 'web', 50);
    restarts(w);
    dies(w, 'web', 12_000);
    const a = await ask(w, 'web', { kind: 'incarnation', incarnation: 3 });
    expect(a.answer).toBe('restarted after 100ms');
    expect(texts(a)[1]).toBe(
      'rule: #3 ran 12.0s ≥ backoff.resetAfter 10s: a stable run, so the backoff starts over at backoff.initial 100ms',
    );
    const h = await serviceHistory(w.log, 'web');
    expect(h.rows.map((r) => r.then?.text)).toEqual([
      'restart in 100ms',
      'restart in 200ms',
      'restart in 100ms (backoff reset)',
    ]);
  });

  it('a give-up: how many restarts the window held, against maxRestarts (and nothing happens since)', async () => {
    const w = scenario([
      makeConfig({ services: { web: svc({ maxRestarts: { count: 2, within: '30s' } }) } }),
    ]);
    deliverFirst(w, 'spawned');
    dies(w, 'web', 100);
    restarts(w);
    dies(w, 'web', 100);
    restarts(w);
    dies(w, 'web', 100);
    expect(logged(w, 'service-given-up')).toHaveLength(1);
    const a = await ask(w, 'web');
    expect(a.answer).toMatch(/^given up at \d\d:\d\d:\d\d\.\d{3}: 3 restarts within 30s > maxRestarts 2$/);
    expect(texts(a)[0]).toMatch(/^state: web is given up at .*; nothing restarts it until a start request$/);
    expect(texts(a)).toContain(
      'decision: web given up at ' + a.answer.slice(12, 24) + ' (reached_max_restart_intensity, as OTP says)',
    );
    expect(texts(a).find((t) => t.startsWith('rule:'))).toMatch(
      /^rule: one more restart would make 3 within 30s > maxRestarts 2: the restarts that count were .* and .* before this exit$/,
    );
    expect(a.root).toBe('web exited with code 1 on its own: nobody had asked it to stop');
  });

  it('a check-triggered restart: back through the stop signal and the health change to the failed runs', async () => {
    const w = scenario([
      makeConfig({
        services: { web: svc() },
        checks: { web_alive: chk({ restarts: 'web', fall: 2, rise: 1 }) },
      }),
    ]);
    deliverFirst(w, 'spawned');
    runFinishes(w, 'web_alive', 0);
    nextRun(w);
    runFinishes(w, 'web_alive', 1);
    nextRun(w);
    runFinishes(w, 'web_alive', 7);
    const stop = logged(w, 'stop-begun')[0];
    expect(stop?.reason).toBe('check-failed');
    exits(w, pidOf(w, 'web'), null, 'SIGTERM');
    const a = await ask(w, 'web', { kind: 'incarnation', incarnation: 1 });
    expect(a.answer).toBe('restarted at once');
    expect(texts(a).slice(2)).toEqual([
      expect.stringMatching(/^input: web #1 \(pid \d+\) was killed by SIGTERM after /),
      "input: SIGTERM sent to web #1's process group: check web_alive turned unhealthy and restarts web",
      'input: web_alive turned unhealthy: 2 failures in a row reached fall 2',
      expect.stringMatching(/^input: web_alive run 3 failed: code 7 after /),
      expect.stringMatching(/^input: web_alive run 2 failed: code 1 after /),
    ]);
    expect(a.chain[3]?.seq).toBe(stop?.seq);
    expect(a.root).toBe("web_alive's script failed with code 1 and code 7: 2 times in a row (fall 2)");
    const h = await serviceHistory(w.log, 'web');
    expect(h.rows[0]?.endedBy).toMatchObject({ kind: 'check', text: 'check web_alive unhealthy' });
  });

  it('a reload change and a reload removal: the stop points to the reload, its changed fields and its request', async () => {
    const before = makeConfig({ services: { web: svc(), db: svc() } });
    const after = makeConfig({ services: { web: svc({ env: { PORT: '81' } }) } });
    const w = scenario([before, after]);
    deliverAll(w, 'spawned');
    w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    deliverFirst(w, 'reload-requested');
    deliverFirst(w, 'config-loaded');
    exits(w, pidOf(w, 'web'), 0);
    exits(w, pidOf(w, 'db'), 0);
    const web = await ask(w, 'web', { kind: 'incarnation', incarnation: 1 });
    expect(web.answer).toBe('started again at once (reload)');
    expect(texts(web).slice(3)).toEqual([
      "input: SIGTERM sent to web #1's process group: a reload changed its definition",
      'input: generation 2 applied: it changes web (env.PORT: null → "81")',
      'input: config loaded from sim',
      'input: reload requested (SIGHUP)',
    ]);
    expect(web.root).toBe(
      'the config changed web (env.PORT: null → "81") and a reload (SIGHUP) applied it as generation 2',
    );
    const db = await ask(w, 'db', { kind: 'incarnation', incarnation: 1 });
    expect(db.answer).toBe('removed from the registry');
    expect(db.root).toBe('the config no longer has db and a reload (SIGHUP) applied it as generation 2');
    const now = await ask(w, 'db');
    expect(now.answer).toMatch(/^db is no longer in the registry: generation 2 removed it at /);
  });

  it('an operator stop: the stop request, and why nothing happens since', async () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    deliverFirst(w, 'spawned');
    w.pending.push({ type: 'stop-requested', target: 'service', name: 'web', source: 'test' });
    deliverFirst(w, 'stop-requested');
    exits(w, pidOf(w, 'web'), 0);
    const a = await ask(w, 'web');
    expect(a.answer).toBe('stopped: stopped by operator (test)');
    expect(texts(a)[0]).toBe(
      'state: web is stopped (stopped by operator (test)); nothing starts it until a start request',
    );
    expect(texts(a)).toContain('input: web: stop requested (control socket or API)');
    expect(a.root).toBe('an operator asked procreg to stop web');
    const h = await serviceHistory(w.log, 'web');
    expect(h.rows[0]).toMatchObject({
      endedBy: { kind: 'operator', text: 'operator stop' },
      then: { kind: 'stay-down' },
    });
  });

  it('an orphan reap: the previous procreg ended without stopping it, the next one reaped it', async () => {
    const w = scenario([makeConfig({ services: { web: svc() } })]);
    deliverFirst(w, 'spawned');
    const old = pidOf(w, 'web');
    w.timers.clear();
    w.start(); // procreg crashed and started again: web's process is an orphan now
    deliverFirst(w, 'orphan-reaped');
    deliverFirst(w, 'group-exited');
    deliverFirst(w, 'spawned');
    const a = await ask(w, 'web', { kind: 'seq', seq: logged(w, 'group-exited')[0]?.seq as number });
    expect(a.answer).toBe("the new procreg's web started");
    expect(texts(a)).toEqual([
      'decision: the new procreg started its own web once this process was gone',
      expect.stringMatching(new RegExp(`^input: web #1 \\(pid ${old}\\) was gone after `)),
      `input: procreg pid 1 found web #1 (pid ${old}) left running: proven its predecessor’s and sent its stop signal`,
      'input: procreg started again (pid 1, instance 2) and found the processes of the previous one still registered',
      expect.stringMatching(
        /^state: the previous procreg’s last event was seq \d+ at .*: it ended there without stopping its services$/,
      ),
    ]);
    expect(a.root).toBe(
      'the procreg that started web #1 ended without stopping it (it crashed or was killed); the next procreg reaped it',
    );
    const h = await serviceHistory(w.log, 'web');
    expect(h.rows.map((r) => [r.instance, r.incarnation, r.endedBy?.kind ?? 'running'])).toEqual([
      [1, 1, 'orphan-reaping'],
      [2, 1, 'running'],
    ]);
  });
});

describe('why: questions it cannot answer', () => {
  it('names the services and checks the log knows for an unknown name, and the range for a missing incarnation', async () => {
    const w = scenario([makeConfig({ services: { web: svc() }, checks: { alive: chk() } })]);
    deliverFirst(w, 'spawned');
    expect(await why(w.log, 'wbe', { kind: 'current' })).toEqual({
      ok: false,
      error: 'no service or check named "wbe" in this log',
      known: { services: ['web'], checks: ['alive'] },
    });
    expect(await why(w.log, 'web', { kind: 'incarnation', incarnation: 4 })).toEqual({
      ok: false,
      error: 'web has no incarnation #4 in this log (it has #1–#1)',
    });
    expect(await why(w.log, 'web', { kind: 'seq', seq: 9999 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^seq 9999 is past the end of the log/),
    });
  });
});
