import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg } from './support/cli.js';
import { ofType } from './support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from './support/procreg-run.js';
import { useTmpDir } from './support/tmp.js';

const tmp = useTmpDir();
const runs = useProcregRun();

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const installed =
  has('nginx') &&
  has('curl') &&
  has('pg_isready') &&
  has('/usr/lib/postgresql/15/bin/postgres') &&
  has('setpriv') &&
  has('runuser');
const root = process.getuid?.() === 0;

/** The real uid of a process, from /proc. */
const uidOf = (pid: number) =>
  Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const uidOfUser = (name: string) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());

/**
 * The example as a user has it: daemons.yaml beside daemons/, in a directory www-data and
 * postgres may enter. The tests run from checkouts that may be private (CI's mktemp -d is
 * 0700), where neither could read its own config: a copy outside it, mode 0755.
 */
function exampleCopy(mode = 0o755): string {
  const dir = tmp();
  chmodSync(dir, mode);
  cpSync('examples/daemons.yaml', join(dir, 'daemons.yaml'));
  cpSync('examples/daemons', join(dir, 'daemons'), { recursive: true });
  return dir;
}

describe.skipIf(!installed || !root)('examples/daemons.yaml: nginx and PostgreSQL side by side', () => {
  it('runs nginx as www-data and PostgreSQL as postgres: curl gets its page, pg_isready is healthy, nginx reloads by SIGHUP, postgres stops by SIGINT', async () => {
    const dir = exampleCopy();
    execFileSync(join(dir, 'daemons', 'prepare.sh'), { stdio: 'pipe' }); // once: state dirs, initdb
    const config = join(dir, 'daemons.yaml');
    const runDir = join(dir, 'run-daemons');
    const events = join(runDir, 'events.jsonl');
    const r = runs.start(config, runDir);
    const nginx = runs.track(await pidFileOf(runDir, 'nginx', undefined, 30_000));
    const postgres = runs.track(await pidFileOf(runDir, 'postgres', undefined, 30_000));
    for (const check of ['nginx_up', 'pg_ready'])
      await logEvent(
        events,
        ofType('check-health-changed', (e) => e.name === check && e.healthy),
        `${check} healthy`,
        0,
        60_000,
      );

    // procreg's own user support: the processes it started (the masters) run as those users.
    expect(uidOf(nginx)).toBe(uidOfUser('www-data'));
    expect(uidOf(postgres)).toBe(uidOfUser('postgres'));
    const worker = Number(
      execFileSync('pgrep', ['-P', String(nginx)], { encoding: 'utf8' })
        .trim()
        .split('\n')[0],
    );
    expect(uidOf(worker)).toBe(uidOfUser('www-data'));

    // nginx's access log goes to /dev/stdout: a real pipe, its lines in procreg's log.
    const page = execFileSync('curl', ['-sf', 'http://127.0.0.1:18081/from-the-test'], { encoding: 'utf8' });
    expect(page).toBe('hello from nginx under procreg\n');
    await r.printed('GET /from-the-test HTTP/1.1'); // JSON lines: the quotes are escaped

    // procreg reload --services nginx: SIGHUP to nginx, which reconfigures and lives on.
    const reload = await procreg('reload', config, '--services', 'nginx');
    expect(reload).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('reloadSignal asked for: nginx'),
    });
    await logEvent(
      events,
      ofType('reload-signalled', (e) => e.pid === nginx && e.signal === 'SIGHUP'),
      'nginx signalled',
    );
    await r.printed('reconfiguring');
    expect(readFileSync(join(runDir, 'nginx.pid'), 'utf8')).toBe(`${nginx}\n`);

    // PostgreSQL's own log lines are in its log file, at their level: `procreg logs`.
    const logs = await procreg('logs', config, 'postgres', '-n', '50');
    expect(logs.stdout).toContain('database system is ready to accept connections');

    // Each started once: their checks' failures while they came up (startPeriod) restarted
    // neither, and the SIGHUP reload left nginx running.
    const started = (await logEvents(events)).filter((e) => e.type === 'spawned').map((e) => e.name);
    expect(started.sort()).toEqual(['nginx', 'postgres']);

    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    await logEvent(
      events,
      ofType('stop-begun', (e) => e.pid === postgres && e.signal === 'SIGINT'),
      'SIGINT',
    );
    // Both stop cleanly: nginx finishes its requests (SIGQUIT), PostgreSQL shuts down fast (no
    // crash recovery at the next start).
    for (const [pid, what] of [
      [nginx, 'nginx exit'],
      [postgres, 'postgres exit'],
    ] as const)
      expect(
        await logEvent(
          events,
          ofType('exited', (e) => e.pid === pid),
          what,
        ),
      ).toMatchObject({ code: 0, signal: null });
    const check = await procreg('replay', runDir, '--check');
    expect(check.code).toBe(0);
  }, 120_000);

  it('prepare.sh refuses a checkout www-data and postgres cannot enter, saying so', () => {
    const dir = exampleCopy(0o700);
    const res = spawnSync(join(dir, 'daemons', 'prepare.sh'), { encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`www-data cannot enter ${join(dir, 'daemons')}`);
  });
});
