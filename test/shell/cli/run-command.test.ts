import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { procreg } from '../../support/cli.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const procs: ChildProcess[] = [];
const pids = new Set<number>();
const runDirs: string[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  // Whatever the test got to see, the log knows every process procreg started.
  for (const dir of runDirs.splice(0)) {
    const log = join(dir, 'events.jsonl');
    if (!existsSync(log)) continue;
    for (const m of readFileSync(log, 'utf8').matchAll(/"type":"(?:spawned|check-started)".*?"pid":(\d+)/g))
      pids.add(Number(m[1]));
  }
  killAll(pids);
  pids.clear();
});

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

function writeConfig(dir: string, extra = ''): string {
  const path = join(dir, 'procreg.yaml');
  if (!runDirs.includes(join(dir, 'run'))) runDirs.push(join(dir, 'run'));
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

function run(
  config: string,
  ...args: string[]
): { proc: ChildProcess; exit: Promise<number | null>; output: () => string } {
  const proc = spawn(process.execPath, ['bin/procreg.js', 'run', config, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exit, output: () => out };
}

async function pidOf(runDir: string, name: string, not?: number): Promise<number> {
  const pid = await waitFor(`${name}.pid`, () => {
    const p = readPidFile(join(runDir, `${name}.pid`));
    return typeof p === 'number' && p !== not ? p : undefined;
  });
  pids.add(pid);
  return pid;
}

async function grandchildOf(dir: string): Promise<number> {
  const pid = await waitFor('the grandchild', () => {
    const f = join(dir, 'grandchild.pid');
    const t = existsSync(f) ? readFileSync(f, 'utf8') : '';
    return t.endsWith('\n') ? Number(t) : undefined;
  });
  pids.add(pid);
  return pid;
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

function logTypes(runDir: string): string[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).type as string);
}

describe('procreg run', () => {
  it('logs JSON lines when stdout is not a terminal, pretty lines with --log-format pretty', async () => {
    const dir = tmp();
    const config = writeConfig(
      dir,
      `  talk:\n    command: [sh, -c, "echo hello; echo oops >&2; exec sleep 300"]\n    stopTimeout: 2s\n`,
    );
    for (const format of ['auto', 'pretty']) {
      const r = run(config, '--log-format', format);
      const talk = await pidOf(join(dir, 'run'), 'talk');
      await waitFor('the child output', () => (r.output().includes('oops') ? true : undefined));
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

  it('on SIGTERM stops every child and grandchild, removes the PID files, and exits 0', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const r = run(writeConfig(dir));
    const web = await pidOf(runDir, 'web');
    const grandchild = await grandchildOf(dir);
    expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(r.proc.pid);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    for (const pid of [web, grandchild])
      await waitFor(`pid ${pid} gone`, () => (alive(pid) ? undefined : true), 5000);
    for (const f of ['web.pid', 'tree.pid', 'procreg.pid'])
      expect(readPidFile(join(runDir, f))).toBe('absent');
    expect(logTypes(runDir).at(-1)).toBe('supervisor-stopped');
  });

  it('after a SIGKILL of procreg, the next run finds the orphans, kills them, and says so', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const first = run(config);
    const web = await pidOf(runDir, 'web');
    const grandchild = await grandchildOf(dir);
    first.proc.kill('SIGKILL');
    await first.exit;
    expect(alive(web)).toBe(true); // left behind by the crash

    const second = run(config);
    await waitFor('the orphans killed', () => (!alive(web) && !alive(grandchild) ? true : undefined), 10_000);
    const fresh = await pidOf(runDir, 'web', web);
    expect(alive(fresh)).toBe(true);
    const types = logTypes(runDir);
    expect(types.filter((t) => t === 'orphan-found').length).toBe(2);
    const reaped = readFileSync(join(runDir, 'events.jsonl'), 'utf8').match(
      /"type":"orphan-reaped","pid":\d+,"outcome":"killed"/g,
    );
    expect(reaped?.length).toBe(2);
    second.proc.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });

  it('survives signals from its first moment: SIGHUP during start-up is a reload, SIGTERM a clean stop', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const r = run(writeConfig(dir));
    // From bin/procreg.js's first line on (no program can catch a signal before its own code
    // runs: until then the kernel's default applies), while modules still load.
    await caughtFromStart(r.proc.pid as number);
    expect(existsSync(join(runDir, 'procreg.pid'))).toBe(false); // still starting up
    r.proc.kill('SIGHUP');
    const web = await pidOf(runDir, 'web');
    await waitFor('the early reload applied', () =>
      logTypes(runDir).includes('reload-applied') ? true : undefined,
    );
    expect(alive(r.proc.pid as number)).toBe(true);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);

    const again = run(writeConfig(dir));
    await caughtFromStart(again.proc.pid as number);
    again.proc.kill('SIGTERM'); // stop requested before anything started
    expect(await again.exit).toBe(0);
    expect(readPidFile(join(runDir, 'web.pid'))).toBe('absent');
  });

  it('SIGHUP reloads remove and change services and checks: removed ones stop, changed ones restart, the rest stay', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    runDirs.push(runDir);
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
    const r = run(config);
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
    await waitFor('checks healthy', () =>
      logTypes(runDir).filter((t) => t === 'check-health-changed').length >= 3 ? true : undefined,
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
    const r = run(config);
    const web = await pidOf(runDir, 'web');
    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n`);
    r.proc.kill('SIGHUP');
    const extra = await pidOf(runDir, 'extra');
    expect(alive(extra)).toBe(true);
    expect(readPidFile(join(runDir, 'web.pid'))).toBe(web);

    writeFileSync(config, 'services:\n  web:\n    restart: sometimes\n');
    r.proc.kill('SIGHUP');
    await waitFor('reload-failed', () => (logTypes(runDir).includes('reload-failed') ? true : undefined));
    expect(alive(web) && alive(extra)).toBe(true);
    expect(readFileSync(join(runDir, 'events.jsonl'), 'utf8')).toMatch(
      /"type":"reload-failed","reason":".*services\.web\.restart: must be one of always \| on-failure \| never/,
    );
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(web) || alive(extra)).toBe(false);
  });

  it('answers status over its socket, reloads and stops on command, and shrugs off a malformed request', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const r = run(config);
    const web = await pidOf(runDir, 'web');
    await grandchildOf(dir);

    const status = await procreg('status', config, '--json');
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout);
    expect(view).toMatchObject({
      generation: 1,
      services: expect.arrayContaining([
        expect.objectContaining({ name: 'web', state: 'running', pid: web, restarts: 0 }),
      ]),
    });
    expect(view.processes.map((p: { pid: number }) => p.pid)).toEqual(
      [...view.processes.map((p: { pid: number }) => p.pid)].sort((a, b) => a - b),
    );
    expect(statSync(join(runDir, 'procreg.sock')).mode & 0o777).toBe(0o600);
    const text = (await procreg('status', config)).stdout;
    expect(text).toMatch(/SERVICE\s+STATE\s+PID\s+GEN\s+INC\s+UPTIME\s+RESTARTS\s+LAST EXIT/);
    // web: running, its PID, generation 1, incarnation 1, up for some milliseconds or seconds, no restarts
    expect(text).toMatch(new RegExp(`\\nweb\\s+running\\s+${web}\\s+1\\s+1\\s+\\d+(ms|\\.\\ds)\\s+0\\s+-`));

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

    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n`);
    const reload = await procreg('reload', config);
    expect(reload).toMatchObject({ code: 0, stdout: 'procreg reload: generation 2 applied\n' });
    await pidOf(runDir, 'extra');

    writeConfig(dir, `  extra:\n    command: ${NODE_IDLE}\n    restart: sometimes\n`);
    const refused = await procreg('reload', config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/services\.extra\.restart: must be one of always \| on-failure \| never/);
    expect(refused.stderr).toMatch(/the running supervisor was not asked to reload and keeps its generation/);
    const statusBad = await procreg('status', config); // reading the runDir needs a valid config too
    expect(statusBad.code).toBe(2);
    expect(statusBad.stderr).toMatch(/services\.extra\.restart/);
    expect(alive(web)).toBe(true);

    writeConfig(dir);
    const stop = await procreg('stop', config);
    expect(stop.code).toBe(0);
    expect(await r.exit).toBe(0);
    expect(alive(web)).toBe(false);
    const after = await procreg('status', config);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no procreg is running here/);
  });
});
