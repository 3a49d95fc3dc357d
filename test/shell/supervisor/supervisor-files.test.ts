// Where the supervisor writes: its runDir and event log checked before use, nothing written
// through a symlink inside the runDir, nothing but a regular file taken for its log.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { EventBody } from '../../../src/events/types.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { DIST, runModule, zeroDevice } from '../../support/child.js';
import { logEvents } from '../../support/procreg-run.js';
import { staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;
const silent = pino({ level: 'silent' });

const started = new Set<number>();
const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 3000))]);
  killAll(started);
  started.clear();
});

const sleeper = { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], stopTimeout: '2s' };

function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

/** Open a supervisor (stopped after the test), tracking what it starts. */
async function open(config: NormalizedConfig): Promise<Supervisor> {
  const sup = await Supervisor.open({ config, logger: silent });
  supervisors.push(sup);
  for (const p of sup.status().processes) started.add(p.pid);
  sup.events.subscribe((e) => {
    if (e.type === 'spawned') started.add(e.pid);
  });
  return sup;
}

/** What Supervisor.open says: 'opened', or the error's code and message. */
async function opening(config: NormalizedConfig): Promise<{ code?: string; message: string }> {
  try {
    await open(config);
    return { message: 'opened' };
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
}

/** A directory tree, as names and contents, to show nothing was read-and-rewritten or added. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    out[name] = st?.isFile() ? readFileSync(p, 'utf8') : st ? 'dir' : 'dangling';
  }
  return out;
}

const line = (body: EventBody, seq: number) => `${encodeEvent(stamp(body, seq, 1000 + seq, 1000 + seq))}\n`;

describe('the runDir and the event log are checked before anything in them is read or written', () => {
  describe.runIf(asRoot)('as root (keepalived CVE-2018-19046)', () => {
    it('refuses a runDir another user owns, naming it and why, and reads and writes nothing in it', async () => {
      const dir = tmp();
      const run = join(dir, 'run');
      mkdirSync(run, { mode: 0o700 });
      // A log with a torn tail: opening it for writing would move the tail aside.
      writeFileSync(join(run, 'events.jsonl'), `${line({ type: 'supervisor-stopped' }, 1)}{"v":2,"seq":2,`);
      chownSync(run, NOBODY, NOBODY);
      const before = contents(run);
      expect(await opening(normalized({ runDir: './run', services: { web: sleeper } }, dir))).toEqual({
        code: 'ERUNDIR',
        message: `runDir ${run}: ${run} is owned by uid 65534 (nobody), not root: that user could replace what procreg writes below it as root; refused (chown root it, or choose another directory)`,
      });
      expect(contents(run)).toEqual(before);
      expect(started.size).toBe(0);
    });

    it('refuses a runDir others may write, and one below a directory another user owns', async () => {
      const dir = tmp();
      mkdirSync(join(dir, 'open'));
      chmodSync(join(dir, 'open'), 0o777);
      expect(await opening(normalized({ runDir: './open', services: { web: sleeper } }, dir))).toMatchObject({
        code: 'ERUNDIR',
        message: expect.stringContaining(`${join(dir, 'open')} is writable by group and others (mode 0777)`),
      });
      mkdirSync(join(dir, 'theirs'));
      chownSync(join(dir, 'theirs'), NOBODY, NOBODY);
      expect(
        await opening(normalized({ runDir: './theirs/run', services: { web: sleeper } }, dir)),
      ).toMatchObject({
        code: 'ERUNDIR',
        message: expect.stringContaining(`${join(dir, 'theirs')} is owned by uid 65534 (nobody)`),
      });
      expect(existsSync(join(dir, 'theirs', 'run'))).toBe(false); // not even created
    });

    it('refuses an event log another user owns or others may write', async () => {
      const dir = tmp();
      const run = join(dir, 'run');
      mkdirSync(run, { mode: 0o700 });
      const log = join(run, 'events.jsonl');
      writeFileSync(log, line({ type: 'supervisor-stopped' }, 1));
      chownSync(log, NOBODY, NOBODY);
      const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
      expect(await opening(cfg)).toEqual({
        code: 'ERUNDIR',
        message: `event log ${log} is owned by uid 65534 (nobody), not root: that user could rewrite what procreg reads back; refused (chown root it, or move it aside)`,
      });
      chownSync(log, 0, 0);
      chmodSync(log, 0o666);
      expect(await opening(cfg)).toMatchObject({
        code: 'ERUNDIR',
        message: expect.stringContaining(`${log} is writable by group and others (mode 0666)`),
      });
    });
  });

  it('refuses a runDir that is a symlink unless the config says allowSymlinkedRunDir: true', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'real'), { mode: 0o700 });
    symlinkSync(join(dir, 'real'), join(dir, 'run'));
    const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
    expect(await opening(cfg)).toEqual({
      code: 'ERUNDIR',
      message: `runDir ${join(dir, 'run')}: ${join(dir, 'run')} is a symbolic link; refused (set allowSymlinkedRunDir: true to follow it, or name the real directory)`,
    });
    expect(readdirSync(join(dir, 'real'))).toEqual([]);
    // The key joins the config schema elsewhere; a config object may carry it already.
    const sup = await open({ ...cfg, allowSymlinkedRunDir: true } as NormalizedConfig);
    const pid = sup.status().services[0]?.pid;
    expect(readFileSync(join(dir, 'real', 'web.pid'), 'utf8')).toBe(`${pid}\n`);
    expect(readdirSync(join(dir, 'real')).sort()).toEqual(['events.jsonl', 'web.pid']);
  });
});

describe('nothing is written through a symlinked directory inside the runDir', () => {
  /** A runDir with `name` inside it a symlink to an outside directory (which must stay empty). */
  function plant(name: string): { dir: string; outside: string } {
    const dir = tmp();
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    symlinkSync(outside, join(dir, 'run', name));
    return { dir, outside };
  }
  const refusal = (dir: string, name: string) =>
    `${join(dir, 'run', name)} is a symbolic link; procreg follows none inside its runDir (replace it with a directory)`;

  it('the event log: opening is refused', async () => {
    const { dir, outside } = plant('logs');
    const cfg = normalized(
      { runDir: './run', eventLog: './run/logs/events.jsonl', services: { web: sleeper } },
      dir,
    );
    expect(await opening(cfg)).toEqual({
      code: 'ERUNDIR',
      message: `event log ${join(dir, 'run', 'logs', 'events.jsonl')}: ${refusal(dir, 'logs')}`,
    });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a PID file: its write fails with the reason, and the service runs on', async () => {
    const { dir, outside } = plant('pids');
    const cfg = normalized(
      { runDir: './run', services: { web: { ...sleeper, pidFile: 'pids/web.pid' } } },
      dir,
    );
    const sup = await open(cfg);
    const pid = sup.status().services[0]?.pid;
    expect(pid).toEqual(expect.any(Number));
    // The spawn and its PID file write happen inside open(), in the same turn: logged by now.
    expect(readdirSync(outside)).toEqual([]);
    const events = await logEvents(cfg.eventLog);
    expect(events.find((e) => e.type === 'pidfile-written')).toMatchObject({
      path: join(dir, 'run', 'pids', 'web.pid'),
      pid,
      error: `PID file ${join(dir, 'run', 'pids', 'web.pid')}: ${refusal(dir, 'pids')}`,
    });
  });

  it('an output file: the start fails with the reason, nothing is written through it', async () => {
    const { dir, outside } = plant('logs');
    const cfg = normalized(
      {
        runDir: './run',
        services: { web: { command: ['sh', '-c', 'echo hello'], stdout: 'logs/web.out', restart: 'never' } },
      },
      dir,
    );
    const sup = await open(cfg);
    expect(sup.status().services[0]).toMatchObject({
      state: 'stopped', // restart: never
      lastExit: {
        error: `output file ${join(dir, 'run', 'logs', 'web.out')}: ${refusal(dir, 'logs')}`,
      },
    });
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('the event log is a regular file or nothing: anything else is refused before it is read, without hanging', () => {
  /**
   * Supervisor.open in a child process (a blocking open(2) on a FIFO would freeze this one):
   * what it threw, and the runDir afterwards.
   */
  async function openWith(make: (log: string) => Promise<void> | void) {
    const dir = tmp();
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o700 });
    const log = join(run, 'events.jsonl');
    await make(log);
    const before = readdirSync(run).sort();
    const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
    const res = await runModule(`
      import { Supervisor } from ${JSON.stringify(join(DIST, 'index.js'))};
      try {
        const sup = await Supervisor.open({ config: ${JSON.stringify(cfg)} });
        await sup.stop();
        console.log(JSON.stringify({ opened: true }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message }));
      }
    `);
    expect(res.timedOut, `Supervisor.open did not return: ${res.stderr}`).toBe(false);
    expect(readdirSync(run).sort()).toEqual(before); // nothing left behind
    return { log, said: JSON.parse(res.stdout || '{}') as { code?: string; message?: string } };
  }
  const refusedAs = (log: string, kind: string) => ({
    code: 'ELOGNOTFILE',
    message: `event log ${log} is ${kind}, not a regular file; procreg reads and writes its log only as a regular file (remove it, or point eventLog elsewhere)`,
  });

  it('a FIFO', async () => {
    const { log, said } = await openWith((log) => void execFileSync('mkfifo', [log]));
    expect(said).toEqual(refusedAs(log, 'a FIFO'));
  });

  it('a character device (one that never ends, like /dev/zero)', async () => {
    if (!zeroDevice(join(tmp(), 'probe'))) return;
    const { log, said } = await openWith((log) => void zeroDevice(log));
    expect(said).toEqual(refusedAs(log, 'a character device'));
  });

  it('a socket', async () => {
    const { log, said } = await openWith((log) => staleSocket(log));
    expect(said).toEqual(refusedAs(log, 'a socket'));
  });

  it('a directory', async () => {
    const { log, said } = await openWith((log) => void mkdirSync(log));
    expect(said).toEqual(refusedAs(log, 'a directory'));
  });
});
