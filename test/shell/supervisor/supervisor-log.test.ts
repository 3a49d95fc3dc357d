// The supervisor's event log under stress: a log out of order, a full disk, a log moved away
// or a runDir removed under it. Supervision always goes on, and the log always replays.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReplaySubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { Event, EventBody } from '../../../src/events/types.js';
import { type LogItem, readLog } from '../../../src/shell/event-log/reader.js';
import { readPidFile } from '../../../src/shell/files/pidfile.js';
import { Supervisor, type SupervisorOptions } from '../../../src/shell/supervisor/supervisor.js';
import { procreg } from '../../support/cli.js';
import { firstMatch, nextEvent, ofType } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const started = new Set<number>();
const supervisors: Supervisor[] = [];
const mounts: string[] = [];
afterEach(async () => {
  // Supervisors first (they hold files on the mounts), then their processes, then the mounts.
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 3000))]);
  killAll(started);
  started.clear();
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'pipe' }); // still busy: detached all the same
    }
    rmSync(m, { recursive: true, force: true });
  }
});

const sleeper = { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], stopTimeout: '2s' };
const crashLoop = {
  command: ['sh', '-c', 'exit 1'],
  backoff: { initial: '20ms', factor: 1, max: '20ms' },
  maxRestarts: { count: 100000, within: '1s' },
};

function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

interface Said {
  readonly level: number;
  readonly msg: string;
}

/** Open a supervisor whose own log (procreg's, not the event log) the test reads. */
async function open(config: NormalizedConfig, options: Partial<SupervisorOptions> = {}) {
  const lines$ = new ReplaySubject<Said>();
  const all: Said[] = [];
  const logger = pino(
    { level: 'info', base: null },
    {
      write: (s: string) => {
        const l = JSON.parse(s) as Said;
        all.push(l);
        lines$.next(l);
      },
    },
  );
  const sup = await Supervisor.open({ config, logger, ...options });
  supervisors.push(sup);
  for (const p of sup.status().processes) started.add(p.pid);
  sup.events.subscribe((e) => {
    if (e.type === 'spawned') started.add(e.pid);
  });
  return {
    sup,
    /** Resolves once procreg's own log has said something matching `re`. */
    said: (re: RegExp, ms?: number) => firstMatch(lines$, (l) => re.test(l.msg), String(re), ms),
    /** How many times it said it. */
    count: (re: RegExp) => all.filter((l) => re.test(l.msg)).length,
  };
}

async function finish(sup: Supervisor): Promise<void> {
  await sup.stop('test');
  supervisors.splice(supervisors.indexOf(sup), 1);
}

async function items(path: string): Promise<LogItem[]> {
  const out: LogItem[] = [];
  for await (const item of readLog(path)) out.push(item);
  return out;
}

const pidOf = (sup: Supervisor, name: string) =>
  sup.status().services.find((s) => s.name === name)?.pid as number;

