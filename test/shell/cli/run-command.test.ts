import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLog } from '../../../src/shell/event-log/reader.js';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { lockAddress, printableAddress } from '../../../src/shell/instance-lock.js';
import { procreg } from '../../support/cli.js';
import { spawnClosedStdout } from '../../support/closed-stdout.js';
import { writeLongLog } from '../../support/long-log.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
/** Event logs of procregs started other than by `runs` (under strace, with a closed stdout). */
const otherLogs = new Set<string>();
afterEach(async () => {
  // Whatever they started, group and all, whatever the test got to see.
  const pids: number[] = [];
  for (const log of otherLogs) {
    if (!existsSync(log)) continue;
    for await (const item of readLog(log))
      // damaged lines or not: every process it names
      if (item.kind === 'event' && (item.event.type === 'spawned' || item.event.type === 'check-started'))
        pids.push(item.event.pid);
  }
  otherLogs.clear();
  killAll(pids);
});
const { version: VERSION } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

/** A config in `dir` with `web` and `tree` (whose own child, a grandchild, writes its PID to grandchild.pid). */
function writeConfig(dir: string, extra = ''): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(
    path,
    `runDir: ./run
services:
  web:
    command: ${NODE_IDLE}
    stopTimeout: 2s
  tree:
    command: [sh, -c, "sleep 300 & echo $! > ${join(dir, 'grandchild.pid')}; wait"]
    stopTimeout: 2s
${extra}`,
  );
  return path;
}

function start(dir: string, config: string, ...args: string[]) {
  return runs.start(config, join(dir, 'run'), ...args);
}

async function pidOf(runDir: string, name: string, not?: number): Promise<number> {
  return runs.track(await pidFileOf(runDir, name, not));
}

/** No event tells when the shell has written its grandchild's PID: wait for the file. */
async function grandchildOf(dir: string): Promise<number> {
  const pid = await waitFor('the grandchild', () => {
    const f = join(dir, 'grandchild.pid');
    const t = existsSync(f) ? readFileSync(f, 'utf8') : '';
    return t.endsWith('\n') ? Number(t) : undefined;
  });
  return runs.track(pid);
}

/** Wait until the process catches SIGHUP, SIGINT and SIGTERM (bits 1, 2, 15 of SigCgt). */
async function caughtFromStart(pid: number): Promise<void> {
  const wanted = (1n << 0n) | (1n << 1n) | (1n << 14n);
  await waitFor(
    'the early signal catcher',
    () => {
      const m = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m && (BigInt(`0x${m[1]}`) & wanted) === wanted ? true : undefined;
    },
    10_000,
    1,
  );
}

const eventLog = (runDir: string) => join(runDir, 'events.jsonl');

/** What a second procreg run of `runDir` is told while procreg `pid` (of `config`) runs it. */
const inUse = (runDir: string, pid: number, config: string, phase = 'running') =>
  `procreg: runDir ${runDir} is in use by procreg pid ${pid} (version ${VERSION}, config ${config}, runDir ${runDir}, ${phase}) (lock ${printableAddress(lockAddress('run', runDir))}); stop it first\n`;

