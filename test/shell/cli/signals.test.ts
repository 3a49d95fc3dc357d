import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_SIGNALS, RUN_SIGNALS } from '../../../src/shell/cli/signals.js';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { procreg } from '../../support/cli.js';
import { writeLongLog } from '../../support/long-log.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
const others: number[] = [];
afterEach(() => {
  killAll(others.splice(0));
});

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

function writeConfig(dir: string): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(path, `runDir: ./run\nservices:\n  web:\n    command: ${NODE_IDLE}\n    stopTimeout: 2s\n`);
  return path;
}

async function running() {
  const dir = tmp();
  const runDir = join(dir, 'run');
  const config = writeConfig(dir);
  const r = runs.start(config, runDir);
  await r.printed('procreg running');
  const web = runs.track(await pidFileOf(runDir, 'web'));
  return { dir, runDir, config, r, web };
}

const bit = (name: string) =>
  1n << (BigInt((constants.signals as Record<string, number>)[name] as number) - 1n);
const mask = (names: readonly string[]) => names.reduce((m, n) => m | bit(n), 0n);

/** Once every signal of `names` is caught by `pid` (SigCgt of /proc/<pid>/status). */
function catching(pid: number, names: readonly string[], ms = 10_000): Promise<true> {
  const want = mask(names);
  return waitFor(
    `pid ${pid} to catch ${names.join(', ')}`,
    () => {
      const m = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m && (BigInt(`0x${m[1]}`) & want) === want ? true : undefined;
    },
    ms,
    1,
  );
}

/** Listening TCP sockets (any port) among the descriptors of `pid`: Node's inspector would be one. */
function tcpListeners(pid: number): string[] {
  const listening = new Map<string, string>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') listening.set(cols[9] as string, `${table} ${cols[1]}`); // st 0A: LISTEN
    }
  }
  const mine: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link = '';
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode && listening.has(inode)) mine.push(listening.get(inode) as string);
  }
  return mine;
}

describe('procreg run and signals', () => {
  it('part 1: catches every signal of its table from the first line of bin/procreg.js, before any module loads', async () => {
    const dir = tmp();
    const r = runs.start(writeConfig(dir), join(dir, 'run'));
    await catching(r.pid, Object.keys(RUN_SIGNALS));
    // SIGSEGV, SIGBUS, SIGFPE, SIGILL are left to Node; SIGKILL and SIGSTOP cannot be caught.
    expect(Object.keys(RUN_SIGNALS)).not.toEqual(
      expect.arrayContaining(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGKILL', 'SIGSTOP']),
    );
    await r.printed('procreg running');
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('part 1: SIGUSR1 never opens the inspector: procreg logs it and goes on supervising', async () => {
    const { runDir, r, web } = await running();
    r.proc.kill('SIGUSR1');
    await r.printed('SIGUSR1 received: reserved');
    expect(tcpListeners(r.pid)).toEqual([]);
    expect(r.stderr()).not.toMatch(/Debugger listening|inspector/i);
    // Still supervising: a service killed is restarted.
    const restarted = logEvent(
      join(runDir, 'events.jsonl'),
      ofType('spawned', (e) => e.name === 'web' && e.pid !== web),
      'web restarted',
    );
    process.kill(web, 'SIGKILL');
    runs.track((await restarted).pid);
    expect(tcpListeners(r.pid)).toEqual([]);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('part 1: logs and ignores every signal whose default would kill it, and goes on supervising', async () => {
    const { runDir, config, r, web } = await running();
    const ignored = Object.entries(RUN_SIGNALS)
      .filter(([, meaning]) => meaning === 'ignored' || meaning === 'reserved')
      .map(([name]) => name);
    expect(ignored).toEqual(
      expect.arrayContaining(['SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGIO']),
    );
    expect(ignored).toEqual(expect.arrayContaining(['SIGSTKFLT', 'SIGTRAP', 'SIGSYS', 'SIGUSR1']));
    for (const name of ignored) {
      r.proc.kill(name as NodeJS.Signals);
      await r.printed(`"signal":"${name}"`);
      expect(alive(r.pid)).toBe(true);
    }
    expect(r.output()).toContain(
      '"msg":"SIGALRM received: ignored (procreg stops on SIGTERM, SIGINT, SIGQUIT or SIGPWR only)"',
    );
    expect((await procreg('status', config)).code).toBe(0);
    const restarted = logEvent(
      join(runDir, 'events.jsonl'),
      ofType('spawned', (e) => e.name === 'web' && e.pid !== web),
      'web restarted',
    );
    process.kill(web, 'SIGKILL');
    runs.track((await restarted).pid);
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it.each(['SIGQUIT', 'SIGPWR', 'SIGINT', 'SIGTERM'])(
    'part 1: %s is a clean stop: every service stopped, procreg.pid removed, exit 0',
    async (signal) => {
      const { runDir, r, web } = await running();
      expect(RUN_SIGNALS[signal as keyof typeof RUN_SIGNALS]).toBe('stop');
      expect(readPidFile(join(runDir, 'procreg.pid'))).toBe(r.pid);
      r.proc.kill(signal as NodeJS.Signals);
      expect(await r.exit).toBe(0);
      expect(r.proc.signalCode).toBeNull();
      expect(alive(web)).toBe(false);
      expect(readPidFile(join(runDir, 'procreg.pid'))).toBe('absent');
      expect(readPidFile(join(runDir, 'web.pid'))).toBe('absent');
      const log = await logEvents(join(runDir, 'events.jsonl'));
      expect(log.find(ofType('supervisor-stopping'))).toMatchObject({ reason: signal });
      expect(log.at(-1)?.type).toBe('supervisor-stopped');
    },
  );

  it('part 1: every other command catches SIGUSR1 and SIGUSR2 too, so the inspector never opens', async () => {
    const dir = tmp();
    const log = join(dir, 'events.jsonl');
    writeLongLog(log, 1_000_000); // a replay long enough to signal it while it runs
    const cli = spawn(process.execPath, ['bin/procreg.js', 'replay', log], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    others.push(cli.pid as number);
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += String(d)));
    const exit = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    await catching(cli.pid as number, CLI_SIGNALS);
    cli.kill('SIGUSR1');
    cli.kill('SIGUSR2');
    expect(await exit).toBe(0);
    expect(stderr).toBe('');
  });
  it('under `node --cpu-prof` leaves SIGPROF to V8: the profile of a run is written (issue 15)', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = writeConfig(dir);
    const profDir = join(dir, 'prof');
    const proc = spawn(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${profDir}`, join(process.cwd(), 'bin', 'procreg.js'), 'run', config],
      { cwd: dir, stdio: 'ignore' },
    );
    others.push(proc.pid as number);
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    runs.track(await pidFileOf(runDir, 'web'));
    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(1);
  });
});
