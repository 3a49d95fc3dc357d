import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStat } from '../src/shell/proc/proc-stat.js';
import { procreg } from './support/cli.js';
import { useTmpDir } from './support/tmp.js';
import { killAll, waitFor } from './support/wait.js';

const tmp = useTmpDir();
const started: ChildProcess[] = [];
afterEach(() => {
  for (const u of started.splice(0)) {
    killAll(childrenOf(u.pid as number));
    u.kill('SIGKILL');
  }
});

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => readProcStat(pid)?.ppid === ppid);
}

/** `Key=Value` lines of a unit file (the last one wins, as systemd reads them). */
function unitKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1] as string, m[2] as string);
  }
  return keys;
}

const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
const unshareWorks =
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

describe('examples/procreg.service', () => {
  const unit = readFileSync('examples/procreg.service', 'utf8');
  const keys = unitKeys(unit);

  it('runs procreg in the foreground, reloads with SIGHUP, and lets procreg stop its own children', () => {
    expect(keys.get('Type')).toBe('simple');
    expect(keys.get('ExecStart')).toMatch(/procreg\.js run \S+\.yaml/);
    expect(keys.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(keys.get('KillMode')).toBe('mixed');
    expect(keys.get('KillSignal')).toBe('SIGTERM');
    expect(keys.get('TimeoutStopSec')).toMatch(/^\d+s$/);
  });

  it.skipIf(!hasAnalyze)(
    'is a unit systemd accepts (systemd-analyze verify, with this machine’s paths)',
    () => {
      const dir = tmp();
      const path = join(dir, 'procreg-app.service');
      writeFileSync(
        path,
        unit
          .replace('/usr/bin/node', process.execPath)
          .replace('/srv/app/node_modules/procreg/bin/procreg.js', join(process.cwd(), 'bin', 'procreg.js'))
          .replace('WorkingDirectory=/srv/app', `WorkingDirectory=${dir}`),
      );
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 20_000 });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );
});

describe('examples/Dockerfile and container.yaml', () => {
  it('starts procreg itself (exec form, no shell) on a config that validates', async () => {
    const docker = readFileSync('examples/Dockerfile', 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(docker)?.[1] ?? 'null') as string[];
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(docker)?.[1] ?? 'null') as string[];
    expect(entry).toEqual(['node', 'bin/procreg.js', 'run']);
    expect(cmd[0]).toBe('examples/container.yaml');
    expect(await procreg('validate', 'examples/container.yaml')).toMatchObject({ code: 0 });
    expect(readFileSync('examples/compose.yaml', 'utf8')).toMatch(/^\s+init: false/m);
  });

  it.skipIf(!unshareWorks)(
    'runs as PID 1 of its own PID namespace: the services start, docker stop (SIGTERM) ends it with exit 0',
    async () => {
      const dir = tmp();
      for (const f of ['web.js', 'flaky.js', 'health.js']) copyFileSync(join('examples', f), join(dir, f));
      const port = 20_000 + (process.pid % 20_000);
      writeFileSync(
        join(dir, 'container.yaml'),
        readFileSync('examples/container.yaml', 'utf8')
          .replace('runDir: /run/procreg', 'runDir: ./run')
          .replace("PORT: '18080'", `PORT: '${port}'`)
          .replace("health.js, '18080'", `health.js, '${port}'`),
      );
      const u = spawn(
        'unshare',
        [
          '--pid',
          '--fork',
          '--mount-proc',
          process.execPath,
          join(process.cwd(), 'bin', 'procreg.js'),
          'run',
          'container.yaml',
          '--log-format',
          'json',
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.push(u);
      let out = '';
      u.stdout?.on('data', (d) => (out += String(d)));
      u.stderr?.on('data', (d) => (out += String(d)));
      const exit = new Promise<number | null>((resolve) => u.on('exit', (code) => resolve(code)));
      const pid1 = await waitFor('procreg inside the namespace', () => childrenOf(u.pid as number)[0]);
      // worker waits for web to be healthy: its start proves web and the check ran.
      await waitFor(
        'worker started',
        () => (/"service":"worker","pid":\d+/.test(out) ? true : undefined),
        15_000,
      );
      expect(out).toContain('procreg runs as PID 1');
      process.kill(pid1, 'SIGTERM');
      expect(await exit).toBe(0);
      expect(out).toContain('procreg stopped: every service and check is gone');
    },
    30_000,
  );
});
