import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { fromEvent, ReplaySubject, scan, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Effect } from '../../../src/core/effects.js';
import type { EventBody, TimerKey } from '../../../src/events/types.js';
import { readPidFile, writePidFile } from '../../../src/shell/files/pidfile.js';
import { readProcStartTime } from '../../../src/shell/proc/proc-stat.js';
import { executeEffect } from '../../../src/shell/supervisor/execute-effect.js';
import { GroupWatch } from '../../../src/shell/supervisor/group-watch.js';
import { TimerTable } from '../../../src/shell/supervisor/timers.js';
import { TurnBudget } from '../../../src/shell/supervisor/turn-budget.js';
import { firstMatch } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { groupMembers, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const pids = new Set<number>();
afterEach(() => {
  killAll(pids);
  pids.clear();
});

type Body<T extends EventBody['type']> = Extract<EventBody, { type: T }>;

/** Fake ports around a real TimerTable on virtual time: what was emitted, logged, fired and called. */
function ports() {
  const emitted = new ReplaySubject<EventBody>();
  const bodies: EventBody[] = [];
  type Line = { level: number; msg: string; [k: string]: unknown };
  const logged: Line[] = [];
  const lines = new ReplaySubject<Line>();
  const vts = new VirtualTimeScheduler();
  const fired: { timer: TimerKey; at: number }[] = [];
  const p = {
    emit: (b: EventBody) => {
      bodies.push(b);
      if ('pid' in b && (b.type === 'spawned' || b.type === 'check-started')) pids.add(b.pid);
      emitted.next(b);
    },
    timers: new TimerTable(
      vts,
      () => vts.now(),
      (timer) => fired.push({ timer, at: vts.now() }),
    ),
    log: pino(
      { base: null },
      {
        write: (s: string) => {
          const line = JSON.parse(s) as Line;
          logged.push(line);
          lines.next(line);
        },
      },
    ),
    groups: new GroupWatch((pgid) => p.emit({ type: 'group-exited', pid: pgid })),
    budget: new TurnBudget(Number.POSITIVE_INFINITY), // every fork at once: outcomes in step with the calls
    loadConfig: vi.fn(),
    finish: vi.fn(),
  };
  /** The first emitted body of this type, from the start. */
  const next = <T extends EventBody['type']>(type: T) =>
    firstMatch(emitted, (b): b is Body<T> => b.type === type, `a ${type} emitted`);
  /** The first line logged with this message, from the start. */
  const line = (msg: string) => firstMatch(lines, (l) => l.msg === msg, `the line "${msg}" logged`);
  return { ports: p, bodies, logged, vts, fired, next, line };
}

const spawnEffect = (command: string[], extra: Partial<Extract<Effect, { do: 'spawn' }>> = {}): Effect => ({
  do: 'spawn',
  name: 'web',
  gen: 2,
  incarnation: 3,
  command,
  cwd: null,
  env: {},
  runAs: { user: null, group: null, umask: null, limits: {}, inheritEnv: true },
  stdout: null,
  stderr: null,
  lastWords: { lines: 10, bytes: 2048 },
  stderrLevel: 'info',
  log: null,
  ...extra,
});

/** A `sleep` in its own process group, as procreg starts services. */
function groupLeader(): { pid: number; exit: Promise<NodeJS.Signals | null> } {
  const c = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  pids.add(c.pid as number);
  return { pid: c.pid as number, exit: new Promise((resolve) => c.on('exit', (_c, s) => resolve(s))) };
}

describe('executeEffect', () => {
  it('spawn: emits spawned with PID and start time at once, logs the output lines by service and stream, emits exited', async () => {
    const t = ports();
    executeEffect(spawnEffect(['sh', '-c', 'echo hi; echo oops >&2; sleep 0.1; exit 4']), t.ports);
    const spawned = t.bodies[0] as Body<'spawned'>;
    expect(spawned).toEqual({
      type: 'spawned',
      name: 'web',
      gen: 2,
      incarnation: 3,
      pid: expect.any(Number),
      startTime: expect.any(Number),
      exe: realpathSync(execFileSync('sh', ['-c', 'command -v sh'], { encoding: 'utf8' }).trim()),
    });

    const { pid } = spawned;
    expect(await t.next('exited')).toEqual({
      type: 'exited',
      pid,
      code: 4,
      signal: null,
      groupAlive: false,
      // Its last words: what it said before it exited, both streams, in order.
      lastWords: { lines: ['hi', 'oops'] },
    });
    await t.line('hi'); // logged as well, line by line
    await t.line('oops');
    expect(t.logged).toHaveLength(2);
    expect(t.logged).toEqual(
      expect.arrayContaining([
        { level: 30, time: expect.any(Number), service: 'web', pid, stream: 'stdout', msg: 'hi' },
        // stderr is not a warning unless the service says so (stderrLevel, default info)
        { level: 30, time: expect.any(Number), service: 'web', pid, stream: 'stderr', msg: 'oops' },
      ]),
    );
  });

  it("spawn with umask or limits: the program is looked up first, so a missing one is spawn-failed, not a helper crashing; the PID is the program's own", async () => {
    const t = ports();
    const runAs = {
      user: null,
      group: null,
      umask: 0o077,
      limits: { nofile: { soft: 64, hard: 64 } },
      inheritEnv: true,
    };
    executeEffect(spawnEffect(['no-such-program-procreg'], { runAs }), t.ports);
    expect(t.bodies).toEqual([
      {
        type: 'spawn-failed',
        name: 'web',
        gen: 2,
        incarnation: 3,
        error: `cannot start no-such-program-procreg: no-such-program-procreg is not found in PATH (${process.env.PATH})`,
      },
    ]);
    executeEffect(spawnEffect(['sh', '-c', 'echo "$(umask) $(ulimit -n) $$"'], { runAs }), t.ports);
    const spawned = await t.next('spawned');
    expect(spawned.exe).toBeNull(); // a helper may still be what runs when procreg hears the PID
    await t.line(`0077 64 ${spawned.pid}`);
  });

  it('spawn: logs stderr lines at the level the service gives (stderrLevel), stdout at info', async () => {
    const t = ports();
    executeEffect(spawnEffect(['sh', '-c', 'echo out; echo bad >&2'], { stderrLevel: 'error' }), t.ports);
    await t.next('exited');
    await t.line('out');
    await t.line('bad');
    expect(t.logged.map((l) => [l.msg, l.level])).toEqual(
      expect.arrayContaining([
        ['out', 30],
        ['bad', 50],
      ]),
    );
  });

  it("run-check: logs a run's output only when its result changes or it fails", async () => {
    const dir = tmp();
    const t = ports();
    let run = 0;
    const check = (script: string): Effect => ({
      do: 'run-check',
      name: 'page',
      gen: 1,
      run: ++run,
      command: ['sh', '-c', script],
      lastWords: { lines: 10, bytes: 2048 },
      cwd: dir,
      env: {},
      runAs: { user: null, group: null, umask: null, limits: {}, inheritEnv: true },
    });
    const runs: [string, boolean][] = [
      ['echo "<html>1</html>"', true], // the first result: logged
      ['echo "<html>2</html>"', false], // unchanged success: not logged
      ['echo "<html>3</html>"', false],
      ['echo "down 4" >&2; exit 7', true], // a failure: logged
      ['echo "down 5" >&2; exit 7', true], // every failure is logged
      ['echo "<html>6</html>"', true], // success again: the change is logged
      ['echo "<html>7</html>"', false],
    ];
    for (const [script] of runs) {
      const exitedBefore = t.bodies.filter((b) => b.type === 'exited').length;
      executeEffect(check(script), t.ports);
      await waitFor('the run exited', () =>
        t.bodies.filter((b) => b.type === 'exited').length > exitedBefore ? true : undefined,
      );
    }
    const msgs = t.logged.map((l) => l.msg);
    const want = runs.map(([script], i) =>
      script.includes('html') ? `<html>${i + 1}</html>` : `down ${i + 1}`,
    );
    expect(msgs).toEqual(want.filter((_, i) => (runs[i] as [string, boolean])[1]));
    expect(t.logged.find((l) => l.msg === 'down 4')).toMatchObject({
      check: 'page',
      stream: 'stderr',
      level: 40,
    });
  });

  it('spawn: emits spawn-failed with the reason for a refused output file at once, for a missing executable on the next tick', async () => {
    const dir = tmp();
    const t = ports();
    symlinkSync('/dev/null', join(dir, 'web.out'));
    executeEffect(spawnEffect(['true'], { stdout: join(dir, 'web.out') }), t.ports);
    expect(t.bodies).toEqual([
      {
        type: 'spawn-failed',
        name: 'web',
        gen: 2,
        incarnation: 3,
        error: `output file ${join(dir, 'web.out')}: is a symlink, which procreg never writes through`,
      },
    ]);
    executeEffect(spawnEffect([join(dir, 'missing')]), t.ports);
    await new Promise((r) => process.nextTick(r));
    expect(t.bodies.at(-1)).toEqual({
      type: 'spawn-failed',
      name: 'web',
      gen: 2,
      incarnation: 3,
      error: `cannot start ${join(dir, 'missing')}: not found (ENOENT)`,
    });
  });

  it('run-check: emits check-started, logs its output by check, emits exited; check-start-failed when it cannot start', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'marker'), '');
    const t = ports();
    const run = (command: string[]): Effect => ({
      do: 'run-check',
      name: 'alive',
      gen: 1,
      run: 7,
      command,
      lastWords: { lines: 10, bytes: 2048 },
      cwd: dir,
      env: {},
      runAs: { user: null, group: null, umask: null, limits: {}, inheritEnv: true },
    });
    executeEffect(run(['sh', '-c', 'test -f marker && echo found; exit 1']), t.ports);
    const started = t.bodies[0] as Body<'check-started'>;
    expect(started).toEqual({
      type: 'check-started',
      name: 'alive',
      gen: 1,
      run: 7,
      pid: expect.any(Number),
      startTime: expect.any(Number),
      exe: expect.toBeOneOf([null, expect.stringMatching(/\/(da|ba)?sh$/)]), // null: gone before it was read
    });
    expect(await t.next('exited')).toEqual({
      type: 'exited',
      pid: started.pid,
      code: 1,
      signal: null,
      groupAlive: false,
      lastWords: { lines: ['found'] },
    });
    await t.line('found');
    expect(t.logged).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        check: 'alive',
        pid: started.pid,
        stream: 'stdout',
        msg: 'found',
      },
    ]);

    executeEffect(run([join(dir, 'missing')]), t.ports);
    await new Promise((r) => process.nextTick(r));
    expect(t.bodies.at(-1)).toEqual({
      type: 'check-start-failed',
      name: 'alive',
      gen: 1,
      run: 7,
      error: `cannot start ${join(dir, 'missing')}: not found (ENOENT)`,
    });
  });

  it('signal-group: signals the whole group and emits signal-sent, with the error when there is no such group', async () => {
    const t = ports();
    // A group leader with a child of its own in its group.
    const leader = spawn('sh', ['-c', 'sleep 300 & echo $!; wait'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = leader.pid as number;
    pids.add(pid);
    const exit = new Promise((resolve) => leader.on('exit', (_c, signal) => resolve(signal)));
    const out$ = fromEvent(leader.stdout as NodeJS.ReadableStream, 'data').pipe(
      scan((a, d) => a + String(d), ''),
    );
    const member = Number(await firstMatch(out$, (o) => o.endsWith('\n'), "the member's PID"));
    expect(groupMembers([pid]).sort()).toEqual([pid, member].sort());

    executeEffect({ do: 'signal-group', pid, signal: 'SIGTERM' }, t.ports);
    expect(t.bodies).toEqual([{ type: 'signal-sent', pid, signal: 'SIGTERM', error: null }]);
    expect(await exit).toBe('SIGTERM');
    // The member is not our child: the kernel says when it is gone.
    await waitFor('the whole group gone', () => (groupMembers([pid]).length === 0 ? true : undefined), 5000);
    // A group whose only process has exited and been reaped is no more.
    const gone = groupLeader();
    process.kill(gone.pid, 'SIGKILL');
    await gone.exit;
    executeEffect({ do: 'signal-group', pid: gone.pid, signal: 'SIGTERM' }, t.ports);
    expect(t.bodies[1]).toEqual({ type: 'signal-sent', pid: gone.pid, signal: 'SIGTERM', error: 'ESRCH' });
  });

  it('write-pidfile: writes it and emits pidfile-written; a failure is logged and emitted as its error', () => {
    const dir = tmp();
    const t = ports();
    const path = join(dir, 'web.pid');
    executeEffect({ do: 'write-pidfile', path, pid: 4242 }, t.ports);
    expect(readFileSync(path, 'utf8')).toBe('4242\n');
    const bad = join(dir, 'dir.pid');
    mkdirSync(bad);
    executeEffect({ do: 'write-pidfile', path: bad, pid: 4242 }, t.ports);
    const error = `PID file ${bad} exists and is not a regular file`;
    expect(t.bodies).toEqual([
      { type: 'pidfile-written', path, pid: 4242, error: null },
      { type: 'pidfile-written', path: bad, pid: 4242, error },
    ]);
    expect(t.logged).toEqual([expect.objectContaining({ level: 50, msg: error })]);
  });

  it('remove-pidfile: removes it only for its PID and emits the outcome, an error included', () => {
    const dir = tmp();
    const t = ports();
    const path = join(dir, 'web.pid');
    writePidFile(path, 200);
    const link = join(dir, 'link.pid');
    symlinkSync(path, link);
    for (const [p, ifPid] of [
      [path, 100],
      [path, 200],
      [path, 200],
      [link, 200],
    ] as const)
      executeEffect({ do: 'remove-pidfile', path: p, ifPid }, t.ports);
    const error = `PID file ${link} is a symbolic link; refusing to read through it`;
    expect(t.bodies).toEqual([
      { type: 'pidfile-removed', path, pid: 100, outcome: 'not-owner', error: null },
      { type: 'pidfile-removed', path, pid: 200, outcome: 'removed', error: null },
      { type: 'pidfile-removed', path, pid: 200, outcome: 'absent', error: null },
      { type: 'pidfile-removed', path: link, pid: 200, outcome: 'error', error },
    ]);
    expect(readPidFile(path)).toBe('absent');
    expect(t.logged).toEqual([expect.objectContaining({ level: 50, msg: error })]);
  });

  it('arm-timer and cancel-timer: act on the timer table, emit nothing themselves', () => {
    const t = ports();
    const a: TimerKey = { kind: 'backoff', name: 'web', gen: 1, incarnation: 1 };
    const b: TimerKey = { kind: 'check-interval', name: 'alive', gen: 1, run: 2 };
    executeEffect({ do: 'arm-timer', timer: a, at: 100 }, t.ports);
    executeEffect({ do: 'arm-timer', timer: b, at: 200 }, t.ports);
    executeEffect({ do: 'cancel-timer', timer: a }, t.ports);
    expect(t.bodies).toEqual([]);
    t.vts.flush();
    expect(t.fired).toEqual([{ timer: b, at: 200 }]);
  });

  it('load-config and exit: hand over to the supervisor (loadConfig, finish), emit nothing themselves', () => {
    const t = ports();
    executeEffect({ do: 'load-config' }, t.ports);
    expect(t.ports.loadConfig).toHaveBeenCalledTimes(1);
    expect(t.ports.finish).not.toHaveBeenCalled();
    executeEffect({ do: 'exit' }, t.ports);
    expect(t.ports.finish).toHaveBeenCalledTimes(1);
    expect(t.bodies).toEqual([]);
  });

  it('reap-orphan: signals a process proved to be the orphan, spares one that is not, and emits orphan-reaped', async () => {
    const t = ports();
    const spared = groupLeader();
    const victim = groupLeader();
    const gone = groupLeader();
    const goneStart = readProcStartTime(gone.pid);
    process.kill(gone.pid, 'SIGKILL');
    await gone.exit;
    const reap = (pid: number, startTime: number | null): Effect => ({
      do: 'reap-orphan',
      pid,
      startTime,
      exe: null,
      signal: 'SIGTERM',
    });
    executeEffect(reap(victim.pid, readProcStartTime(victim.pid)), t.ports);
    executeEffect(reap(spared.pid, (readProcStartTime(spared.pid) as number) - 1), t.ports);
    executeEffect(reap(gone.pid, goneStart), t.ports);
    expect(t.bodies).toEqual([
      { type: 'orphan-reaped', pid: victim.pid, outcome: 'signalled', detail: null },
      {
        type: 'orphan-reaped',
        pid: spared.pid,
        outcome: 'not-ours',
        detail: expect.stringMatching(/^started at tick/),
      },
      { type: 'orphan-reaped', pid: gone.pid, outcome: 'gone', detail: null },
    ]);
    expect(await victim.exit).toBe('SIGTERM');
    process.kill(spared.pid, 'SIGTERM');
  });

  it('watch-group: emits group-exited once the last member of the group is gone', async () => {
    const t = ports();
    const leader = groupLeader();
    executeEffect({ do: 'watch-group', pid: leader.pid }, t.ports);
    expect(t.bodies).toEqual([]);
    process.kill(-leader.pid, 'SIGTERM');
    expect(await t.next('group-exited')).toEqual({ type: 'group-exited', pid: leader.pid });
    t.ports.groups.clear();
  });
});
