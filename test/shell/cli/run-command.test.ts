import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { procreg } from '../../support/cli.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();

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
        expect(json).toContainEqual(expect.objectContaining({ level: 40, stream: 'stderr', msg: 'oops' }));
      } else {
        expect(lines).toContainEqual(
          expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): talk: started, pid \d+$/),
        );
        expect(lines).toContainEqual(
          expect.stringMatching(new RegExp(`^\\[[\\d:.]+\\] INFO \\(${talk}\\): talk\\| hello$`)),
        );
        expect(lines).toContainEqual(expect.stringMatching(new RegExp(`WARN \\(${talk}\\): talk\\| oops$`)));
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

  it('refuses to start while another live procreg owns the runDir (exit 1), and starts over a dead one', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const first = start(dir, config);
    await pidOf(runDir, 'web');
    const second = start(dir, config);
    expect(await second.exit).toBe(1);
    expect(second.stderr()).toBe(
      `procreg: ${runDir} is in use by procreg pid ${first.pid} (${join(runDir, 'procreg.pid')}); stop it first\n`,
    );
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(first.pid);
    first.proc.kill('SIGKILL');
    await first.exit;

    const third = start(dir, config, '--log-format', 'json');
    await third.printed('replacing the PID file'); // logged once the PID file is ours
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(third.pid);
    expect(JSON.parse(third.output().split('\n')[0] as string)).toMatchObject({
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

  // BUG (src/shell/cli/run-command.ts:62): serveControl runs after Supervisor.open has started
  // every service. When it throws (here: <runDir>/procreg.sock is a directory), runCommand
  // rejects without stopping the supervisor: procreg prints the error, removes its signal
  // handlers (finally) and keeps running its services forever. A SIGTERM then kills procreg
  // with the default action and leaves the services orphaned. Expected: the services are
  // stopped and procreg exits (non-zero).
  it.fails('stops its services and exits when the control socket cannot be served', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(join(runDir, 'procreg.sock'), { recursive: true });
    const r = start(dir, writeConfig(dir));
    await r.printed('is not a socket');
    const web = (await logEvents(eventLog(runDir))).find(ofType('spawned', (e) => e.name === 'web'));
    const code = await Promise.race([
      r.exit,
      new Promise<'running'>((resolve) => setTimeout(resolve, 3000, 'running')),
    ]);
    expect(code).not.toBe('running');
    expect(code).not.toBe(0);
    expect(web && alive(web.pid)).toBe(false);
  });
});
