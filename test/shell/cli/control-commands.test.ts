import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../../src/shell/cli/io.js';
import { writePidFile } from '../../../src/shell/files/pidfile.js';
import { lockAddress, printableAddress } from '../../../src/shell/instance-lock.js';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { procreg } from '../../support/cli.js';
import { withClosedStdout } from '../../support/closed-stdout.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
const children: ChildProcess[] = [];
afterEach(() => {
  killAll(children.splice(0).map((c) => c.pid as number));
});

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);
/** A service that ignores SIGTERM: a stop of procreg takes its whole stopTimeout. */
const NODE_DEAF = JSON.stringify([
  process.execPath,
  '-e',
  "process.on('SIGTERM', () => {}); console.log('deaf from now on'); setInterval(() => {}, 1000)",
]);

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

const lockOf = (runDir: string) => printableAddress(lockAddress('run', runDir));
const none = (cmd: string, runDir: string) =>
  `procreg ${cmd}: no procreg is running for runDir ${runDir} (nothing holds its lock ${lockOf(runDir)})\n`;

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
    const text = (await procreg('status', '--run-dir', runDir)).stdout;
    expect(text).toMatch(/SERVICE\s+STATE\s+PID\s+GEN\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+WHY/);
    // web: running, its PID, generation 1, up for some milliseconds or seconds, no restarts, no exit
    expect(text).toMatch(
      new RegExp(`\\nweb\\s+running\\s+${web}\\s+1\\s+\\d+(ms|\\.\\ds)\\s+0 in 60s of 10\\s+-\\n`),
    );
  });

  it("shrugs off a malformed request on the supervisor's socket and goes on answering", async () => {
    const { runDir, config, r } = await running();
    const lines = await new Promise<string[]>((resolve, reject) => {
      const c = createConnection(join(runDir, 'procreg.sock'));
      let buf = '';
      c.on('error', reject);
      c.on('data', (d) => {
        buf += String(d);
        const got = buf.split('\n').slice(0, -1);
        if (got.length >= 2) {
          resolve(got);
          c.end();
        }
      });
      c.write('this is not json\n');
    });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      ok: true,
      hello: { procreg: 'control', pid: r.pid },
    });
    expect(JSON.parse(lines[1] as string)).toEqual({
      ok: false,
      error: 'not JSON; send one object per line, e.g. {"cmd":"status"}',
    });
    expect((await procreg('status', config)).code).toBe(0);
  });

  it('part 6: exits 3 naming the runDir and its lock when no supervisor runs, 2 when the runDir cannot be read', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    const runDir = join(dir, 'run');
    expect(await procreg('status', config)).toEqual({ code: 3, stdout: '', stderr: none('status', runDir) });
    writeFileSync(config, 'runDir: [./run\nservices: {}\n'); // not even YAML
    const bad = await procreg('status', config);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(
      new RegExp(
        `^procreg status: ${config}: not valid YAML: .*\\(--run-dir <dir> reaches the supervisor without reading the config\\)\\n$`,
      ),
    );
    expect(await procreg('status', '--run-dir', runDir)).toMatchObject({
      code: 3,
      stderr: none('status', runDir),
    });
  });

  it('part 6: a usage error (a config and --run-dir, neither, a bad --timeout) exits 2 without a stack trace', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    for (const cmd of ['status', 'reload', 'stop']) {
      expect(await procreg(cmd, config, '--run-dir', dir)).toEqual({
        code: 2,
        stdout: '',
        stderr: `procreg ${cmd}: give a config file or --run-dir <dir>, not both\n`,
      });
      expect(await procreg(cmd)).toEqual({
        code: 2,
        stdout: '',
        stderr: `procreg ${cmd}: give a config file or --run-dir <dir>\n`,
      });
      expect(await procreg(cmd, config, '--timeout', '2s')).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: option '--timeout <ms>' argument '2s' is invalid. must be a whole number of milliseconds, at least 1, got "2s"\n`,
      });
    }
  });

  it('part 1: survives a closed stdout (procreg status ... | head -1): no EPIPE trace, exit 0', async () => {
    const { dir, config } = await running();
    expect(await withClosedStdout(dir, 'status', config)).toEqual({ code: 0, signal: null, stderr: '' });
    expect(await withClosedStdout(dir, 'status', config, '--json')).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
  });
});

describe('procreg reload', () => {
  it('makes the running supervisor re-read its config and reports the generation applied', async () => {
    const { dir, runDir, config, web, r } = await running();
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n`);
    const reload = await procreg('reload', config);
    expect(reload).toMatchObject({ code: 0, stdout: 'procreg reload: generation 2 applied\n', stderr: '' });
    runs.track(await pidFileOf(runDir, 'extra'));
    expect(alive(web)).toBe(true);
    expect(await procreg('reload', '--run-dir', runDir)).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 3 applied\n',
    });
    // Each records its true source: the CLI over the socket, then a SIGHUP to procreg.
    r.proc.kill('SIGHUP');
    await logEvent(
      join(runDir, 'events.jsonl'),
      ofType('reload-applied', (e) => e.gen === 4),
      'gen 4',
    );
    const all = await logEvents(join(runDir, 'events.jsonl'));
    expect(all.flatMap((e) => (e.type === 'reload-requested' ? [e.source] : []))).toEqual([
      'socket',
      'socket',
      'SIGHUP',
    ]);
  });

  it('exits 2 for a config it finds invalid itself, and does not ask the supervisor', async () => {
    const { dir, runDir, config, web } = await running();
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n    restart: sometimes\n`);
    const refused = await procreg('reload', config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/services\.extra\.restart: must be one of always \| on-failure \| never/);
    expect(refused.stderr).toMatch(/the running supervisor was not asked to reload and keeps its generation/);
    expect(alive(web)).toBe(true);
    writeConfig(dir);
    expect(await procreg('reload', config)).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 2 applied\n',
    });
    const log = await logEvents(join(runDir, 'events.jsonl'));
    expect(log.filter((e) => e.type === 'reload-requested')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'reload-failed')).toEqual([]);
  });

  it('exits 1 with the reason when the supervisor refuses the config', async () => {
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
      `procreg reload: failed, the running generation is unchanged: ${config}: eventLog: cannot change on reload (running: ${join(dir, 'run', 'events.jsonl')}, new: ${join(dir, 'run', 'moved.jsonl')}); restart procreg to move it\n`,
    );
    expect(alive(web) && alive(r.pid)).toBe(true);
  });

  it('part 4: is told at once that procreg is stopping (exit 1), instead of waiting for a verdict that never comes', async () => {
    const { runDir, config, r } = await running(`  deaf:\n    command: ${NODE_DEAF}\n    stopTimeout: 20s\n`);
    runs.track(await pidFileOf(runDir, 'deaf'));
    await r.printed('deaf from now on');
    const stopping = logEvent(
      join(runDir, 'events.jsonl'),
      ofType('stop-begun', (e) => e.name === 'deaf'),
      'deaf stopping',
    );
    r.proc.kill('SIGTERM');
    await stopping; // deaf ignores it: procreg stays in its stop for 20 s
    const t0 = Date.now();
    const reload = await procreg('reload', config);
    expect(reload).toEqual({
      code: 1,
      stdout: '',
      stderr: `procreg reload: procreg pid ${r.pid} is stopping; the reload was not applied\n`,
    });
    expect(Date.now() - t0).toBeLessThan(10_000); // it did not wait out its timeout
    const log = await logEvents(join(runDir, 'events.jsonl'));
    expect(log.filter((e) => e.type === 'reload-requested')).toEqual([]);
  });

  it('part 6: exits 3 when no supervisor runs, whatever a stale procreg.pid names', async () => {
    const dir = tmp();
    const config = writeConfig(dir);
    const runDir = join(dir, 'run');
    expect(await procreg('reload', config)).toEqual({ code: 3, stdout: '', stderr: none('reload', runDir) });
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    mkdirSync(runDir);
    writePidFile(join(runDir, 'procreg.pid'), gone.pid as number);
    expect(await procreg('reload', config)).toEqual({ code: 3, stdout: '', stderr: none('reload', runDir) });
  });
});

describe('procreg stop', () => {
  it('stops the running supervisor and everything it runs, waits until it has exited; then status exits 3', async () => {
    const { runDir, config, r, web } = await running();
    const stop = await procreg('stop', config);
    expect(stop).toEqual({
      code: 0,
      stdout: `procreg stop: procreg pid ${r.pid} stopped every service and exited\n`,
      stderr: '',
    });
    expect(alive(r.pid)).toBe(false);
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);
    expect(await procreg('status', config)).toEqual({ code: 3, stdout: '', stderr: none('status', runDir) });
    expect(await procreg('stop', config)).toEqual({ code: 3, stdout: '', stderr: none('stop', runDir) });
  });

  it('part 3: does not signal a live process that is not procreg, named by a stale PID file (exit 3)', async () => {
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
    expect(stop).toEqual({ code: 3, stdout: '', stderr: none('stop', join(dir, 'run')) });
    process.kill(other.pid as number, 'SIGKILL'); // what it dies of says whether procreg signalled it first
    expect(await died).toBe('SIGKILL');
  });

  it('part 3: finds a procreg whose runDir was deleted by its lock: status says so, stop signals that very process', async () => {
    const { runDir, config, r, web } = await running();
    // The supervisor re-creates its removed runDir (and serves its socket again) a second after
    // it notices; a `procreg status` process can take longer than that to start on a loaded
    // machine. So the commands run in this process here, ready before the runDir goes (the
    // binary's own handling of them is tested above).
    const { statusCommand, stopCommand } = await import('../../../src/shell/cli/control-commands.js');
    const inProcess = async (run: (io: CommandIO) => Promise<number>) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await run({ out: (t) => out.push(`${t}\n`), err: (t) => err.push(`${t}\n`) });
      return { code, stdout: out.join(''), stderr: err.join('') };
    };
    rmSync(runDir, { recursive: true });
    const status = await inProcess((io) => statusCommand({ config }, false, io));
    expect(status).toEqual({
      code: 1,
      stdout: '',
      stderr: `procreg status: procreg pid ${r.pid} still runs runDir ${runDir} but its control socket ${join(runDir, 'procreg.sock')} is gone\n`,
    });
    const stop = await inProcess((io) => stopCommand({ config }, io));
    expect(stop).toEqual({
      code: 0,
      stdout: `procreg stop: procreg pid ${r.pid} exited (its control socket ${join(runDir, 'procreg.sock')} is gone: it was sent SIGTERM, its identity checked)\n`,
      stderr: '',
    });
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);
  });

  it('part 4: reaches a supervisor whose config now has a typo or fails script security, or by --run-dir', async () => {
    const { dir, runDir, config, r } = await running();
    writeFileSync(
      config,
      `runDir: ./run\nservices:\n  web:\n    comand: [./unsafe.sh]\nchecks:\n  probe: { command: [${join(dir, 'unsafe.sh')}] }\n`,
    );
    writeFileSync(join(dir, 'unsafe.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'unsafe.sh'), 0o777);
    expect((await procreg('validate', config)).code).toBe(2);
    expect((await procreg('status', config)).code).toBe(0);
    expect(await procreg('stop', config)).toMatchObject({
      code: 0,
      stdout: `procreg stop: procreg pid ${r.pid} stopped every service and exited\n`,
    });
    expect(await r.exit).toBe(0);
    expect(await procreg('stop', '--run-dir', runDir)).toEqual({
      code: 3,
      stdout: '',
      stderr: none('stop', runDir),
    });
  });

  it('part 4: a procreg that exited but is not reaped yet (a zombie) counts as gone', async () => {
    // procreg's parent execs sleep, which never reaps it: once procreg exits, it stays a zombie.
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const parent = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" bin/procreg.js run "${config}" >"${join(dir, 'out.log')}" 2>&1 & exec sleep 300`,
      ],
      { stdio: 'ignore', detached: true }, // a group of its own: the cleanup kills procreg with it
    );
    children.push(parent);
    const pid = await waitFor('procreg under sh', () => {
      try {
        const kids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim();
        return kids ? Number(kids.split(' ')[0]) : undefined;
      } catch {
        return undefined;
      }
    });
    runs.track(pid);
    await waitFor('procreg running', () =>
      existsSync(join(dir, 'out.log')) &&
      readFileSync(join(dir, 'out.log'), 'utf8').includes('procreg running')
        ? true
        : undefined,
    );
    runs.track(await pidFileOf(runDir, 'web'));
    const t0 = Date.now();
    const stop = await procreg('stop', config);
    expect(stop).toEqual({
      code: 0,
      stdout: `procreg stop: procreg pid ${pid} stopped every service and exited\n`,
      stderr: '',
    });
    expect(readProcStat(pid)?.state).toBe('Z');
    expect(Date.now() - t0).toBeLessThan(10_000); // not the whole wait for an exit that already happened
  });

  it('part 4: status, reload and stop say when the supervisor does not answer in time, and signal nothing', async () => {
    const { config, r } = await running();
    process.kill(r.pid, 'SIGSTOP');
    try {
      for (const cmd of ['status', 'reload', 'stop']) {
        const res = await procreg(cmd, config, '--timeout', '300');
        expect(res.code).toBe(1);
        expect(res.stderr).toContain(
          `procreg ${cmd}: runDir ${join(config, '..', 'run')}: its lock is held by pid ${r.pid}`,
        );
        expect(res.stderr).toContain('did not answer on @procreg/run/');
        expect(res.stderr).toContain(`within 300 ms (pid ${r.pid} is in state T)`);
        expect(res.stderr).toContain('it is not asked anything, nor signalled');
      }
    } finally {
      process.kill(r.pid, 'SIGCONT');
    }
    expect((await procreg('status', config)).code).toBe(0); // nothing was signalled: it runs on
  });
});
