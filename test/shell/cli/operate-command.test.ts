import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../src/events/types.js';
import { procreg } from '../../support/cli.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

/**
 * A service whose process and its child (same process group) each write a file when they get
 * SIGUSR2: `<name>.parent` and `<name>.child` in `dir`.
 */
function usr2Service(dir: string): string {
  const mark = (who: string) =>
    `process.on('SIGUSR2', () => require('fs').writeFileSync(${JSON.stringify(join(dir, `usr2.${who}`))}, ''));`;
  // The child says when its handler is in place: a SIGUSR2 before that would kill it.
  const ready = JSON.stringify(join(dir, 'usr2.ready'));
  const child = `${mark('child')} require('fs').writeFileSync(${ready}, ''); setInterval(() => {}, 1000);`;
  const parent = `${mark('parent')} require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: 'inherit' }); setInterval(() => {}, 1000);`;
  return JSON.stringify([process.execPath, '-e', parent]);
}

/** A service that crashes at once while `<dir>/crash` exists, and otherwise runs. */
function crashWhileMarked(dir: string): string {
  const marker = JSON.stringify(join(dir, 'crash'));
  return JSON.stringify([
    process.execPath,
    '-e',
    `if (require('fs').existsSync(${marker})) process.exit(1); setInterval(() => {}, 1000);`,
  ]);
}

function writeConfig(dir: string, services: string): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(path, `runDir: ./run\nservices:\n${services}`);
  return path;
}

const idle = (name: string, extra = '') =>
  `  ${name}:\n    command: ${NODE_IDLE}\n    stopTimeout: 2s\n${extra}`;

/** `procreg run` of `services`, once it serves its socket. */
async function running(services: string) {
  const dir = tmp();
  const runDir = join(dir, 'run');
  const config = writeConfig(dir, services);
  const r = runs.start(config, runDir);
  await r.printed('procreg running');
  return { dir, runDir, config, r, log: join(runDir, 'events.jsonl') };
}

const sources = (events: Event[], type: string) =>
  events.flatMap((e) =>
    e.type === type && 'source' in e ? [`${'name' in e ? e.name : ''}:${e.source}`] : [],
  );

describe('procreg start', () => {
  it('revives a service given up after a crash loop; the log shows the operator input and the reset', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'crash'), '');
    const runDir = join(dir, 'run');
    const config = writeConfig(
      dir,
      `  flaky:\n    command: ${crashWhileMarked(dir)}\n    backoff: { initial: 20ms }\n    maxRestarts: { count: 2, within: 60s }\n${idle('web')}`,
    );
    const r = runs.start(config, runDir);
    await r.printed('procreg running');
    const log = join(runDir, 'events.jsonl');
    await logEvent(
      log,
      ofType('service-given-up', (e) => e.name === 'flaky'),
      'flaky given up',
    );
    const web = runs.track(await pidFileOf(runDir, 'web'));
    rmSync(join(dir, 'crash')); // the fix is deployed

    const start = await procreg('start', config, 'flaky');
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(
      /^procreg start: flaky: running, pid (\d+); was given up; restart window \(2 restarts\) and backoff reset\n$/,
    );
    const pid = Number(/pid (\d+)/.exec(start.stdout)?.[1]);
    runs.track(pid);
    expect(alive(pid)).toBe(true);
    expect(await pidFileOf(runDir, 'flaky')).toBe(pid);
    expect(alive(web)).toBe(true);

    const events = await logEvents(log);
    const input = events.find((e) => e.type === 'start-requested');
    expect(input).toMatchObject({
      type: 'start-requested',
      target: 'service',
      name: 'flaky',
      source: 'socket',
    });
    const after = events.filter((e) => e.seq > (input?.seq ?? Infinity));
    expect(after.find((e) => e.type === 'request-answered')).toMatchObject({
      ref: input?.seq,
      outcome: 'done',
      message: 'flaky: starting (socket); was given up; restart window (2 restarts) and backoff reset',
    });
    expect(after.find((e) => e.type === 'spawn-requested')).toMatchObject({
      name: 'flaky',
      reason: 'requested',
    });
    expect(after.find((e) => e.type === 'spawned')).toMatchObject({ name: 'flaky', pid });

    // Asked again: it runs already, exit 0 and says so.
    expect(await procreg('start', config, 'flaky')).toMatchObject({
      code: 0,
      stdout: 'procreg start: flaky is already running; nothing to do\n',
    });
  });

  it('exits 1 saying how, when the service it started exits at once', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'crash'), '');
    const runDir = join(dir, 'run');
    const config = writeConfig(dir, `  flaky:\n    command: ${crashWhileMarked(dir)}\n    restart: never\n`);
    const r = runs.start(config, runDir);
    await r.printed('procreg running');
    await logEvent(join(runDir, 'events.jsonl'), ofType('exited'), 'flaky exited');
    const start = await procreg('start', config, 'flaky');
    expect(start).toMatchObject({ code: 1, stdout: '' });
    expect(start.stderr).toMatch(
      /^procreg start: flaky: exited code 1 right after it started; now stopped \(exited \(code 1\); restart: never\)\n$/,
    );
  });

  it('exits 2 for an unknown name, listing the services and checks there are; the known ones are still started', async () => {
    const { config, runDir } = await running(`${idle('web')}${idle('db', '    restart: never\n')}`);
    const db = await pidFileOf(runDir, 'db');
    runs.track(db);
    process.kill(db, 'SIGKILL');
    await waitFor('db down', () => (existsSync(join(runDir, 'db.pid')) ? undefined : true));
    const res = await procreg('start', config, 'wbe', 'db');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'procreg start: no service or check named "wbe"; services: db, web; checks: none\n',
    );
    expect(res.stdout).toMatch(/^procreg start: db: running, pid \d+\n$/);
    runs.track(await pidFileOf(runDir, 'db', db));
  });

  it('exits 3 naming the runDir when no supervisor runs, and 2 without a name', async () => {
    const dir = tmp();
    const config = writeConfig(dir, idle('web'));
    const none = await procreg('start', config, 'web');
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(
      new RegExp(`^procreg start: no procreg is running for runDir ${join(dir, 'run')} `),
    );
    expect(await procreg('start', config)).toMatchObject({
      code: 2,
      stderr: 'procreg start: give at least one service or check name: procreg start <config> <name>...\n',
    });
  });
});

