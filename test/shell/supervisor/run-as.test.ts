import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event } from '../../../src/events/types.js';
import { procreg } from '../../support/cli.js';
import { logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
/** Daemons that escaped procreg (by design of the test): killed by their PID files. */
const escapedPidFiles: string[] = [];
afterEach(() => {
  const pids = escapedPidFiles
    .splice(0)
    .flatMap((f) => (existsSync(f) ? [Number(readFileSync(f, 'utf8'))] : []));
  killAll(pids.filter((p) => p > 0));
});

const asRoot = process.getuid?.() === 0;
const id = (flag: string, user: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
const PG_BIN = '/usr/lib/postgresql/15/bin';
const havePostgres = asRoot && existsSync(join(PG_BIN, 'postgres')) && has('pg_isready');

/** A temp dir other users may enter (not list or write), as the services running as them need. */
function sharedTmp(): string {
  const dir = tmp();
  chmodSync(dir, 0o711);
  return dir;
}

const typesOf = (events: Event[]) => events.map((e) => e.type);

describe.runIf(asRoot)('user, group, umask, limits, envFile, inheritEnv on real processes', () => {
  it('a service runs as nobody with its umask and limits, a check as postgres with its supplementary groups; env from an env file, numbers as strings, nothing inherited', async () => {
    const dir = sharedTmp();
    const runDir = join(dir, 'run');
    writeFileSync(
      join(dir, 'app.env'),
      '# settings\nexport GREETING="hello world"\nPLAIN=abc # a comment\nPORT=1\n',
    );
    const report =
      'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) nofile=$(ulimit -n) hardnofile=$(ulimit -Hn) core=$(ulimit -c) umask=$(umask) home=$HOME user=$USER greeting=$GREETING plain=$PLAIN port=$PORT debug=$DEBUG leaked=${LEAKED:-none} path=$PATH inv=$PROCREG_INVOCATION_ID"';
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run
services:
  who:
    command: [sh, -c, '${report}; exec sleep 300']
    user: nobody
    umask: '0027'
    limits: { nofile: { soft: 1000, hard: 2000 }, core: unlimited }
    envFile: app.env
    env: { PORT: 8080, DEBUG: true }
    inheritEnv: false
    stdout: who.out
checks:
  probe:
    command: [sh, -c, 'echo "check uid=$(id -u) groups=$(id -G) x=$X leaked=\${LEAKED:-none} inv=\${PROCREG_INVOCATION_ID:-none}"']
    user: postgres
    env: { X: 1.5 }
    interval: 10s
  grp:
    command: [sh, -c, 'echo "grp uid=$(id -u) gid=$(id -g) groups=$(id -G)"']
    group: ssl-cert
    interval: 10s
`,
    );
    process.env.LEAKED = 'from procreg';
    let r;
    try {
      r = runs.start(config, runDir);
    } finally {
      delete process.env.LEAKED;
    }
    const pid = runs.track(await pidFileOf(runDir, 'who'));
    const line = await waitFor('who.out', () => {
      const f = join(runDir, 'who.out');
      const t = existsSync(f) ? readFileSync(f, 'utf8') : '';
      return t.endsWith('\n') ? t.trim() : undefined;
    });
    // Its invocation ID (32 hex digits, fresh per incarnation), even with nothing inherited.
    expect(line).toMatch(/ inv=[0-9a-f]{32}$/);
    expect(line.replace(/ inv=[0-9a-f]{32}$/, '')).toBe(
      `uid=65534 gid=65534 groups=65534 nofile=1000 hardnofile=2000 core=unlimited umask=0027 home=${id('-un', 'nobody') === 'nobody' ? '/nonexistent' : ''} user=nobody greeting=hello world plain=abc port=8080 debug=true leaked=none path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    );
    // The same process, as procreg reports it: the PID is the service's own, not a helper's.
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\t65534\t65534\t65534\t65534$/m);
    await r.printed(
      `check uid=${id('-u', 'postgres')} groups=${id('-G', 'postgres')} x=1.5 leaked=from procreg inv=none`,
    );
    const sslCert = execFileSync('getent', ['group', 'ssl-cert'], { encoding: 'utf8' }).split(':')[2];
    await r.printed(`grp uid=0 gid=${sslCert} groups=${sslCert}`); // group alone: no other groups kept
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it('a user or group that does not exist, or an env file that is missing or not dotenv, is a config error (exit 2) naming the field', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(join(dir, 'bad.env'), 'GOOD=1\nthis is not dotenv\n');
    writeFileSync(
      config,
      `services:
  a: { command: [sleep, '1'], user: no-such-user-x }
  b: { command: [sleep, '1'], group: no-such-group-x }
  c: { command: [sleep, '1'], envFile: missing.env }
  d: { command: [sleep, '1'], envFile: bad.env, umask: 27, limits: { nofile: { soft: 10, hard: 5 }, stack: 1 } }
`,
    );
    const r = await procreg('validate', config);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toEqual(
      expect.arrayContaining([
        `${config}: services.d.umask: must be an octal string such as '0027' or '022'; write it quoted (umask: '0027'), YAML reads 0027 as decimal 27, got 27 (number)`,
        `${config}: services.d.limits.nofile.soft: must be at most the hard limit (5), got 10 (number)`,
        expect.stringContaining(
          `${config}: services.d.limits.stack: unknown key; allowed: nofile, nproc, core, memlock`,
        ),
      ]),
    );
    writeFileSync(config, readFileSync(config, 'utf8').replace(/, umask: 27, limits: .*/, ' }'));
    const again = await procreg('validate', config);
    expect(again.code).toBe(2);
    expect(again.stderr.split('\n')).toEqual(
      expect.arrayContaining([
        `${config}: services.a.user: there is no user no-such-user-x on this system (getent passwd no-such-user-x)`,
        `${config}: services.b.group: there is no group no-such-group-x on this system (getent group no-such-group-x)`,
        `${config}: services.c.envFile: cannot read the env file ${join(dir, 'missing.env')}: ENOENT: no such file or directory, stat '${join(dir, 'missing.env')}'`,
        `${config}: services.d.envFile: ${join(dir, 'bad.env')}:2: expected KEY=value, got "this is not dotenv"`,
      ]),
    );
  });

  it('the env file is read again on reload: a changed value restarts the service with it', async () => {
    const dir = sharedTmp();
    const runDir = join(dir, 'run');
    const env = join(dir, 'app.env');
    writeFileSync(env, 'COLOUR=red\n');
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run\nservices:\n  paint:\n    command: [sh, -c, 'echo "colour=$COLOUR"; exec sleep 300']\n    envFile: app.env\n`,
    );
    const r = runs.start(config, runDir);
    await r.printed('colour=red');
    const first = runs.track(await pidFileOf(runDir, 'paint'));
    writeFileSync(env, 'COLOUR="deep blue"\n');
    r.proc.kill('SIGHUP');
    await r.printed('colour=deep blue');
    runs.track(await pidFileOf(runDir, 'paint', first));
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });
});

describe.runIf(havePostgres)('PostgreSQL 15 as user postgres (it refuses root)', () => {
  it('runs as postgres, its pg_isready check turns healthy after its startPeriod; after a SIGKILL of procreg the next one stops it with SIGINT (fast shutdown, no crash recovery), waits, and starts it again with no failed start', async () => {
    const dir = sharedTmp();
    const runDir = join(dir, 'run');
    const data = join(dir, 'data');
    const sock = join(dir, 'sock');
    mkdirSync(data, { mode: 0o700 });
    mkdirSync(sock);
    chownSync(data, Number(id('-u', 'postgres')), Number(id('-g', 'postgres')));
    chownSync(sock, Number(id('-u', 'postgres')), Number(id('-g', 'postgres')));
    execFileSync(
      'setpriv',
      [
        '--reuid=postgres',
        '--regid=postgres',
        '--init-groups',
        join(PG_BIN, 'initdb'),
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        'postgres',
      ],
      { stdio: 'ignore', env: { PATH: process.env.PATH, LANG: 'C' } },
    );
    const port = String(20000 + (process.pid % 20000));
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run
services:
  db:
    command: [${PG_BIN}/postgres, -D, ${data}, -k, ${sock}, -p, '${port}', -c, listen_addresses=]
    user: postgres
    stopSignal: SIGINT
    stopTimeout: 20s
    maxRestarts: { count: 2 }
    stderr: pg.log
checks:
  db_ready:
    command: [pg_isready, -h, ${sock}, -p, '${port}']
    restarts: db
    interval: 200ms
    startPeriod: 10s
`,
    );
    // As root, postgres refuses to start: what the user setting is for.
    const asRootRun = spawnSync(join(PG_BIN, 'postgres'), ['-D', data], { encoding: 'utf8' });
    expect(asRootRun.stderr).toMatch(/"root" execution of the PostgreSQL server is not permitted/);

    const first = runs.start(config, runDir);
    const old = runs.track(await pidFileOf(runDir, 'db', undefined, 30_000));
    await first.printed('db_ready: healthy', 30_000);
    expect(readFileSync(`/proc/${old}/status`, 'utf8')).toMatch(
      new RegExp(`^Uid:\\t${id('-u', 'postgres')}\\t`, 'm'),
    );
    first.proc.kill('SIGKILL');
    await first.exit;
    expect(alive(old)).toBe(true); // left behind by the crash

    const second = runs.start(config, runDir);
    const fresh = runs.track(await pidFileOf(runDir, 'db', old, 40_000));
    await second.printed('db_ready: healthy', 30_000);
    const log = readFileSync(join(runDir, 'pg.log'), 'utf8');
    // SIGINT is PostgreSQL's fast shutdown (SIGTERM would be smart, SIGKILL a crash).
    expect(log).toMatch(/received fast shutdown request/);
    expect(log).toMatch(/database system is shut down/);
    expect(log).not.toMatch(/automatic recovery in progress|was interrupted|lock file .* already exists/);
    const events = await logEvents(join(runDir, 'events.jsonl'));
    const since = events.findLastIndex((e) => e.type === 'supervisor-started');
    const now = events.slice(since);
    expect(now.find((e) => e.type === 'orphan-reaped' && e.pid === old)).toMatchObject({
      outcome: 'signalled',
    });
    const gone = now.findIndex((e) => e.type === 'group-exited' && e.pid === old);
    const respawn = now.findIndex((e) => e.type === 'spawned' && e.name === 'db');
    expect(gone).toBeGreaterThan(0);
    expect(respawn).toBeGreaterThan(gone);
    expect(
      now.filter((e) => e.type === 'spawned' && e.name === 'db').map((e) => (e as { pid: number }).pid),
    ).toEqual([fresh]);
    expect(typesOf(now)).not.toContain('spawn-failed');
    expect(typesOf(now)).not.toContain('restart-scheduled');
    const status = await procreg('status', config, '--json');
    expect(JSON.parse(status.stdout).services).toEqual([
      expect.objectContaining({ name: 'db', state: 'running', restarts: 0 }),
    ]);
    second.proc.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    expect(alive(fresh)).toBe(false);
  }, 120_000);
});

