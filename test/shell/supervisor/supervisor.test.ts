import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { replayAsync } from '../../../src/core/replay.js';
import { readLogBatches } from '../../../src/shell/event-log/reader.js';
import type { Event } from '../../../src/events/types.js';
import { LogWriter } from '../../../src/shell/event-log/writer.js';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const started = new Set<number>();
const supervisors: Supervisor[] = [];
afterEach(async () => {
  killAll(started);
  started.clear();
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 2000))]);
});

function config(dir: string): NormalizedConfig {
  return normalized(
    {
      runDir: './run',
      services: {
        web: {
          command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
          backoff: { initial: '20ms' },
          stopTimeout: '2s',
        },
        // A service whose own child (our grandchild) must die with it.
        tree: {
          command: ['sh', '-c', `sleep 300 & echo $! > ${join(dir, 'grandchild.pid')}; wait`],
          stopTimeout: '2s',
        },
      },
    },
    dir,
  );
}

/** Open a supervisor on `config`, track every process it starts, and collect its events. */
async function open(config: NormalizedConfig): Promise<{ sup: Supervisor; seen: Event[] }> {
  const sup = await Supervisor.open({ config, logger: pino({ level: 'silent' }) });
  supervisors.push(sup);
  const seen: Event[] = [];
  sup.events.subscribe((e) => {
    seen.push(e);
    if (e.type === 'spawned' || e.type === 'check-started') started.add(e.pid);
  });
  return { sup, seen };
}

/** Stop a supervisor the test is done with (afterEach stops whatever a failing test left). */
async function finish(sup: Supervisor): Promise<void> {
  await sup.stop('test');
  const i = supervisors.indexOf(sup);
  if (i >= 0) supervisors.splice(i, 1);
}

/** A normalized config from the YAML-shaped object, resolved against `dir`. */
function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

async function logOf(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const b of readLogBatches(path)) out.push(...b.events);
  return out;
}