/** A small tmpfs at <dir>/procreg-tmpfs, unmounted after the test; null (and why, printed) where mounting fails. */
function tmpfs(dir: string, name = 'procreg-tmpfs'): string | null {
  const mnt = join(dir, name);
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    console.log(`skipped: cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
  mounts.push(mnt);
  return mnt;
}

/**
 * A runDir on the ordinary disk whose event log lives on a small tmpfs of its own (run/log):
 * a full log disk, while PID files, removed and rewritten as services restart, free no room
 * for the log by chance.
 */
function logOnTmpfs(): { dir: string; mnt: string | null } {
  const dir = tmp();
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const mnt = tmpfs(join(dir, 'run'), 'log');
  if (mnt) chmodSync(mnt, 0o700);
  return { dir, mnt };
}

/** Take every free block of the file system `dir` is on; remove the returned file to free them. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return filler;
}

/** `procreg replay --check` of a log, as an operator runs it. */
async function replayCheck(path: string): Promise<string> {
  const res = await procreg('replay', path, '--check');
  expect(res.code, res.stderr).toBe(0);
  return res.stderr;
}

describe('a log whose seq goes backwards or repeats', () => {
  const line = (body: EventBody, seq: number) => `${encodeEvent(stamp(body, seq, 1000 + seq, 1000 + seq))}\n`;
  const stopped: EventBody = { type: 'supervisor-stopped' };

  for (const [what, seqs, at] of [
    ['two writers interleaved', [1, 2, 3, 2, 4], { line: 4, seq: 2, after: 3 }],
    ['a log ending in a lower seq', [1, 2, 3, 4, 5, 3], { line: 6, seq: 3, after: 5 }],
  ] as const) {
    it(`is refused by Supervisor.open (ELOGSEQ), naming the line, both seqs and the way out: ${what}`, async () => {
      const dir = tmp();
      mkdirSync(join(dir, 'run'), { mode: 0o700 });
      const log = join(dir, 'run', 'events.jsonl');
      const text = seqs.map((s) => line(stopped, s)).join('');
      writeFileSync(log, text);
      const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
      await expect(open(cfg)).rejects.toMatchObject({
        code: 'ELOGSEQ',
        message: `event log ${log}: line ${at.line} has seq ${at.seq} after seq ${at.after}; seq must increase by one per line (two procregs writing one log, or lines of another log appended?). procreg will not continue a log it cannot replay in order: move it aside (mv ${log} ${log}.bad-seq) and start again — the new log starts empty, so first stop what the old one still runs (procreg replay ${log}.bad-seq shows it)`,
      });
      expect(readFileSync(log, 'utf8')).toBe(text); // not a line added
      expect(started.size).toBe(0);
    });
  }
});

describe('a write error never leaves a zombie supervisor', () => {
  it('an exception out of an effect (here: procreg’s own log failing) is survived, and supervision goes on', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'run', 'crash.pid'), { recursive: true }); // every PID file write fails
    const cfg = normalized({ runDir: './run', services: { crash: crashLoop } }, dir);
    // procreg's own log throws on the PID file error it is told about (as a closed stdout would).
    const logger = pino(
      { level: 'info', base: null },
      {
        write: (s: string) => {
          if (s.includes('PID file')) throw new Error('EPIPE: the log went away');
        },
      },
    );
    const sup = await Supervisor.open({ config: cfg, logger });
    supervisors.push(sup);
    sup.events.subscribe((e) => e.type === 'spawned' && started.add(e.pid));
    for (let i = 0; i < 3; i++) await nextEvent(sup, ofType('spawned'));
    await finish(sup);
    expect(sup.status().phase).toBe('stopped');
  });
});

describe('a full disk: the log degrades, supervision goes on, and the log catches up', () => {
  it('keeps the events in memory, restarts services meanwhile, and writes everything in order when space returns', async () => {
    const { dir, mnt } = logOnTmpfs();
    if (!mnt) return;
    const cfg = normalized(
      { runDir: './run', eventLog: './run/log/events.jsonl', services: { crash: crashLoop } },
      dir,
    );
    const { sup, said, count } = await open(cfg, { logCheckIntervalMs: 50 });
    const degraded = said(/^event log .*: cannot write \(ENOSPC/);
    const filler = fill(mnt);
    await degraded;
    // Supervising on: restarts go on while nothing reaches the disk.
    const restarts = sup.status().services[0]?.restarts as number;
    for (let i = 0; i < 3; i++) await nextEvent(sup, ofType('spawned'));
    const status = sup.status();
    expect(status.services[0]?.restarts).toBeGreaterThanOrEqual(restarts + 2);
    expect(status.log).toMatchObject({ degraded: true, since: expect.any(Number), lost: 0 });
    expect(status.log.pending).toBeGreaterThan(10);

    const caughtUp = said(/: written again; \d+ event\(s\) kept in memory written$/);
    unlinkSync(filler);
    await caughtUp;
    expect(sup.status().log).toEqual({ degraded: false, since: null, pending: 0, lost: 0 });
    await finish(sup);

    // The log is complete: every seq from 1 to the last, in order, nothing damaged.
    const logged = await items(cfg.eventLog);
    expect(logged.filter((i) => i.kind === 'problem')).toEqual([]);
    const seqs = logged.map((i) => (i as { event: Event }).event.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.at(-1)).toBe(sup.status().seq);
    expect((logged.at(-1) as { event: Event }).event.type).toBe('supervisor-stopped');
    // Loud once per transition, not once per event.
    expect([count(/^event log .*: cannot write/), count(/written again/)]).toEqual([1, 1]);
    await replayCheck(cfg.eventLog);
  });

  it('beyond its bound it drops the queue, counts what was lost, and records the gap and a snapshot the log replays from', async () => {
    const { dir, mnt } = logOnTmpfs();
    if (!mnt) return;
    const cfg = normalized(
      { runDir: './run', eventLog: './run/log/events.jsonl', services: { crash: crashLoop } },
      dir,
    );
    const { sup, said, count } = await open(cfg, { logCheckIntervalMs: 50, logQueue: { maxEvents: 30 } });
    const overflowed = said(/more unwritten events than the queue holds \(30 events/);
    const filler = fill(mnt);
    await overflowed;
    for (let i = 0; i < 2; i++) await nextEvent(sup, ofType('spawned')); // still restarting
    expect(sup.status().log).toMatchObject({ degraded: true, pending: 0 });
    expect(sup.status().log.lost).toBeGreaterThan(30);

    const gap = nextEvent(sup, ofType('log-gap'));
    const caughtUp = said(
      /: written again; .* lost \(recorded as a log-gap, with a snapshot of the registry\)$/,
    );
    unlinkSync(filler);
    const { fromSeq, toSeq, reason } = await gap;
    await caughtUp;
    expect(reason).toBe('queue-overflow');
    expect(sup.status().log).toMatchObject({ degraded: false, pending: 0, lost: toSeq - fromSeq + 1 });
    await finish(sup);

    const logged = await items(cfg.eventLog);
    expect(logged.filter((i) => i.kind === 'problem')).toEqual([]); // the gap is explained, not damage
    const events = logged.map((i) => (i as { event: Event }).event);
    const at = events.findIndex((e) => e.type === 'log-gap');
    expect(events[at - 1]?.seq).toBe(fromSeq - 1);
    expect(events[at + 1]?.type).toBe('snapshot');
    expect(events.at(-1)?.type).toBe('supervisor-stopped');
    expect([
      count(/^event log .*: cannot write/),
      count(/more unwritten events/),
      count(/written again/),
    ]).toEqual([1, 1, 1]);
    await replayCheck(cfg.eventLog);
  });
});

describe('files moved or deleted under a running supervisor', () => {
  it('a log moved away: a fresh one at the configured path, starting with a log-gap naming where the old one went and a snapshot', async () => {
    const dir = tmp();
    const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
    const { sup } = await open(cfg, { logCheckIntervalMs: 50 });
    const log = cfg.eventLog;
    const moved = join(dir, 'run', 'events.1');
    const gap = nextEvent(sup, ofType('log-gap'));
    renameSync(log, moved);
    expect(await gap).toMatchObject({ reason: 'log-replaced', fromSeq: 1, previous: moved });

    // Supervision goes on, into the new log.
    const first = pidOf(sup, 'web');
    const rewritten = nextEvent(
      sup,
      ofType('pidfile-written', (e) => e.pid !== first && e.error === null),
    );
    process.kill(first, 'SIGKILL');
    const { pid: second } = await rewritten;
    expect(readPidFile(join(dir, 'run', 'web.pid'))).toBe(second);
    await finish(sup);

    const old = (await items(moved)).map((i) => (i as { event: Event }).event);
    const fresh = (await items(log)).map((i) => (i as { event: Event }).event);
    const { toSeq } = await gap;
    expect(old.at(-1)?.seq).toBe(toSeq); // nothing written into the moved file afterwards
    expect(fresh.slice(0, 2).map((e) => [e.type, e.seq])).toEqual([
      ['log-gap', toSeq + 1],
      ['snapshot', toSeq + 2],
    ]);
    expect(fresh.some((e) => e.type === 'spawned' && e.pid === second)).toBe(true);
    expect(await replayCheck(log)).toMatch(/^check: \d+ events, every invariant holds/m);
  });

  it('looked for once per turn of the event loop: the rest of a turn goes to the moved file, the next turn starts the fresh log with the gap (issue 15: restart latency)', async () => {
    const dir = tmp();
    const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
    // A minute-long interval: only the inputs below (and the watch, a second later) look.
    const { sup } = await open(cfg, { logCheckIntervalMs: 60_000 });
    const log = cfg.eventLog;
    const moved = join(dir, 'run', 'events.1');
    const ask = (name: string) =>
      sup.push({ type: 'start-requested', target: 'service', name, source: 'test' });
    const gap = nextEvent(sup, ofType('log-gap'));
    await new Promise((r) => setImmediate(r)); // a turn of its own
    // One turn: the first input looks (nothing moved yet), the log moves, two more inputs.
    ask('first');
    renameSync(log, moved);
    ask('second');
    ask('third');
    const old = (await items(moved)).map((i) => (i as { event: Event }).event);
    const names = old.flatMap((e) => (e.type === 'start-requested' ? [e.name] : []));
    expect(names).toEqual(['first', 'second', 'third']);
    // The next turn's first input looks: a fresh log, its gap naming the moved file.
    await new Promise((r) => setImmediate(r));
    ask('fourth');
    const { toSeq, previous, reason } = await gap;
    expect({ previous, reason }).toEqual({ previous: moved, reason: 'log-replaced' });
    expect(old.at(-1)?.seq).toBeLessThanOrEqual(toSeq); // the gap covers what went to the moved file
    await finish(sup);
    const fresh = (await items(log)).map((i) => (i as { event: Event }).event);
    expect(fresh.slice(0, 2).map((e) => e.type)).toEqual(['log-gap', 'snapshot']);
    expect(fresh.some((e) => e.type === 'start-requested' && e.name === 'fourth')).toBe(true);
    expect(fresh.some((e) => e.type === 'start-requested' && e.name === 'third')).toBe(false);
    expect(await replayCheck(log)).toMatch(/^check: \d+ events, every invariant holds/m);
  });

  it('noticed while nothing happens, without polling: the runDir and the log are watched (issue 15: idle CPU 0)', async () => {
    const dir = tmp();
    const run = join(dir, 'run');
    const cfg = normalized(
      { runDir: './run', eventLog: './run/log/events.jsonl', services: { web: sleeper } },
      dir,
    );
    // A poll a minute apart cannot explain what follows within the bounded waits.
    const { sup, said } = await open(cfg, { logCheckIntervalMs: 60_000 });
    const moved = join(run, 'log', 'events.1');
    const gap = nextEvent(sup, ofType('log-gap'), 3000);
    renameSync(cfg.eventLog, moved);
    expect(await gap).toMatchObject({ reason: 'log-replaced', previous: moved });

    const recreated = firstMatch(sup.runDirRecreated, () => true, 'runDirRecreated', 3000);
    const again = nextEvent(
      sup,
      ofType('log-gap', (e) => e.reason === 'run-dir-removed'),
      3000,
    );
    rmSync(run, { recursive: true });
    expect(await recreated).toEqual({ runDir: run });
    await again;
    await said(/^runDir .* was removed while procreg runs; re-creating it/);
    expect(statSync(run).mode & 0o777).toBe(0o700);
    await finish(sup);
    expect(await replayCheck(cfg.eventLog)).toMatch(/every invariant holds/);
  });

  it('the runDir removed (rm -rf): re-created 0700, a fresh log, the PID files of running services written again, and the owner told', async () => {
    const dir = tmp();
    const run = join(dir, 'run');
    const cfg = normalized({ runDir: './run', services: { web: sleeper, db: sleeper } }, dir);
    // No timer check here: nothing may write into the runDir while rm -rf empties it.
    const { sup, said } = await open(cfg, { logCheckIntervalMs: 60_000 });
    const [web, db] = [pidOf(sup, 'web'), pidOf(sup, 'db')];
    const recreated = firstMatch(sup.runDirRecreated, () => true, 'runDirRecreated');
    const gap = nextEvent(sup, ofType('log-gap'));
    const webBack = nextEvent(
      sup,
      ofType('pidfile-written', (e) => e.path === join(run, 'web.pid') && e.pid !== web),
    );
    rmSync(run, { recursive: true });
    process.kill(web, 'SIGKILL'); // the next event: the supervisor notices at once

    expect(await recreated).toEqual({ runDir: run });
    expect(await gap).toMatchObject({ reason: 'run-dir-removed', fromSeq: 1, previous: null });
    await said(/^runDir .* was removed while procreg runs; re-creating it/);
    expect(statSync(run).mode & 0o777).toBe(0o700);
    expect(readPidFile(join(run, 'db.pid'))).toBe(db); // written again from the registry
    const { pid: webNow, error } = await webBack;
    expect(error).toBeNull();
    expect(readPidFile(join(run, 'web.pid'))).toBe(webNow);
    await finish(sup);

    expect(readPidFile(join(run, 'db.pid'))).toBe('absent'); // and removed at the stop, as always
    const fresh = (await items(cfg.eventLog)).map((i) => (i as { event: Event }).event);
    expect(fresh.slice(0, 2).map((e) => e.type)).toEqual(['log-gap', 'snapshot']);
    expect(fresh.filter((e) => e.type === 'pidfile-written' && e.pid === db)).toHaveLength(1);
    expect(await replayCheck(cfg.eventLog)).toMatch(/every invariant holds/);
  });
});
