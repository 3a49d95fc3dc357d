import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadCommand } from '../../../src/shell/cli/control-commands.js';
import { writePidFile } from '../../../src/shell/files/pidfile.js';
import { procreg } from '../../support/cli.js';
import { logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
const children: ChildProcess[] = [];
afterEach(() => {
  killAll(children.splice(0).map((c) => c.pid as number));
});

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

function writeConfig(dir: string, extra = ''): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(
    path,
    `runDir: ./run\nservices:\n  web:\n    command: ${NODE_IDLE}\n    stopTimeout: 2s\n${extra}`,
  );
  return path;
}

/** A running `procreg run` on a fresh config, once it answers on its socket and its `web` runs. */
async function running(extra = '') {
  const dir = tmp();
  const runDir = join(dir, 'run');
  const config = writeConfig(dir, extra);
  const r = runs.start(config, runDir);
  await r.printed('procreg running'); // logged once its control socket is served
  const web = runs.track(await pidFileOf(runDir, 'web'));
  return { dir, runDir, config, r, web };
}

/** What a command wrote, for the commands called in this process. */
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

describe('procreg status', () => {
  it('prints the live registry from the running supervisor, as a table or with --json', async () => {
    const { runDir, config, web } = await running(`  db:\n    command: ${NODE_IDLE}\n`);
    const db = runs.track(await pidFileOf(runDir, 'db'));
    const status = await procreg('status', config, '--json');
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout);
    const proc = (pid: number, name: string) => ({
      pid,
      name,
      kind: 'service',
      generation: 1,
      orphan: false,
      stopping: false,
    });
    expect(view).toMatchObject({
      generation: 1,
      phase: 'running',
      services: [
        expect.objectContaining({ name: 'db', state: 'running', pid: db, restarts: 0 }),
        expect.objectContaining({ name: 'web', state: 'running', pid: web, restarts: 0 }),
      ],
      // sorted by PID
      processes: web < db ? [proc(web, 'web'), proc(db, 'db')] : [proc(db, 'db'), proc(web, 'web')],
    });
    expect(statSync(join(runDir, 'procreg.sock')).mode & 0o777).toBe(0o600);
    const text = (await procreg('status', config)).stdout;
    expect(text).toMatch(/SERVICE\s+STATE\s+PID\s+GEN\s+INC\s+UPTIME\s+RESTARTS\s+LAST EXIT/);
    // web: running, its PID, generation 1, incarnation 1, up for some milliseconds or seconds, no restarts
    expect(text).toMatch(new RegExp(`\\nweb\\s+running\\s+${web}\\s+1\\s+1\\s+\\d+(ms|\\.\\ds)\\s+0\\s+-`));
  });

  it("shrugs off a malformed request on the supervisor's socket and goes on answering", async () => {
    const { runDir, config } = await running();
    const answer = await new Promise<string>((resolve, reject) => {
      const c = createConnection(join(runDir, 'procreg.sock'));
      c.on('error', reject);
      c.on('data', (d) => {
        resolve(String(d));
        c.end();
      });
      c.write('this is not json\n');
    });
    expect(JSON.parse(answer)).toEqual({
      ok: false,
      error: 'not JSON; send one object per line, e.g. {"cmd":"status"}',
    });
    expect((await procreg('status', config)).code).toBe(0);
  });

  it('exits 1 naming the socket when no supervisor runs, 2 when the config is invalid', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    const none = await procreg('status', config);
    expect(none).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `procreg status: no procreg is running here (${join(dir, 'run', 'procreg.sock')}: ENOENT)\n`,
    });
    writeFileSync(config, 'services:\n  web:\n    restart: sometimes\n');
    const bad = await procreg('status', config); // finding the runDir needs a valid config
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/services\.web\.restart: must be one of always \| on-failure \| never/);
  });
});