/** `p`, or a failure naming `what` once `ms` have passed: a hang fails the test instead of its timeout. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const typesIn = async (runDir: string) => (await logEvents(eventLog(runDir))).map((e) => e.type);

describe('procreg run', () => {
  it('logs JSON lines when stdout is not a terminal, pretty lines with --log-format pretty', async () => {
    const dir = tmp();
    const config = writeConfig(
      dir,
      `  talk:\n    command: [sh, -c, "echo hello; echo oops >&2; exec sleep 300"]\n    stopTimeout: 2s\n`,
    );
    for (const format of ['auto', 'pretty']) {
      const r = start(dir, config, '--log-format', format);
      const talk = await pidOf(join(dir, 'run'), 'talk');
      await r.printed('hello'); // stdout and stderr are read apart: wait for both
      await r.printed('oops');
      r.proc.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      const lines = r.output().trim().split('\n');
      if (format === 'auto') {
        const json = lines.map((l) => JSON.parse(l));
        expect(json).toContainEqual(
          expect.objectContaining({
            level: 30,
            service: 'talk',
            pid: talk,
            msg: `talk: started, pid ${talk}`,
          }),
        );
        expect(json).toContainEqual({
          level: 30,
          time: expect.any(Number),
          service: 'talk',
          pid: talk,
          stream: 'stdout',
          msg: 'hello',
        });
        // stderr is not a warning unless the service says so (stderrLevel, default info)
        expect(json).toContainEqual(expect.objectContaining({ level: 30, stream: 'stderr', msg: 'oops' }));
      } else {
        expect(lines).toContainEqual(
          expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): talk: started, pid \d+$/),
        );
        expect(lines).toContainEqual(
          expect.stringMatching(new RegExp(`^\\[[\\d:.]+\\] INFO \\(${talk}\\): talk\\| hello$`)),
        );
        expect(lines).toContainEqual(expect.stringMatching(new RegExp(`INFO \\(${talk}\\): talk\\| oops$`)));
        expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      }
    }
  });

  it('on SIGTERM stops every child and grandchild, removes the PID files and the socket, and exits 0', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const r = start(dir, writeConfig(dir));
    const web = await pidOf(runDir, 'web');
    const grandchild = await grandchildOf(dir);
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(r.pid);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false); // procreg reaped it before exiting
    await waitFor(`pid ${grandchild} gone`, () => (alive(grandchild) ? undefined : true), 5000);
    for (const f of ['web.pid', 'tree.pid', 'procreg.pid'])
      expect(readPidFile(join(runDir, f))).toBe('absent');
    expect(existsSync(join(runDir, 'procreg.sock'))).toBe(false);
    expect((await typesIn(runDir)).at(-1)).toBe('supervisor-stopped');
  });

  it('part 2: refuses to start while another live procreg owns the runDir (exit 2, naming it), and starts over a dead one', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const first = start(dir, config);
    await first.printed('procreg running');
    const second = start(dir, config);
    expect(await second.exit).toBe(2);
    expect(second.stderr()).toBe(inUse(runDir, first.pid, config));
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(first.pid);
    first.proc.kill('SIGKILL');
    await first.exit;

    const third = start(dir, config, '--log-format', 'json');
    await third.printed('replacing the PID file'); // logged once the PID file is ours
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(third.pid);
    const lines = third
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.find((l) => l.msg.startsWith('replacing'))).toMatchObject({
      level: 40,
      stalePid: first.pid,
      msg: 'replacing the PID file of a procreg that is not running',
    });
    third.proc.kill('SIGTERM');
    expect(await third.exit).toBe(0);
  });

  it('exits 2 listing the problems of an invalid config, and starts nothing', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(config, 'runDir: ./run\nservices:\n  web:\n    command: node\n');
    const r = start(dir, config);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(/services\.web\.command: must be a non-empty list of strings/);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('after a SIGKILL of procreg, the next run finds the orphans, stops them gracefully, then starts afresh', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const first = start(dir, config);
    const web = await pidOf(runDir, 'web');
    const grandchild = await grandchildOf(dir);
    first.proc.kill('SIGKILL');
    await first.exit;
    expect(alive(web)).toBe(true); // left behind by the crash

    const second = start(dir, config);
    await waitFor('the orphans killed', () => (!alive(web) && !alive(grandchild) ? true : undefined), 10_000);
    const fresh = await pidOf(runDir, 'web', web);
    expect(alive(fresh)).toBe(true);
    const log = await logEvents(eventLog(runDir));
    expect(log.filter((e) => e.type === 'orphan-found')).toHaveLength(2);
    expect(log.filter((e) => e.type === 'orphan-reaped')).toEqual([
      expect.objectContaining({ outcome: 'signalled' }),
      expect.objectContaining({ outcome: 'signalled' }),
    ]);
    // The new web was spawned only once the old one's whole group was gone.
    const gone = log.findIndex((e) => e.type === 'group-exited' && e.pid === web);
    const found = log.findIndex((e) => e.type === 'orphan-found');
    const respawn = log.findIndex((e, i) => i > found && e.type === 'spawned' && e.name === 'web');
    expect(gone).toBeGreaterThan(found);
    expect(respawn).toBeGreaterThan(gone);
    second.proc.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });

  it('survives signals from its first moment: SIGHUP during start-up is a reload, SIGTERM a clean stop', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const r = start(dir, writeConfig(dir));
    // From bin/procreg.js's first line on (no program can catch a signal before its own code
    // runs: until then the kernel's default applies), while modules still load.
    await caughtFromStart(r.pid);
    expect(existsSync(join(runDir, 'procreg.pid'))).toBe(false); // still starting up
    r.proc.kill('SIGHUP');
    const web = await pidOf(runDir, 'web');
    await logEvent(eventLog(runDir), ofType('reload-applied'), 'the early reload applied');
    expect(alive(r.pid)).toBe(true);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);

    const again = start(dir, writeConfig(dir));
    await caughtFromStart(again.pid);
    again.proc.kill('SIGTERM'); // stop requested before anything started
    expect(await again.exit).toBe(0);
    expect(readPidFile(join(runDir, 'web.pid'))).toBe('absent');
  });

  it('SIGHUP reloads remove and change services and checks: removed ones stop, changed ones restart, the rest stay', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = join(dir, 'procreg.yaml');
    const yaml = (services: Record<string, string>, checks: Record<string, string>) =>
      `runDir: ./run\nservices:\n${Object.entries(services)
        .map(([n, x]) => `  ${n}:\n    command: ${NODE_IDLE}\n    stopTimeout: 2s\n    env: { X: '${x}' }\n`)
        .join('')}checks:\n${Object.entries(checks)
        .map(([n, cmd]) => `  ${n}:\n    command: [sh, -c, '${cmd}']\n    interval: 100ms\n`)
        .join('')}`;
    writeFileSync(
      config,
      yaml({ keep: '1', change: '1', drop: '1' }, { c_keep: 'exit 0', c_change: 'exit 0', c_drop: 'exit 0' }),
    );
    const r = start(dir, config);
    await r.printed('procreg running'); // its control socket is served: status can ask
    const [keep, change, drop] = [
      await pidOf(runDir, 'keep'),
      await pidOf(runDir, 'change'),
      await pidOf(runDir, 'drop'),
    ];
    const checksOf = async () =>
      (
        JSON.parse((await procreg('status', config, '--json')).stdout).checks as {
          name: string;
          healthy: boolean | null;
        }[]
      ).map((c) => [c.name, c.healthy]);
    await waitFor('checks healthy', async () =>
      (await typesIn(runDir)).filter((t) => t === 'check-health-changed').length >= 3 ? true : undefined,
    );

    writeFileSync(
      config,
      yaml({ keep: '1', change: '2', add: '1' }, { c_keep: 'exit 0', c_change: 'exit 1', c_add: 'exit 0' }),
    );
    r.proc.kill('SIGHUP');
    const changed = await pidOf(runDir, 'change', change);
    const added = await pidOf(runDir, 'add');
    await waitFor('drop stopped', () => (alive(drop) ? undefined : true), 5000);
    // The kernel reports the exit a moment before procreg has handled it and removed the file.
    await waitFor(
      'drop.pid removed',
      () => (readPidFile(join(runDir, 'drop.pid')) === 'absent' ? true : undefined),
      5000,
    );
    expect(alive(change)).toBe(false);
    expect(alive(changed) && alive(added) && alive(keep)).toBe(true);
    expect(readPidFile(join(runDir, 'keep.pid'))).toBe(keep);
    const X = (pid: number) => /(?:^|\0)X=(\d)/.exec(readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1];
    expect([X(keep), X(changed)]).toEqual(['1', '2']); // the changed service runs its new definition
    // c_drop is gone, c_keep kept its verdict, c_change was judged anew by its new command.
    const want = JSON.stringify([
      ['c_add', true],
      ['c_change', false],
      ['c_keep', true],
    ]);
    await waitFor('the checks after the reload', async () =>
      JSON.stringify(await checksOf()) === want ? true : undefined,
    );
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('SIGHUP reloads: an added service starts, an unchanged one keeps its PID, a bad config changes nothing', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const r = start(dir, config);
    const web = await pidOf(runDir, 'web');
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n`);
    r.proc.kill('SIGHUP');
    const extra = await pidOf(runDir, 'extra');
    expect(alive(extra)).toBe(true);
    expect(readPidFile(join(runDir, 'web.pid'))).toBe(web);

    writeFileSync(config, 'services:\n  web:\n    restart: sometimes\n');
    r.proc.kill('SIGHUP');
    const failed = await logEvent(eventLog(runDir), ofType('reload-failed'), 'reload-failed');
    expect(failed.reason).toMatch(/services\.web\.restart: must be one of always \| on-failure \| never/);
    expect(alive(web) && alive(extra)).toBe(true);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(web) || alive(extra)).toBe(false);
  });

  it('part 5: stops its services and exits 1, saying why, when the control socket cannot be served', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(join(runDir, 'procreg.sock'), { recursive: true });
    const r = start(dir, writeConfig(dir));
    expect(await bounded(r.exit, 15_000, 'procreg to exit')).toBe(1);
    expect(r.stderr()).toBe(
      `procreg run: cannot serve the control socket ${join(runDir, 'procreg.sock')}: ${join(runDir, 'procreg.sock')} exists and is not a socket; refusing to replace it; every service and check was stopped\n`,
    );
    const log = await logEvents(eventLog(runDir));
    const web = log.find(ofType('spawned', (e) => e.name === 'web'));
    expect(web && alive(web.pid)).toBe(false);
    expect(log.at(-1)?.type).toBe('supervisor-stopped');
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe('absent');
  });
});

/** Whether `cmd` can be run here (strace and unshare are not everywhere CI runs). */
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Until `r` has either exited (its code) or is running (serving its control socket). */
const outcome = (r: ReturnType<typeof start>) =>
  Promise.race([
    r.exit.then((code) => ({ exited: code })),
    r.printed('procreg running', 20_000).then(() => 'running' as const),
  ]);