describe('Supervisor on real processes', () => {
  it('restarts a SIGKILLed service, moves its PID file to the new PID, and stops every process it started', async () => {
    const dir = tmp();
    const cfg = config(dir);
    const { sup } = await open(cfg);
    const pidFile = join(cfg.runDir, 'web.pid');
    const first = await waitFor('web.pid', () => {
      const p = readPidFile(pidFile);
      return typeof p === 'number' ? p : undefined;
    });
    expect(alive(first)).toBe(true);
    const grandchild = await waitFor('the grandchild', () => {
      const p = join(dir, 'grandchild.pid');
      return existsSync(p) && readFileSync(p, 'utf8').endsWith('\n')
        ? Number(readFileSync(p, 'utf8'))
        : undefined;
    });

    process.kill(first, 'SIGKILL');
    const seen = new Set<string>();
    const second = await waitFor('web restarted', () => {
      const p = readPidFile(pidFile); // absent or exactly one line, never anything else
      seen.add(String(p));
      return typeof p === 'number' && p !== first ? p : undefined;
    });
    expect([...seen].every((s) => s === 'absent' || s === String(first) || s === String(second))).toBe(true);
    expect(alive(second)).toBe(true);
    expect(sup.status().services.find((s) => s.name === 'web')).toMatchObject({
      state: 'running',
      pid: second,
      restarts: 1,
    });

    await finish(sup);
    for (const pid of [second, grandchild])
      await waitFor(`pid ${pid} gone`, () => (alive(pid) ? undefined : true), 5000);
    expect(readPidFile(pidFile)).toBe('absent');
    expect(readPidFile(join(cfg.runDir, 'tree.pid'))).toBe('absent');

    const log = await logOf(cfg.eventLog);
    expect(log.at(-1)?.type).toBe('supervisor-stopped');
    const r = await replayAsync(
      (async function* () {
        yield* log;
      })(),
      { check: true },
    );
    expect(r.problems).toEqual([]);
    expect(r.state.procs.size).toBe(0);
  });

  it('kills a check that outlives its timeout (SIGTERM, then SIGKILL if ignored), counts it failed, and restarts its service', async () => {
    const dir = tmp();
    const config = normalized(
      {
        runDir: './run',
        services: {
          web: {
            command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
            backoff: { initial: '20ms' },
          },
        },
        checks: {
          // Ignores SIGTERM: only the SIGKILL after killAfter ends it.
          stubborn: {
            command: [process.execPath, '-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"],
            interval: '30s',
            timeout: '200ms',
            killAfter: '300ms',
            fall: 1,
            restarts: 'web',
          },
          // Sleeps past its timeout but obeys SIGTERM.
          sleepy: { command: ['sleep', '30'], interval: '30s', timeout: '200ms', killAfter: '5s', fall: 1 },
        },
      },
      dir,
    );
    const { sup, seen } = await open(config);
    const finished = (name: string) =>
      waitFor(`${name} finished`, () =>
        seen.find(
          (e): e is Extract<Event, { type: 'check-finished' }> =>
            e.type === 'check-finished' && e.name === name,
        ),
      );
    const stubborn = await finished('stubborn');
    const sleepy = await finished('sleepy');
    expect(stubborn).toMatchObject({ timedOut: true, ok: false, signal: 'SIGKILL', stale: false });
    expect(sleepy).toMatchObject({ timedOut: true, ok: false, signal: 'SIGTERM', stale: false });
    expect(stubborn.durationMs).toBeGreaterThanOrEqual(450); // 200ms timeout + 300ms killAfter, less timer slack
    const signals = seen
      .filter((e) => e.type === 'signal-sent' && e.pid === stubborn.pid)
      .map((e) => (e as { signal: string }).signal);
    expect(signals).toEqual(['SIGTERM', 'SIGCONT', 'SIGKILL']);
    // Unhealthy after one failure: the service it guards is restarted.
    await waitFor('web restarted by the check', () =>
      seen.find((e) => e.type === 'spawned' && e.name === 'web' && e.incarnation === 2) ? true : undefined,
    );
    expect(seen.find((e) => e.type === 'stop-begun' && e.name === 'web')).toMatchObject({
      reason: 'check-failed',
    });
    await finish(sup);
    for (const pid of started) await waitFor(`pid ${pid} gone`, () => (alive(pid) ? undefined : true), 5000);
  });

  for (const signal of ['SIGTERM', 'SIGSEGV'] as const) {
    it(`restarts a service killed by ${signal}; its PID file ends naming the new PID and never the old one again`, async () => {
      const dir = tmp();
      const cfg = config(dir);
      const { sup } = await open(cfg);
      const pidFile = join(cfg.runDir, 'web.pid');
      const first = await waitFor('web.pid', () => {
        const p = readPidFile(pidFile);
        return typeof p === 'number' ? p : undefined;
      });
      process.kill(first, signal);
      const second = await waitFor('a new web', () => {
        const p = readPidFile(pidFile);
        return typeof p === 'number' && p !== first ? p : undefined;
      });
      expect(readFileSync(pidFile, 'utf8')).toBe(`${second}\n`);
      const exit = (await logOf(cfg.eventLog)).find((e) => e.type === 'exited' && e.pid === first);
      expect(exit).toMatchObject({ code: null, signal });
      await finish(sup);
    });
  }

  it("writes the event log it is given: a path instead of the config's, or an open writer it continues", async () => {
    const dir = tmp();
    const cfg = normalized({ runDir: './run', services: {} }, dir);
    const elsewhere = join(dir, 'elsewhere.jsonl');
    const a = await Supervisor.open({ config: cfg, eventLog: elsewhere, logger: pino({ level: 'silent' }) });
    supervisors.push(a);
    await finish(a);
    expect(existsSync(cfg.eventLog)).toBe(false);
    const first = await logOf(elsewhere);
    expect(first.map((e) => e.type)).toContain('supervisor-stopped');

    const writer = LogWriter.open(elsewhere, { durability: 'none' });
    const b = await Supervisor.open({ config: cfg, eventLog: writer, logger: pino({ level: 'silent' }) });
    supervisors.push(b);
    await finish(b);
    const both = await logOf(elsewhere);
    expect(both.map((e) => e.seq)).toEqual(both.map((_, i) => i + 1)); // one log, seq continued
    expect(both.filter((e) => e.type === 'supervisor-started')).toHaveLength(2);
    expect(() => writer.append({ type: 'supervisor-stopped' }, 0, 0)).toThrow(/closed/); // taken over and closed
  });

  it('runs a check in its cwd', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'probe'));
    writeFileSync(join(dir, 'probe', 'marker'), '');
    const check = (cwd?: string) => ({
      command: ['sh', '-c', 'test -f marker'],
      interval: '50ms',
      ...(cwd ? { cwd } : {}),
    });
    const { sup } = await open(
      normalized({ runDir: './run', checks: { inside: check('probe'), outside: check() } }, dir),
    );
    const verdicts = await waitFor('both verdicts', () => {
      const cs = sup.status().checks;
      return cs.every((c) => c.lastResult !== null) ? cs : undefined;
    });
    expect(verdicts.map((c) => [c.name, c.healthy])).toEqual([
      ['inside', true],
      ['outside', false],
    ]);
    await finish(sup);
  });

  it('restarts at once with a zero backoff: the respawn happens in the same turn as the exit, not a timer later', async () => {
    const dir = tmp();
    const cfg = normalized(
      {
        runDir: './run',
        services: {
          now: {
            command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
            backoff: { initial: '0ms' },
          },
        },
      },
      dir,
    );
    const { sup, seen } = await open(cfg);
    const first = await waitFor('first pid', () => sup.status().services[0]?.pid ?? undefined);
    // A setImmediate queued when the exit is handled runs before any timer of the event loop.
    let sameTurn: boolean | null = null;
    let turnOpen = false;
    sup.events.subscribe((e) => {
      if (e.type === 'exited' && e.pid === first) {
        turnOpen = true;
        setImmediate(() => {
          turnOpen = false;
        });
      }
      if (e.type === 'spawned' && e.pid !== first) sameTurn ??= turnOpen;
    });
    process.kill(first, 'SIGKILL');
    await waitFor('respawned', () => (sameTurn === null ? undefined : true));
    expect(sameTurn).toBe(true);
    const from = seen.findIndex((e) => e.type === 'exited' && e.pid === first);
    expect(seen.slice(from, from + 7).map((e) => e.type)).toEqual([
      'exited',
      'restart-scheduled',
      'pidfile-removed',
      'timer-fired',
      'spawn-requested',
      'spawned',
      'pidfile-written',
    ]);
    expect(seen[from + 1]).toMatchObject({ delayMs: 0 });
    await finish(sup);
  });

  it('backs a crash loop off with growing delays and gives it up at the intensity limit', async () => {
    const dir = tmp();
    const config = normalized(
      {
        runDir: './run',
        services: {
          crash: {
            command: [process.execPath, '-e', 'process.exit(3)'],
            backoff: { initial: '10ms', max: '40ms', factor: 2 },
            maxRestarts: { count: 4, within: '1m' },
          },
        },
      },
      dir,
    );
    const { sup, seen } = await open(config);
    await waitFor('given up', () => (seen.some((e) => e.type === 'service-given-up') ? true : undefined));
    const delays = seen
      .filter((e) => e.type === 'restart-scheduled')
      .map((e) => (e as { delayMs: number }).delayMs);
    expect(delays).toEqual([10, 20, 40, 40]);
    expect(sup.status().services).toEqual([
      expect.objectContaining({
        name: 'crash',
        state: 'given-up',
        pid: null,
        restarts: 4,
        reason: 'more than 4 restarts within 60000ms',
      }),
    ]);
    expect(readPidFile(join(config.runDir, 'crash.pid'))).toBe('absent');
    await finish(sup);
  });

  it('runs its timers on an injected scheduler and clock: a backoff history in virtual time', async () => {
    const dir = tmp();
    const vts = new VirtualTimeScheduler();
    const sup = await Supervisor.open({
      config: normalized(
        {
          runDir: './run',
          services: {
            // Never starts: every spawn fails at once, so only the fold's timers move time.
            ghost: {
              command: [join(dir, 'no-such-binary')],
              backoff: { initial: '100ms', max: '1s', factor: 2 },
              maxRestarts: { count: 5, within: '1h' },
            },
          },
        },
        dir,
      ),
      logger: pino({ level: 'silent' }),
      clock: () => vts.now(),
      scheduler: vts,
    });
    supervisors.push(sup);
    vts.flush(); // 100 + 200 + 400 + 800 + 1000 ms of backoff, instantly
    const seen = await logOf(join(dir, 'run', 'events.jsonl')); // all of it, from open() on
    const failures = seen.filter((e) => e.type === 'spawn-failed').map((e) => e.time);
    expect(failures).toEqual([0, 100, 300, 700, 1500, 2500]);
    expect(
      seen.filter((e) => e.type === 'restart-scheduled').map((e) => (e as { delayMs: number }).delayMs),
    ).toEqual([100, 200, 400, 800, 1000]);
    expect(seen.find((e) => e.type === 'service-given-up')).toMatchObject({
      name: 'ghost',
      restarts: 5,
      time: 2500,
    });
    await finish(sup);
  });
});