describe('procreg stop <name>', () => {
  it('stops one service while the others run; a reload keeps it down, a reload that changes it starts it', async () => {
    const { dir, config, runDir, log, r } = await running(`${idle('web')}${idle('db')}`);
    const web = runs.track(await pidFileOf(runDir, 'web'));
    const db = runs.track(await pidFileOf(runDir, 'db'));
    const stop = await procreg('stop', config, 'web');
    expect(stop).toMatchObject({ code: 0, stderr: '' });
    expect(stop.stdout).toMatch(
      /^procreg stop: web: stopped \(exited signal SIGTERM after [\d.]+m?s\); it stays down until started again\n$/,
    );
    expect(alive(web)).toBe(false);
    expect(existsSync(join(runDir, 'web.pid'))).toBe(false);
    expect(alive(db) && alive(r.pid)).toBe(true);
    expect(await procreg('stop', config, 'web')).toMatchObject({
      code: 0,
      stdout: 'procreg stop: web is already stopped or stopping; nothing to do\n',
    });

    // A reload of the same definitions: web stays down.
    expect(await procreg('reload', config)).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 2 applied\n',
    });
    const status = JSON.parse((await procreg('status', config, '--json')).stdout);
    expect(status.services.find((s: { name: string }) => s.name === 'web')).toMatchObject({
      state: 'stopped',
      pid: null,
      why: expect.stringMatching(/^stopped by operator \(socket\) at \d\d:\d\d:\d\d$/),
    });
    expect(alive(db)).toBe(true);
    expect(existsSync(join(runDir, 'web.pid'))).toBe(false);

    // A reload that changes web's definition starts it again.
    writeConfig(dir, `${idle('web', "    env: { VERSION: '2' }\n")}${idle('db')}`);
    expect(await procreg('reload', config)).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 3 applied\n',
    });
    runs.track(await pidFileOf(runDir, 'web'));
    expect(alive(db)).toBe(true);
    expect(sources(await logEvents(log), 'stop-requested')).toEqual(['web:socket', 'web:socket']);
  });

  it('pauses a check and resumes it with start', async () => {
    const { config, log } = await running(
      `${idle('web')}checks:\n  alive:\n    command: ['true']\n    interval: 200ms\n    service: web\n`,
    );
    expect(await procreg('stop', config, 'alive')).toMatchObject({
      code: 0,
      stdout: 'procreg stop: check alive: paused (socket)\n',
    });
    const paused = JSON.parse((await procreg('status', config, '--json')).stdout);
    expect(paused.checks[0]).toMatchObject({ name: 'alive', paused: true });
    expect(await procreg('start', config, 'alive')).toMatchObject({
      code: 0,
      stdout: 'procreg start: check alive: resumed (socket)\n',
    });
    const resumed = (await logEvents(log)).filter((e) => e.type === 'start-requested').at(-1)?.seq ?? 0;
    await logEvent(
      log,
      ofType('check-started', (e) => e.seq > resumed),
      'a run after the resume',
    );
  });
});