describe('procreg run: one supervisor per runDir, one writer per event log', () => {
  it('part 2: of two procreg run of one runDir started at once, exactly one runs; the other exits 2 naming it', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    for (let round = 0; round < 3; round++) {
      const a = start(dir, config);
      const b = start(dir, config);
      const [oa, ob] = await Promise.all([outcome(a), outcome(b)]);
      const [winner, loser, lost] = oa === 'running' ? [a, b, ob] : [b, a, oa];
      expect([oa, ob].filter((o) => o === 'running')).toHaveLength(1);
      expect(lost).toEqual({ exited: 2 });
      // The winner may still be starting up (replaying its log) when the loser asks who it is.
      expect([inUse(runDir, winner.pid, config, 'starting'), inUse(runDir, winner.pid, config)]).toContain(
        loser.stderr(),
      );
      expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(winner.pid);
      winner.proc.kill('SIGTERM');
      expect(await winner.exit).toBe(0);
    }
    // One writer: every event came from one instance at a time, in seq order, and replays clean.
    expect((await procreg('replay', eventLog(runDir), '--check')).code).toBe(0);
  });

  it('part 2: two configs with different runDirs but one eventLog cannot both write it (exit 2, naming the holder)', async () => {
    // An event log lies inside its runDir; runDirs may nest, so a's log can be b's too.
    const dir = tmp();
    const shared = join(dir, 'a', 'b', 'events.jsonl');
    const configA = join(dir, 'a.yaml');
    const configB = join(dir, 'b.yaml');
    writeFileSync(
      configA,
      `runDir: ./a\neventLog: ./a/b/events.jsonl\nservices:\n  web:\n    command: ${NODE_IDLE}\n`,
    );
    writeFileSync(configB, `runDir: ./a/b\nservices:\n  api:\n    command: ${NODE_IDLE}\n`);
    otherLogs.add(shared); // runs cleans up after <runDir>/events.jsonl only
    const a = runs.start(configA, join(dir, 'a'));
    await a.printed('procreg running');
    const b = runs.start(configB, join(dir, 'a', 'b'));
    expect(await b.exit).toBe(2);
    expect(b.stderr()).toBe(
      `procreg: event log ${shared} is written by procreg pid ${a.pid} (version ${VERSION}, config ${configA}, runDir ${join(dir, 'a')}, running) (lock ${printableAddress(lockAddress('log', shared))}); an event log has one writer: give this config its own eventLog (or runDir)\n`,
    );
    expect(readPidFile(join(dir, 'a', 'b', 'procreg.pid'))).toBe('absent');
    const log = await logEvents(shared);
    expect(log.filter((e) => e.type === 'supervisor-started')).toHaveLength(1);
    expect(log.some((e) => e.type === 'spawned' && e.name === 'api')).toBe(false);
    a.proc.kill('SIGTERM');
    expect(await a.exit).toBe(0);
  });

  it('part 2: the lock survives rm -rf of the runDir: a new procreg run of it is refused while the first runs', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const first = start(dir, config);
    await first.printed('procreg running');
    const web = await pidOf(runDir, 'web');
    rmSync(runDir, { recursive: true });
    const second = start(dir, config);
    expect(await second.exit).toBe(2);
    expect(second.stderr()).toBe(inUse(runDir, first.pid, config));
    expect(alive(web)).toBe(true);
    first.proc.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(alive(web)).toBe(false);
  });

  it('after rm -rf of its runDir, procreg re-creates it: procreg.pid, the control socket and a fresh log are back, status and stop work', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const r = start(dir, config);
    await r.printed('procreg running');
    const web = await pidOf(runDir, 'web');
    rmSync(runDir, { recursive: true });
    await r.printed('serving the control socket');
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(r.pid);
    const status = await procreg('status', config);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toContain(`web`);
    expect(status.stdout).toContain(String(web));
    const log = await logEvents(join(runDir, 'events.jsonl'));
    expect(log[0]).toMatchObject({ type: 'log-gap', reason: 'run-dir-removed' });
    expect(await procreg('stop', config)).toMatchObject({ code: 0 });
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, refuses a runDir another user could change (exit 2, naming it), writing nothing there',
    async () => {
      const dir = tmp();
      const runDir = join(dir, 'run');
      mkdirSync(runDir, { mode: 0o777 });
      chmodSync(runDir, 0o777); // past the umask
      const config = writeConfig(dir);
      const r = start(dir, config);
      expect(await r.exit).toBe(2);
      expect(r.stderr()).toMatch(new RegExp(`^procreg run: .*${runDir}.*writable`, 'm'));
      expect(r.stderr()).not.toMatch(/\n\s+at /); // no stack trace
      expect(readdirSync(runDir)).toEqual([]);
    },
  );

  it('part 3: starts although procreg.pid names a live process whose command line says procreg (a reused PID)', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(runDir);
    const other = spawn('sleep', ['300'], { argv0: 'procreg', stdio: 'ignore' });
    const otherPid = runs.track(other.pid as number);
    expect(readFileSync(`/proc/${otherPid}/cmdline`, 'latin1')).toMatch(/^procreg\0/);
    writeFileSync(join(runDir, 'procreg.pid'), `${otherPid}\n`);
    const r = start(dir, writeConfig(dir));
    await r.printed('procreg running');
    expect(r.output()).toContain(`"stalePid":${otherPid}`);
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(r.pid);
    expect(alive(otherPid)).toBe(true); // never signalled
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });
});

