import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, stamp, bodyOf } from '../../../src/events/codec.js';
import { logEvents, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';
import { procregAs } from '../config/cli-runner.js';

const procreg = (args: string[]) => procregAs(args);

const tmp = useTmpDir();
const runs = useProcregRun();
const BIN = join(process.cwd(), 'bin', 'procreg.js');

/** `procreg events ... --follow` as a child whose stdout lines are collected as they come. */
function follower(args: string[]) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'events', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  followers.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d) => (out += String(d)));
  proc.stderr?.on('data', (d) => (err += String(d)));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exit,
    seqs: () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { seq: number }).seq),
    stderr: () => err,
  };
}

const followers: ChildProcess[] = [];
afterEach(() => {
  for (const p of followers.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** The live segment's last seq; 0 in the instant of a rotation (renamed away, the next not yet created). */
async function lastSeqOf(log: string): Promise<number> {
  try {
    return (await logEvents(log)).at(-1)?.seq ?? 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const demo = readFileSync('examples/demo.events.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const r = decodeEvent(l);
    if (!r.ok) throw new Error(r.error);
    return r.event;
  });
/** The demo log's event `i` (from 0) as the line of seq i + 1. */
const line = (i: number) => {
  const e = demo[i] as (typeof demo)[number];
  return `${encodeEvent(stamp(bodyOf(e), i + 1, e.time, e.mono))}\n`;
};
/** Appends seqs from + 1 … to. */
const write = (path: string, from: number, to: number) => {
  for (let i = from; i < to; i++) appendFileSync(path, line(i));
};
/** The seq a cursor file holds, once it exists. */
const cursorSeq = (path: string) =>
  existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { seq: number }).seq : undefined;

describe('procreg events --follow --cursor-file', () => {
  it('is lossless and duplicate-free across a stop and a start of the follower while a real supervisor appends and rotates', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run
eventLog: { path: ./run/events.jsonl, segmentSize: 4kB, retain: { segments: 100000 } }
services:
  crashy:
    command: [sh, -c, "sleep 0.05; exit 1"]
    backoff: { initial: 20ms, max: 50ms }
    maxRestarts: { count: 100000, within: 1s }
checks:
  tick:
    command: [sh, -c, "exit 0"]
    interval: 100ms
`,
    );
    const log = join(dir, 'run', 'events.jsonl');
    const cursor = join(dir, 'cursor.json');
    const sup = runs.start(config, join(dir, 'run'), '--log-format', 'json');
    await waitFor('the event log', () => (existsSync(log) && statSync(log).size > 0 ? true : undefined));
    const args = [config, '--follow', '--json', '--cursor-file', cursor];

    /** Where a follower stood when it did not get as far as awaited. */
    const stood = async (f: ReturnType<typeof follower>, after: number) => {
      const got = f.seqs();
      const segments = readdirSync(join(dir, 'run')).filter((n) => n.startsWith('events'));
      return `followed ${got.length} (${got[0]}..${got.at(-1)}) after ${after}; the live segment ends at ${await lastSeqOf(log)}; segments ${segments.join(' ')}; follower stderr: ${JSON.stringify(f.stderr())}; exit ${f.proc.exitCode ?? f.proc.signalCode}`;
    };

    const first = follower(args);
    await waitFor('40 events followed', () => (first.seqs().length >= 40 ? true : undefined), 20_000).catch(
      async (e: Error) => {
        throw new Error(`${e.message}: ${await stood(first, 0)}`);
      },
    );
    first.proc.kill('SIGINT');
    expect(await first.exit).toBe(0);
    const printed1 = first.seqs();
    expect(JSON.parse(readFileSync(cursor, 'utf8'))).toMatchObject({ v: 1, seq: printed1.at(-1), log });

    // The supervisor goes on appending while no follower runs.
    const gapFrom = printed1.at(-1) as number;
    await waitFor(
      '40 more events written',
      async () => ((await lastSeqOf(log)) > gapFrom + 40 ? true : undefined),
      20_000,
    );

    const second = follower(args);
    await waitFor(
      '60 events followed again',
      () => (second.seqs().length >= 60 ? true : undefined),
      20_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await stood(second, gapFrom)}`);
    });
    second.proc.kill('SIGTERM');
    expect(await second.exit).toBe(0);

    sup.proc.kill('SIGTERM');
    expect(await sup.exit).toBe(0);
    const rest = follower([config, '--json', '--cursor-file', cursor]);
    expect(await rest.exit).toBe(0);

    const all = [...printed1, ...second.seqs(), ...rest.seqs()];
    const last = (await logEvents(log)).at(-1)?.seq as number;
    expect(all).toEqual(range(1, last));
    // The log was rotated while followed: several closed segments beside the live one.
    const segments = readdirSync(join(dir, 'run')).filter((f) => /^events\.\d{16}\.jsonl$/.test(f));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(first.stderr() + second.stderr() + rest.stderr()).toBe('');

    // The same real log read by history and why, through its config.
    const h = await procreg(['history', config, 'crashy', '--json']);
    expect(h.code).toBe(0);
    const rows = (JSON.parse(h.stdout) as { rows: { endedBy: { kind: string }; then: { kind: string } }[] })
      .rows;
    expect(rows.length).toBeGreaterThan(3);
    expect(rows[0]).toMatchObject({ endedBy: { kind: 'crash' }, then: { kind: 'restart' } });
    const w = await procreg(['why', config, 'crashy']);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(
      /root cause: (procreg was told to stop \(SIGTERM\)|crashy exited with code 1 on its own: nobody had asked it to stop)\n$/,
    );
  });

  it('waits for a live segment missing in the instant of a rotation, and reads the segment closed meanwhile before it', async () => {
    // A rotation is two steps: the live segment renamed to its closed name, then the next one
    // created. A follower that starts between them finds no live segment.
    const dir = tmp();
    const cursor = join(dir, 'cursor.json');
    write(join(dir, 'events.0000000000000001.jsonl'), 0, 5);
    const f = follower([dir, '--follow', '--json', '--cursor-file', cursor]);
    // Caught up with all there is (its cursor saved), it waits for the live segment.
    await waitFor('the cursor at seq 5', () => (cursorSeq(cursor) === 5 ? true : undefined)).catch(
      (e: Error) => {
        throw new Error(
          `${e.message}: followed ${JSON.stringify(f.seqs())}; stderr ${JSON.stringify(f.stderr())}; exit ${f.proc.exitCode}`,
        );
      },
    );
    // Meanwhile the supervisor filled another segment and closed it, then created the live one.
    write(join(dir, 'events.0000000000000006.jsonl'), 5, 10);
    write(join(dir, 'events.jsonl'), 10, 15);
    await waitFor('seq 1-15', () => (f.seqs().length >= 15 ? true : undefined));
    f.proc.kill('SIGINT');
    expect(await f.exit).toBe(0);
    expect(f.seqs()).toEqual(range(1, 15));
    expect(f.stderr()).toBe('');
  });

  it('reads a segment closed and followed by another rotation between two looks at the live one', async () => {
    const dir = tmp();
    const log = join(dir, 'events.jsonl');
    const cursor = join(dir, 'cursor.json');
    write(log, 0, 5);
    const f = follower([dir, '--follow', '--json', '--cursor-file', cursor]);
    await waitFor('the cursor at seq 5', () => (cursorSeq(cursor) === 5 ? true : undefined));
    // Two rotations at once (a follower stalled, a supervisor writing fast): the file it
    // follows is closed, and so is the next one, before it looks again.
    renameSync(log, join(dir, 'events.0000000000000001.jsonl'));
    write(log, 5, 10);
    renameSync(log, join(dir, 'events.0000000000000006.jsonl'));
    write(log, 10, 15);
    await waitFor('seq 1-15', () => (f.seqs().length >= 15 ? true : undefined)).catch((e: Error) => {
      throw new Error(
        `${e.message}: followed ${JSON.stringify(f.seqs())}; stderr ${JSON.stringify(f.stderr())}`,
      );
    });
    write(log, 15, 20);
    await waitFor('seq 1-20', () => (f.seqs().length >= 20 ? true : undefined));
    f.proc.kill('SIGINT');
    expect(await f.exit).toBe(0);
    expect(f.seqs()).toEqual(range(1, 20));
    expect(f.stderr()).toBe('');
  });

  it('reads each closed segment once before following, an empty one included (it never stalls there)', async () => {
    const dir = tmp();
    const demo = readFileSync('examples/demo.events.jsonl', 'utf8').trim().split('\n');
    writeFileSync(join(dir, 'events.0000000000000001.jsonl'), `${demo.slice(0, 5).join('\n')}\n`);
    writeFileSync(join(dir, 'events.0000000000000006.jsonl'), ''); // cut short by a crash, say
    writeFileSync(join(dir, 'events.jsonl'), `${demo.slice(5, 10).join('\n')}\n`);
    const f = follower([dir, '--follow', '--json']);
    await waitFor('seq 1-10', () => (f.seqs().length >= 10 ? true : undefined));
    f.proc.kill('SIGINT');
    expect(await f.exit).toBe(0);
    expect(f.seqs()).toEqual(range(1, 10));
  });

  it('follows the log across a rotation (renamed away, a new file continuing the seqs) and a truncation', async () => {
    const dir = tmp();
    const log = join(dir, 'events.jsonl');
    write(log, 0, 60);
    const f = follower([log, '--follow', '--json']);
    await waitFor('the first 60', () => (f.seqs().length >= 60 ? true : undefined));
    write(log, 60, 80);
    await waitFor('80', () => (f.seqs().length >= 80 ? true : undefined));
    // Rotation: the file is renamed away (with two more lines written to it just before) and a new one continues.
    write(log, 80, 82);
    renameSync(log, join(dir, 'events.1.jsonl'));
    write(log, 82, 120);
    await waitFor('120', () => (f.seqs().length >= 120 ? true : undefined));
    // Truncated in place, then written again with the lines after (a copytruncate).
    writeFileSync(log, '');
    await waitFor('the truncation noticed', () => (f.stderr().includes('truncated') ? true : undefined));
    write(log, 120, 198);
    await waitFor('all 198', () => (f.seqs().length >= 198 ? true : undefined));
    f.proc.kill('SIGINT');
    expect(await f.exit).toBe(0);
    expect(f.seqs()).toEqual(range(1, 198));
    // The rotation is the log going on: nothing said; the truncation is told.
    expect(f.stderr()).not.toContain('replaced');
    expect(f.stderr()).toContain('truncated');
  });
});