describe('procreg restart', () => {
  it("restarts one service, keeps the others' PIDs, and does not count it towards maxRestarts", async () => {
    const { config, runDir, log } = await running(`${idle('web')}${idle('db')}`);
    const web = runs.track(await pidFileOf(runDir, 'web'));
    const db = runs.track(await pidFileOf(runDir, 'db'));
    const res = await procreg('restart', config, 'web');
    expect(res).toMatchObject({ code: 0, stderr: '' });
    const pid = Number(/^procreg restart: web: running, pid (\d+)\n$/.exec(res.stdout)?.[1]);
    runs.track(pid);
    expect(pid).not.toBe(web);
    expect(alive(web)).toBe(false);
    expect(alive(pid) && alive(db)).toBe(true);
    expect(await pidFileOf(runDir, 'db')).toBe(db);
    const status = JSON.parse((await procreg('status', config, '--json')).stdout);
    expect(status.services.find((s: { name: string }) => s.name === 'web')).toMatchObject({
      pid,
      restarts: 0,
      restartsInWindow: 0,
    });
    expect(sources(await logEvents(log), 'restart-requested')).toEqual(['web:socket']);
  });
});

describe('procreg signal', () => {
  it("sends the signal to the service's whole process group and changes nothing else", async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir, `  web:\n    command: ${usr2Service(dir)}\n    stopTimeout: 2s\n`);
    const r = runs.start(config, runDir);
    await r.printed('procreg running');
    const web = runs.track(await pidFileOf(runDir, 'web'));
    await waitFor('the child ready for SIGUSR2', () =>
      existsSync(join(dir, 'usr2.ready')) ? true : undefined,
    );
    const res = await procreg('signal', config, 'web', 'usr2');
    expect(res).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `procreg signal: web: SIGUSR2 sent to process group ${web}\n`,
    });
    await waitFor('both processes of the group got SIGUSR2', () =>
      existsSync(join(dir, 'usr2.parent')) && existsSync(join(dir, 'usr2.child')) ? true : undefined,
    );
    expect(alive(web)).toBe(true);
    const events = await logEvents(join(runDir, 'events.jsonl'));
    expect(events.find((e) => e.type === 'signal-requested')).toMatchObject({
      name: 'web',
      signal: 'SIGUSR2',
      source: 'socket',
    });
    expect(events.find((e) => e.type === 'signal-sent')).toMatchObject({
      pid: web,
      signal: 'SIGUSR2',
      error: null,
    });
    expect(readFileSync(join(runDir, 'web.pid'), 'utf8')).toBe(`${web}\n`);
  });

  it('exits 2 for a name or signal that does not exist, 1 for a service with no process', async () => {
    const { config, runDir } = await running(`${idle('web')}${idle('db')}`);
    runs.track(await pidFileOf(runDir, 'web'));
    runs.track(await pidFileOf(runDir, 'db'));
    expect(await procreg('signal', config, 'nope', 'SIGUSR2')).toMatchObject({
      code: 2,
      stderr: 'procreg signal: no service named "nope"; services: db, web\n',
    });
    const bad = await procreg('signal', config, 'web', 'SIGNOPE');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^procreg signal: "SIGNOPE" is not a signal procreg sends; one of SIGHUP, SIGINT, /,
    );
    expect(await procreg('stop', config, 'db')).toMatchObject({ code: 0 });
    expect(await procreg('signal', config, 'db', 'HUP')).toMatchObject({
      code: 1,
      stderr: 'procreg signal: db has no process to signal (it is stopped)\n',
    });
  });
});