describe('procreg run: stopping', () => {
  it('part 4: an idle connection to procreg.sock does not keep procreg alive once it stopped everything', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const r = start(dir, writeConfig(dir));
    await r.printed('procreg running');
    const conn = createConnection(join(runDir, 'procreg.sock'));
    const hello = new Promise<string>((resolve) => conn.once('data', (d) => resolve(String(d))));
    const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
    conn.on('error', () => {});
    try {
      expect(JSON.parse(await hello)).toMatchObject({ ok: true, hello: { pid: r.pid } });
      r.proc.kill('SIGTERM');
      expect(await bounded(r.exit, 15_000, 'procreg to exit with a client connected')).toBe(0);
      await bounded(closed, 5000, 'the server to close the idle connection');
      expect(r.stderr()).toBe(''); // not the "handles still open" safety net: the connection was closed
    } finally {
      conn.destroy();
    }
  });

  it('part 1: keeps supervising with a closed stdout (procreg run ... | head -1), and stops cleanly', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    otherLogs.add(eventLog(runDir));
    const run = spawnClosedStdout(dir, 'run', writeConfig(dir));
    runs.track(run.proc.pid as number);
    const web = await pidOf(runDir, 'web');
    const restarted = logEvent(
      eventLog(runDir),
      ofType('spawned', (e) => e.name === 'web' && e.pid !== web),
      'web restarted',
    );
    process.kill(web, 'SIGKILL');
    await restarted;
    run.proc.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null, stderr: '' });
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe('absent');
  });
});