describe('procreg reload', () => {
  it('makes the running supervisor re-read its config and reports the generation applied', async () => {
    const { dir, runDir, config, web } = await running();
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n`);
    const reload = await procreg('reload', config);
    expect(reload).toMatchObject({ code: 0, stdout: 'procreg reload: generation 2 applied\n', stderr: '' });
    runs.track(await pidFileOf(runDir, 'extra'));
    expect(alive(web)).toBe(true);
  });

  it('exits 2 for a config it finds invalid itself, and does not signal the supervisor', async () => {
    const { dir, runDir, config, web } = await running();
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n    restart: sometimes\n`);
    const refused = await procreg('reload', config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/services\.extra\.restart: must be one of always \| on-failure \| never/);
    expect(refused.stderr).toMatch(/the running supervisor was not asked to reload and keeps its generation/);
    expect(alive(web)).toBe(true);
    // Had it signalled, the supervisor would have logged a reload request before this one's.
    writeConfig(dir);
    expect(await procreg('reload', config)).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 2 applied\n',
    });
    const log = await logEvents(join(runDir, 'events.jsonl'));
    expect(log.filter((e) => e.type === 'reload-requested')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'reload-failed')).toEqual([]);
  });

  // Fails today: the command follows the verdict in the log the *new* config names, which
  // does not exist (exit 70). The control-socket reload (issue 10, part 3) answers it instead.
  it.fails('exits 1 with the reason when the supervisor refuses the config', async () => {
    // A config the command finds valid, but one the running supervisor cannot carry out:
    // it would move the event log.
    const { dir, config, r, web } = await running();
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace('runDir: ./run\n', 'runDir: ./run\neventLog: run/moved.jsonl\n'),
    );
    const refused = await procreg('reload', config);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `procreg reload: failed, the running generation is unchanged: eventLog: cannot change on reload (running: ${join(dir, 'run', 'events.jsonl')}, new: ${join(dir, 'run', 'moved.jsonl')}); restart procreg to move it\n`,
    );
    expect(alive(web) && alive(r.pid)).toBe(true);
  });

  it('exits 1 when the supervisor gives no verdict in time', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'events.jsonl'), '');
    // Something alive that takes SIGHUP and never answers.
    const deaf = spawn('sh', ['-c', "trap '' HUP; sleep 300 & wait"], { stdio: 'ignore', detached: true });
    children.push(deaf);
    writePidFile(join(runDir, 'procreg.pid'), deaf.pid as number);
    const c = capture();
    expect(await reloadCommand(config, c.io, 300)).toBe(1);
    expect(c.err).toEqual([`procreg reload: no verdict from procreg pid ${deaf.pid} within 300 ms`]);
    expect(alive(deaf.pid as number)).toBe(true);
  });

  it('exits 1 naming the PID file when no supervisor runs', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    const pidFile = join(dir, 'run', 'procreg.pid');
    const none = await procreg('reload', config);
    expect(none).toMatchObject({
      code: 1,
      stderr: `no procreg is running for this config (${pidFile}: absent)\n`,
    });
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    mkdirSync(join(dir, 'run'));
    writePidFile(pidFile, gone.pid as number);
    expect(await procreg('reload', config)).toMatchObject({
      code: 1,
      stderr: `no procreg is running for this config (${pidFile}: pid ${gone.pid} is not alive)\n`,
    });
  });
});

describe('procreg stop', () => {
  it('stops the running supervisor and everything it runs, and waits until it has exited', async () => {
    const { config, r, web } = await running();
    const stop = await procreg('stop', config);
    expect(stop).toMatchObject({
      code: 0,
      stdout: `procreg stop: procreg pid ${r.pid} stopped every service and exited\n`,
    });
    expect(alive(r.pid)).toBe(false);
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);
    const after = await procreg('status', config);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no procreg is running here/);
  });

  // BUG (src/shell/control/client.ts:14, findSupervisor): a stale procreg.pid whose PID now
  // belongs to another program is taken for the supervisor: `procreg stop` SIGTERMs that
  // program, waits for it to die, and reports "stopped every service and exited" (exit 0).
  it.fails('does not signal a live process that is not procreg, named by a stale PID file', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    mkdirSync(join(dir, 'run'));
    const other = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(other);
    const died = new Promise<NodeJS.Signals | null>((resolve) =>
      other.on('exit', (_c, signal) => resolve(signal)),
    );
    writePidFile(join(dir, 'run', 'procreg.pid'), other.pid as number);
    const stop = await procreg('stop', config);
    expect(stop.code).toBe(1);
    process.kill(other.pid as number, 'SIGKILL'); // what it dies of says whether procreg signalled it first
    expect(await died).toBe('SIGKILL');
  });

  it('exits 1 naming the PID file when no supervisor runs', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    expect(await procreg('stop', config)).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `no procreg is running for this config (${join(dir, 'run', 'procreg.pid')}: absent)\n`,
    });
  });
});