describe('Service output files', () => {
  // Prints a line to each stream naming its PID, then stays up until killed.
  const talker = [
    process.execPath,
    '-e',
    'console.log(`out ${process.pid}`); console.error(`err ${process.pid}`); setInterval(() => {}, 1000)',
  ];

  it('appends stdout and stderr to their files, reopened by each incarnation (so a rotated file is replaced)', async () => {
    const dir = tmp();
    const cfg = normalized(
      {
        runDir: './run',
        services: {
          talk: {
            command: talker,
            stdout: 'logs/talk.out',
            stderr: 'logs/talk.out',
            backoff: { initial: '10ms' },
          },
          split: { command: talker, stdout: 'split.out', stderr: 'split.err' },
        },
      },
      dir,
    );
    const { sup } = await open(cfg);
    const out = join(dir, 'run', 'logs', 'talk.out');
    // The first spawns happen inside open(), before a subscriber could see them: ask the registry.
    const pidOf = (name: string, not?: number) =>
      waitFor(`${name} running`, () => {
        const pid = sup.status().services.find((x) => x.name === name)?.pid;
        return pid != null && pid !== not ? pid : undefined;
      });
    const first = await pidOf('talk');
    await waitFor('both lines of the first incarnation', () => {
      const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
      return text.includes(`out ${first}\n`) && text.includes(`err ${first}\n`) ? true : undefined;
    });
    expect(statSync(out).mode & 0o777).toBe(0o640);
    const split = await pidOf('split');
    await waitFor('split streams', () =>
      existsSync(join(dir, 'run', 'split.err')) &&
      readFileSync(join(dir, 'run', 'split.out'), 'utf8') === `out ${split}\n` &&
      readFileSync(join(dir, 'run', 'split.err'), 'utf8') === `err ${split}\n`
        ? true
        : undefined,
    );

    // Rotate: move the file away, then make the service restart. The new incarnation writes a new file.
    renameSync(out, `${out}.1`);
    process.kill(first, 'SIGKILL');
    const second = await pidOf('talk', first);
    await waitFor('the new file', () => {
      const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
      return text.includes(`out ${second}\n`) && text.includes(`err ${second}\n`) ? text : undefined;
    });
    expect(readFileSync(out, 'utf8')).not.toContain(String(first));
    expect(readFileSync(`${out}.1`, 'utf8')).not.toContain(String(second));
    await finish(sup);
  });

  it('logs child output line by line: lines over 64 KiB in pieces, a last line without a newline at the end', async () => {
    const dir = tmp();
    const lines: { service?: string; stream?: string; msg: string }[] = [];
    const logger = pino({ base: null }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const long = 'x'.repeat(150_000);
    const sup = await Supervisor.open({
      config: normalized(
        {
          runDir: './run',
          services: {
            talk: {
              // Written in uneven pieces so that a line end can fall beyond 64 KiB within one read.
              command: [
                process.execPath,
                '-e',
                `const s = 'x'.repeat(150000) + '\\nshort\\ntail';
                 for (let i = 0; i < s.length; i += 40000) process.stdout.write(s.slice(i, i + 40000));`,
              ],
              restart: 'never',
            },
          },
        },
        dir,
      ),
      logger,
    });
    supervisors.push(sup);
    await waitFor('talk exited', () => (sup.status().services[0]?.state === 'stopped' ? true : undefined));
    const out = await waitFor('the last line', () => {
      const o = lines.filter((l) => l.service === 'talk' && l.stream === 'stdout').map((l) => l.msg);
      return o.at(-1) === 'tail' ? o : undefined;
    });
    expect(out.slice(-2)).toEqual(['short', 'tail']);
    const pieces = out.slice(0, -2);
    expect(pieces.every((p) => p.length <= 64 * 1024)).toBe(true);
    expect(pieces.join('')).toBe(long);
    await finish(sup);
  });

  it('refuses an output file that is a symlink: the spawn fails with the reason and nothing is written through it', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    writeFileSync(join(dir, 'target'), 'precious\n');
    symlinkSync(join(dir, 'target'), join(dir, 'run', 'talk.out'));
    const cfg = normalized(
      {
        runDir: './run',
        services: { talk: { command: talker, stdout: 'talk.out', maxRestarts: { count: 0, within: '1m' } } },
      },
      dir,
    );
    const { sup } = await open(cfg);
    await waitFor('given up', () =>
      sup.status().services.find((x) => x.name === 'talk' && x.state === 'given-up'),
    );
    const log = await logOf(cfg.eventLog);
    expect(log.find((e) => e.type === 'spawn-failed')).toMatchObject({
      name: 'talk',
      error: `output file ${join(dir, 'run', 'talk.out')}: is a symlink, which procreg never writes through`,
    });
    expect(log.some((e) => e.type === 'spawned')).toBe(false);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('precious\n');
    await finish(sup);
  });
});