describe('procreg run: signals during start-up end it in bounded time, with what it started stopped', () => {
  it('part 5: SIGTERM while a log of 1M events is replayed abandons the replay: nothing started, nothing written', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(runDir);
    writeLongLog(eventLog(runDir), 1_000_000);
    const before = statSync(eventLog(runDir)).size;
    const r = start(dir, writeConfig(dir));
    await r.printed('replaying event log');
    const t0 = Date.now();
    r.proc.kill('SIGTERM');
    expect(await bounded(r.exit, 10_000, 'procreg to exit')).toBe(0);
    const took = Date.now() - t0;
    expect(r.output()).toContain('procreg stopped during start-up (SIGTERM, while replaying');
    expect(statSync(eventLog(runDir)).size).toBe(before); // no supervisor-started, no spawn
    expect(readPidFile(join(runDir, 'web.pid'))).toBe('absent');
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe('absent');
    expect(took).toBeLessThan(5000); // measured: about 60 ms; the whole replay takes over a second
  });

  it('part 5: refuses a config that is a FIFO (exit 2) rather than block on it, deaf to every signal', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    execFileSync('mkfifo', [config]);
    const r = start(dir, config);
    expect(await bounded(r.exit, 10_000, 'procreg to exit')).toBe(2);
    expect(r.stderr()).toBe(`procreg run: ${config}: not a regular file; refusing to read it\n`);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it.runIf(has('strace'))(
    'part 5: SIGTERM while the config is being read (its open held up 1.5 s by strace) ends procreg, nothing started',
    async () => {
      const dir = tmp();
      const runDir = join(dir, 'run');
      const config = writeConfig(dir);
      const t = traced(dir, config);
      await t.printed('procreg starting'); // logged just before the config is read
      const t0 = Date.now();
      process.kill(await t.procreg, 'SIGTERM');
      expect(await bounded(t.exit, 15_000, 'procreg to exit')).toBe(0);
      expect(Date.now() - t0).toBeLessThan(1500 + 5000);
      // The signal is handled once the read returns, or at the latest between the replay's batches.
      expect(t.output()).toMatch(
        /procreg stopped during start-up \(SIGTERM, (after reading the config|after taking the runDir lock|while replaying [^)]*)\): nothing was started/,
      );
      expect(existsSync(eventLog(runDir))).toBe(false); // nothing was written either
    },
  );

  it.runIf(has('strace'))(
    'part 5: SIGTERM while a reload is loading (its config open held up 1.5 s) ends procreg once it is loaded, everything stopped',
    async () => {
      const dir = tmp();
      const runDir = join(dir, 'run');
      const config = writeConfig(dir);
      const t = traced(dir, config);
      await t.printed('procreg running');
      const pid = await t.procreg;
      const web = await pidOf(runDir, 'web');
      const requested = logEvent(eventLog(runDir), ofType('reload-requested'), 'the reload requested');
      process.kill(pid, 'SIGHUP');
      await requested; // logged before the config is read: the read is now held up
      const t0 = Date.now();
      process.kill(pid, 'SIGTERM');
      expect(await bounded(t.exit, 20_000, 'procreg to exit')).toBe(0);
      expect(Date.now() - t0).toBeLessThan(1500 + 2000 + 5000); // the held-up read, web's stopTimeout, slack
      const types = await typesIn(runDir);
      expect(types.indexOf('reload-applied')).toBeLessThan(types.indexOf('supervisor-stopping'));
      expect(types.at(-1)).toBe('supervisor-stopped');
      expect(alive(web)).toBe(false);
    },
  );
});