describe('a program that daemonizes itself', () => {
  it.runIf(has('redis-server'))(
    'a shell script forking into its group and redis-server --daemonize yes are reported, in the log and status, with how to run them in the foreground; neither is restarted in a loop',
    async () => {
      const dir = tmp();
      const runDir = join(dir, 'run');
      const redisPid = join(dir, 'redis.pid');
      escapedPidFiles.push(redisPid);
      const port = String(30000 + (process.pid % 20000));
      const config = join(dir, 'procreg.yaml');
      writeFileSync(
        config,
        `runDir: ./run
services:
  forks:
    command: [sh, -c, 'sleep 300 & exit 0']
    stopTimeout: 1s
  redis:
    command: [redis-server, --port, '${port}', --bind, 127.0.0.1, --daemonize, 'yes', --pidfile, ${redisPid}, --save, '', --logfile, ${join(dir, 'redis.log')}]
`,
      );
      const r = runs.start(config, runDir);
      await r.printed('redis: looks like it daemonized itself', 20_000);
      await r.printed('forks: looks like it daemonized itself', 20_000);
      const status = await waitFor('both failed', async () => {
        const s = JSON.parse((await procreg('status', config, '--json')).stdout) as {
          services: { name: string; state: string; reason: string }[];
        };
        return s.services.every((x) => x.state === 'failed') ? s.services : undefined;
      });
      expect(status).toEqual([
        expect.objectContaining({
          name: 'forks',
          reason: expect.stringMatching(
            /^looks like it daemonized itself: its main process exited 0 after \d+ms and pid \d+ it forked stayed in its process group \(stopped with it\); run it in the foreground/,
          ),
        }),
        expect.objectContaining({ name: 'redis' }),
      ]);
      const redis = status[1]?.reason ?? '';
      if (redis.includes('stayed in its process group')) {
        // procreg looked before redis's child had left the group (its setsid, right after the
        // fork, had not run yet on a loaded machine): it was stopped with the group, as documented.
        expect(redis).toMatch(
          /^looks like it daemonized itself: its main process exited 0 after \d+ms and pid \d+ it forked stayed in its process group \(stopped with it\); run it in the foreground \(redis-server --daemonize no/,
        );
      } else {
        const daemon = await waitFor('redis.pid', () =>
          existsSync(redisPid) ? Number(readFileSync(redisPid, 'utf8')) : undefined,
        );
        expect(alive(daemon)).toBe(true);
        expect(redis).toMatch(
          new RegExp(
            `^looks like it daemonized itself: its main process exited 0 after \\d+ms and pid ${daemon} it forked lives on in a session of its own, out of procreg's reach \\(stop it yourself\\); run it in the foreground \\(redis-server --daemonize no`,
          ),
        );
      }
      r.proc.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      const events = await logEvents(join(runDir, 'events.jsonl'));
      expect(events.filter((e) => e.type === 'daemon-suspected')).toEqual([
        expect.objectContaining({ escaped: expect.any(Boolean) }),
        expect.objectContaining({ escaped: expect.any(Boolean) }),
      ]);
      expect(typesOf(events)).not.toContain('restart-scheduled');
      const human = await procreg('replay', join(runDir, 'events.jsonl'), '--check');
      expect(human.code).toBe(0);
    },
    60_000,
  );
});
