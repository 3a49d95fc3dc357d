import {
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ReplaySubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChildSpec,
  OUTPUT_LINE_MAX,
  type SpawnOutcome,
  spawnChild,
  whyNotStarted,
} from '../../../src/shell/supervisor/children.js';
import { readyPipes } from '../../../src/shell/supervisor/pipes.js';
import { firstMatch } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const pids = new Set<number>();
afterEach(() => {
  killAll(pids);
  pids.clear();
});

type Line = { stream: 'stdout' | 'stderr'; line: string };

/** spawnChild with the hooks turned into streams a test can wait on. */
function start(command: string[], extra: Partial<ChildSpec> = {}) {
  const lines = new ReplaySubject<Line>();
  const exits = new ReplaySubject<{ code: number | null; signal: string | null }>();
  let res: SpawnOutcome | undefined;
  const outcome = new Promise<SpawnOutcome>((resolve) =>
    spawnChild(
      { command, cwd: null, env: {}, stdout: null, stderr: null, ...extra },
      {
        onLine: (stream, line) => lines.next({ stream, line }),
        onExit: (code, signal) => exits.next({ code, signal }),
      },
      (o) => {
        res = o;
        if ('pid' in o) pids.add(o.pid);
        resolve(o);
      },
    ),
  );
  const seen: Line[] = [];
  lines.subscribe((l) => seen.push(l));
  return {
    /** What onStarted heard in the same turn as the spawn (undefined: nothing yet). */
    get res() {
      return res;
    },
    /** What onStarted hears, now or on the next tick. */
    outcome,
    /** Its PID, once started (the fork may wait a moment for pipes). */
    pid: async () => {
      const r = await outcome;
      if (!('pid' in r)) throw new Error(`not started: ${JSON.stringify(r)}`);
      return r.pid;
    },
    seen,
    /** Resolves with the first line (from the start) matching `match`. */
    line: (match: (l: Line) => boolean) => firstMatch(lines, match, 'a matching output line'),
    exit: () => firstMatch(exits, () => true, 'the exit'),
  };
}

/** Fields 3.. of /proc/<pid>/stat: state, ppid, pgrp, session, ... */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
const pgrpOf = (pid: number) => Number(statFields(pid)[2]);
const sessionOf = (pid: number) => Number(statFields(pid)[3]);

/** Our descriptors open on `path`. */
const openOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });

describe('spawnChild', () => {
  it('starts the child in its own process group and session, so a group signal reaches its children too', async () => {
    const c = start(['sh', '-c', 'sleep 300 & echo $!; wait']);
    const pid = await c.pid();
    const grandchild = Number((await c.line((l) => l.stream === 'stdout')).line);
    pids.add(grandchild);
    expect(pgrpOf(pid)).toBe(pid);
    expect(sessionOf(pid)).toBe(pid);
    expect(pgrpOf(pid)).not.toBe(pgrpOf(process.pid));
    expect(pgrpOf(grandchild)).toBe(pid);
    process.kill(-pid, 'SIGTERM');
    expect(await c.exit()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('passes each output line on with its stream; a last line without a newline at the end; multi-byte text whole', async () => {
    const c = start([
      process.execPath,
      '-e',
      `const u = Buffer.from('ünï ✓\\n');
       process.stdout.write(u.subarray(0, 1)); process.stdout.write(u.subarray(1));
       process.stdout.write('a\\n\\nb\\n'); process.stderr.write('oops\\n'); process.stdout.write('tail')`,
    ]);
    await c.line((l) => l.line === 'tail');
    await c.line((l) => l.line === 'oops');
    expect(c.seen.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual([
      'ünï ✓',
      'a',
      '',
      'b',
      'tail',
    ]);
    expect(c.seen.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['oops']);
    expect(await c.exit()).toEqual({ code: 0, signal: null });
  });

  it('gives the child real pipes, so a program that opens /dev/stdout or /dev/stderr writes to them', async () => {
    // A Unix socket (libuv's own stdio) cannot be opened through /proc/self/fd: ENXIO.
    const c = start([
      'sh',
      '-c',
      'echo to-stdout > /dev/stdout && echo to-stderr > /dev/stderr && exec sleep 300',
    ]);
    const pid = await c.pid();
    await c.line((l) => l.line === 'to-stderr');
    expect(c.seen).toEqual([
      { stream: 'stdout', line: 'to-stdout' },
      { stream: 'stderr', line: 'to-stderr' },
    ]);
    expect(statSync(`/proc/${pid}/fd/1`).isFIFO()).toBe(true);
    expect(statSync(`/proc/${pid}/fd/2`).isFIFO()).toBe(true);
    process.kill(pid, 'SIGKILL');
    await c.exit();
  });

  it('lets a child running as another user open /dev/stdout too', async () => {
    if (process.getuid?.() !== 0) return; // switching users takes root
    const c = start([
      'setpriv',
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'sh',
      '-c',
      'echo "$(id -un) wrote this" > /dev/stdout',
    ]);
    expect(await c.exit()).toEqual({ code: 0, signal: null });
    expect(c.seen).toEqual([{ stream: 'stdout', line: 'nobody wrote this' }]);
  });

  it('keeps no pipe descriptor once the child has exited and its output is read', async () => {
    const pipesOpen = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return statSync(`/proc/self/fd/${fd}`).isFIFO();
        } catch {
          return false;
        }
      }).length;
    // Descriptors on pipes besides the pool's ready ones (two per pipe): a child's pipes
    // are taken out of the pool, and closed once it has exited and its output is read.
    const held = () => pipesOpen() - 2 * readyPipes();
    await start(['true']).exit(); // the pool of ready pipes is made
    const before = held();
    // 20 children take 40 pipes: more than a batch, so the pool is refilled on the way.
    for (let i = 0; i < 20; i++) await start(['sh', '-c', 'echo hi; echo ho >&2']).exit();
    expect(held()).toBe(before);
    expect(readyPipes()).toBeLessThanOrEqual(32); // one batch at most
  });

  it('passes a line longer than 64 KiB on in pieces of 64 KiB, nothing lost', async () => {
    expect(OUTPUT_LINE_MAX).toBe(64 * 1024);
    // Written in uneven pieces so that a line end can fall beyond 64 KiB within one read.
    const c = start([
      process.execPath,
      '-e',
      `const s = 'x'.repeat(150000) + '\\nshort\\n';
       for (let i = 0; i < s.length; i += 40000) process.stdout.write(s.slice(i, i + 40000));`,
    ]);
    await c.line((l) => l.line === 'short');
    const out = c.seen.map((l) => l.line);
    expect(out.map((l) => l.length)).toEqual([65536, 65536, 150000 - 2 * 65536, 5]);
    expect(out.slice(0, 3).join('')).toBe('x'.repeat(150000));
  });

  it('hands output files to the child itself, appended, and keeps no descriptor of them', async () => {
    const dir = tmp();
    const both = join(dir, 'logs', 'both.out');
    const c = start(['sh', '-c', 'echo out; echo err >&2; exec sleep 300'], { stdout: both, stderr: both });
    const pid = await c.pid();
    expect(openOn(both)).toEqual([]);
    // The child writes the file itself: no event says when, the file does.
    await waitFor('both lines in the file', () =>
      readFileSync(both, 'utf8') === 'out\nerr\n' ? true : undefined,
    );
    expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe(both);
    expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe(both);
    process.kill(pid, 'SIGKILL');
    await c.exit();
    expect(c.seen).toEqual([]);

    // One stream to a file, the other line by line; a second child appends to the same file.
    const d = start(['sh', '-c', 'echo again; echo "to the log" >&2'], { stdout: both });
    await d.line((l) => l.line === 'to the log');
    expect(await d.exit()).toEqual({ code: 0, signal: null });
    expect(readFileSync(both, 'utf8')).toBe('out\nerr\nagain\n');
    expect(d.seen).toEqual([{ stream: 'stderr', line: 'to the log' }]);
  });

  it('returns the reason, starts nothing and keeps no descriptor when an output file is refused', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'target'), '');
    symlinkSync(join(dir, 'target'), join(dir, 'err'));
    const out = join(dir, 'out');
    const c = start(['sh', '-c', `echo started > ${join(dir, 'ran')}`], {
      stdout: out,
      stderr: join(dir, 'err'),
    });
    expect(c.res).toEqual({
      error: `output file ${join(dir, 'err')}: is a symlink, which procreg never writes through`,
    });
    expect(openOn(out)).toEqual([]); // stdout was opened first: closed again
    expect(readdirSync(dir).sort()).toEqual(['err', 'out', 'target']);
  });

  it('says why an executable could not start: missing, not executable, or its working directory missing', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'script.sh'), '#!/bin/sh\n', { mode: 0o644 });
    const missing = join(dir, 'missing');
    const script = join(dir, 'script.sh');
    expect(await start([missing, 'arg']).outcome).toEqual({
      error: `cannot start ${missing}: not found (ENOENT)`,
    });
    expect(await start([script, 'arg']).outcome).toEqual({
      error: `cannot start ${script}: permission denied, not executable or a directory on its path is not searchable (EACCES)`,
    });
    expect(await start(['sh', '-c', 'true'], { cwd: join(dir, 'gone') }).outcome).toEqual({
      error: `cannot start sh: its working directory ${join(dir, 'gone')} does not exist`,
    });
  });

  it.each([
    ['EMFILE', 'procreg has run out of file descriptors (EMFILE); raise its limit (ulimit -n, LimitNOFILE=)'],
    ['ENFILE', 'procreg has run out of file descriptors (ENFILE); raise its limit (ulimit -n, LimitNOFILE=)'],
    ['EAGAIN', 'the process limit is reached (EAGAIN; ulimit -u, pids.max)'],
  ])('names %s as procreg running out of resources, not as a missing program', (code, why) => {
    const e = Object.assign(new Error(`spawn ${code}`), { code });
    expect(whyNotStarted({ command: ['web'], cwd: null }, e)).toBe(`cannot start web: ${why}`);
  });

  it('reports the exit code, or the signal, to onExit', async () => {
    expect(await start(['sh', '-c', 'exit 3']).exit()).toEqual({ code: 3, signal: null });
    const c = start(['sleep', '300']);
    const pid = await c.pid();
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect(await c.exit()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it("runs in its cwd, with its env added to procreg's own", async () => {
    const dir = tmp();
    process.env.PROCREG_TEST_INHERITED = 'from procreg';
    try {
      const c = start(['sh', '-c', 'pwd; echo "$PROCREG_TEST_X, $PROCREG_TEST_INHERITED"'], {
        cwd: dir,
        env: { PROCREG_TEST_X: 'x1' },
      });
      await c.exit();
      await c.line((l) => l.line.startsWith('x1'));
      expect(c.seen.map((l) => l.line)).toEqual([realpathSync(dir), 'x1, from procreg']);
    } finally {
      delete process.env.PROCREG_TEST_INHERITED;
    }
  });
});