/**
 * `procreg run <config>` under strace, which holds up every open(2) of the config file by
 * 1.5 s (-P: only that path is traced). Killed with its services after the test.
 */
function traced(dir: string, config: string) {
  otherLogs.add(join(dir, 'run', 'events.jsonl'));
  const proc = spawn(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      '/dev/null',
      '-P',
      config,
      '-e',
      'trace=openat',
      '-e',
      'inject=openat:delay_exit=1500000',
    ].concat([process.execPath, join(process.cwd(), 'bin', 'procreg.js'), 'run', config]),
    // Its own process group, procreg in it: the cleanup's SIGKILL to the group reaches both,
    // also when the test fails before it knew procreg's PID.
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  runs.track(proc.pid as number);
  let out = '';
  const seen: (() => void)[] = [];
  for (const s of [proc.stdout, proc.stderr])
    s?.on('data', (d) => {
      out += String(d);
      for (const w of seen.splice(0)) w();
    });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  // strace's child that runs node is procreg (strace forks others to probe ptrace, and its
  // child is strace itself until its exec): signals go to it, not to strace.
  const procreg = waitFor('procreg under strace', () => {
    try {
      for (const kid of readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(' '))
        if (kid && readlinkSync(`/proc/${kid}/exe`) === realpathSync(process.execPath))
          return runs.track(Number(kid));
    } catch {
      // gone meanwhile
    }
    return undefined;
  });
  const printed = (text: string) =>
    bounded(
      new Promise<void>((resolve) => {
        const check = () => (out.includes(text) ? resolve() : seen.push(check));
        check();
      }),
      20_000,
      JSON.stringify(text),
    );
  return { proc, procreg, exit, printed, output: () => out };
}

describe('procreg run: its own output never stalls supervision', () => {
  it('part 2: with stdout on a FIFO nobody reads, a crashing service is restarted on time and status answers; the drop is said once it drains', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    otherLogs.add(eventLog(runDir));
    // A chatty service fills the FIFO (64 KiB) and procreg's queue within moments.
    const config = writeConfig(
      dir,
      `  chatty:
    command: [${JSON.stringify(process.execPath)}, -e, "setInterval(() => { for (let i = 0; i < 2000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100)) }, 50)"]
  crash:
    command: [sh, -c, "sleep 0.3; exit 1"]
    backoff: { initial: 50ms }
    maxRestarts: { count: 1000, within: 1m }
`,
    );
    const fifo = join(dir, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // held, never read
    const writer = openSync(fifo, constants.O_WRONLY);
    let readerOpen = true;
    let proc: ReturnType<typeof spawn>;
    try {
      proc = spawn(
        process.execPath,
        [join(process.cwd(), 'bin', 'procreg.js'), 'run', config, '--log-format', 'json'],
        {
          stdio: ['ignore', writer, 'pipe'],
        },
      );
    } finally {
      closeSync(writer);
    }
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | string | null>((resolve) =>
      proc.on('close', (code, sig) => resolve(code ?? sig)),
    );
    runs.track(proc.pid as number);
    try {
      // Well past the point where the FIFO is full: restarts go on at their pace.
      const spawns = async () =>
        existsSync(eventLog(runDir))
          ? (await logEvents(eventLog(runDir))).filter((e) => e.type === 'spawned' && e.name === 'crash')
              .length
          : 0;
      await waitFor('crash started', async () => ((await spawns()) >= 1 ? true : undefined), 10_000);
      const t0 = Date.now();
      const before = await spawns();
      await waitFor(
        'crash restarted 5 more times',
        async () => ((await spawns()) >= before + 5 ? true : undefined),
        10_000,
      );
      // Each incarnation lives 0.3 s, then 50-100 ms of backoff: 5 take about 2 s, not 7.
      expect(Date.now() - t0).toBeLessThan(5000);
      const status = await procreg('status', config, '--timeout', '3000');
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('crash');

      // Now read: what was dropped is said in procreg's log and in the event log.
      const seen = await new Promise<string>((resolve, reject) => {
        const stream = new Socket({ fd: reader, readable: true, writable: false });
        readerOpen = false; // the stream closes it at the end
        let text = '';
        const timer = setTimeout(() => reject(new Error('no drop notice within 10 s')), 10_000);
        stream.on('data', (d) => {
          text += String(d);
          if (text.includes('dropped since')) {
            clearTimeout(timer);
            resolve(text);
            text = ''; // reading on to the end, as a reader that caught up would
          }
        });
      });
      expect(seen).toMatch(/procreg's own log: \d+ line\(s\) \(\d+ bytes\) dropped since/);
      const dropped = (await logEvents(eventLog(runDir))).filter((e) => e.type === 'output-dropped');
      expect(dropped[0]).toMatchObject({ output: 'procreg' });
      expect((dropped[0] as { lines: number }).lines).toBeGreaterThan(0);
      proc.kill('SIGTERM');
      expect({ exit: await bounded(exited, 15_000, 'procreg to exit'), stderr }).toEqual({
        exit: 0,
        stderr: '',
      });
    } finally {
      if (readerOpen) closeSync(reader);
      proc.kill('SIGKILL'); // a test that failed: its children go in afterEach
    }
  }, 60_000);
});

describe('procreg reload: only what changed, and --services', () => {
  it('part 5: a new stopTimeout or backoff applies in place (same PID); --services sends reloadSignal; a new command restarts', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const path = join(dir, 'procreg.yaml');
    const write = (extra: string, command = 'trap "echo reloaded" HUP; while :; do sleep 0.1; done') =>
      writeFileSync(
        path,
        `runDir: ./run
services:
  web:
    command: [sh, -c, '${command}']
    reloadSignal: SIGHUP
${extra}`,
      );
    write('    stopTimeout: 2s\n');
    const r = start(dir, path);
    const web = await pidOf(runDir, 'web');

    write('    stopTimeout: 7s\n    backoff: { initial: 1s, max: 1m }\n');
    const inPlace = await procreg('reload', path);
    expect(inPlace).toMatchObject({ code: 0, stdout: 'procreg reload: generation 2 applied\n' });
    const applied = await logEvent(
      eventLog(runDir),
      ofType('reload-applied', (e) => e.gen === 2),
      'gen 2',
    );
    expect(applied.services).toMatchObject({ changed: ['web'], inPlace: ['web'] });
    expect(readPidFile(join(runDir, 'web.pid'))).toBe(web);

    const signalled = await procreg('reload', path, '--services', 'web');
    expect(signalled).toMatchObject({
      code: 0,
      stdout: 'procreg reload: generation 3 applied; reloadSignal asked for: web\n',
    });
    await logEvent(
      eventLog(runDir),
      ofType('reload-signalled', (e) => e.pid === web),
      'web signalled',
    );
    await r.printed('reloaded'); // the service's own output: it got SIGHUP and lives on
    expect(alive(web)).toBe(true);
    expect(readPidFile(join(runDir, 'web.pid'))).toBe(web);

    const unknown = await procreg('reload', path, '--services', 'web,nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      `--services nope: is not a service of ${path} (services with a reloadSignal: web)`,
    );

    write('    stopTimeout: 7s\n', 'while :; do sleep 0.1; done');
    expect((await procreg('reload', path)).code).toBe(0);
    expect(await pidOf(runDir, 'web', web)).not.toBe(web);
  }, 60_000);
});

describe('procreg logs: service log files procreg keeps', () => {
  it('part 2: writes output lines to the log file, rotates past maxSize keeping `keep`, and `procreg logs` reads and follows them', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const path = join(dir, 'procreg.yaml');
    writeFileSync(
      path,
      `runDir: ./run
services:
  talk:
    command: [sh, -c, 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "line $i of the talk service"; done; echo oops >&2; exec sleep 300']
    log: { maxSize: 1kB, keep: 2 }
  tick:
    command: [sh, -c, 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done']
    log: true
`,
    );
    const r = start(dir, path);
    await pidOf(runDir, 'talk');
    const file = join(runDir, 'logs', 'talk.log');
    await waitFor('the last line in the log file', () =>
      existsSync(file) && readFileSync(file, 'utf8').includes('stderr: oops') ? true : undefined,
    );
    // Rotated: the live file and two older ones, each at most 1 kB; older ones deleted.
    expect(readdirSync(join(runDir, 'logs')).sort()).toEqual([
      'talk.log',
      'talk.log.1',
      'talk.log.2',
      'tick.log',
    ]);
    for (const f of ['talk.log', 'talk.log.1', 'talk.log.2'])
      expect(statSync(join(runDir, 'logs', f)).size).toBeLessThanOrEqual(1024);
    expect(readFileSync(file, 'utf8')).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z \d+ stdout: line \d+ of the talk service$/m,
    );
    // Not in procreg's own log.
    expect(r.output()).not.toContain('of the talk service');

    const last = await procreg('logs', path, 'talk', '-n', '3');
    expect(last.code).toBe(0);
    expect(
      last.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ \d+ /, '')),
    ).toEqual([
      'stdout: line 199 of the talk service',
      'stdout: line 200 of the talk service',
      'stderr: oops',
    ]);
    // Lines reach back into the rotated files.
    const many = await procreg('logs', path, 'talk', '-n', '25');
    expect(many.stdout.trim().split('\n')).toHaveLength(25);

    const f = spawn(
      process.execPath,
      [join(process.cwd(), 'bin', 'procreg.js'), 'logs', path, 'tick', '-f', '-n', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      f.stdout.on('data', (d) => (out += String(d)));
      await waitFor('two followed lines', () =>
        out.split('\n').filter((l) => l.includes('stdout: tick')).length >= 2 ? true : undefined,
      );
    } finally {
      f.kill('SIGKILL');
    }

    const none = await procreg('logs', path, 'ghost');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('has no service ghost (its services: talk, tick)');
  }, 60_000);
});
