// A segmented log whose chain is broken — a middle segment deleted, a snapshot line cut short at
// a segment's head, a segment of another log, two segments overlapping — is named for what it
// is: `procreg replay` exits 1 naming the file and the seq; `procreg run` refuses it (exit 2,
// ELOGCHAIN), says how to recover, and starts nothing. A log from before segments (v1) still
// replays, and `procreg run` continues it as a segmented one. Logs from before config-loaded
// recorded its reload rule replay by the rule they show.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import type { Event } from '../../../src/events/types.js';
import { readLogParts } from '../../../src/shell/event-log/reader.js';
import { allFiles, listLogFiles, type SegmentFile } from '../../../src/shell/event-log/segments.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { procreg } from '../../support/cli.js';
import { useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();
const sups: Supervisor[] = [];
afterEach(async () => {
  for (const s of sups.splice(0)) await s.stop('test over');
});

const CRASH = {
  command: ['sh', '-c', 'exit 1'],
  backoff: { initial: '5ms', factor: 1, max: '5ms' },
  maxRestarts: { count: 1_000_000, within: '1s' },
};

/** The config `procreg run` is given: one service, whose PID file says whether it was started. */
function writeRunConfig(dir: string): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(path, `runDir: ./run\nservices:\n  idle:\n    command: [sleep, "1000"]\n`);
  return path;
}

/**
 * A real segmented log in `<dir>/run`: a supervisor (the library) whose crash-looping services
 * fill segments of 8 kB — below what a config may say, for speed — until `closed` are closed;
 * then it stops, leaving nothing running.
 */
async function segmentedLog(dir: string, closed = 4): Promise<{ live: string; files: SegmentFile[] }> {
  const res = normalizeConfig({ runDir: './run', services: { a: CRASH, b: CRASH } }, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  const cfg: NormalizedConfig = {
    ...res.config,
    eventLogPolicy: {
      ...res.config.eventLogPolicy,
      segmentSize: 8 * 1024,
      retain: { ...res.config.eventLogPolicy.retain, segments: 100 },
    },
  };
  const sup = await Supervisor.open({ config: cfg });
  sups.push(sup);
  await waitFor(`${closed} closed segments`, () =>
    listLogFiles(cfg.eventLog).closed.length >= closed ? true : undefined,
  );
  await sup.stop('log written');
  sups.splice(sups.indexOf(sup), 1);
  return { live: cfg.eventLog, files: [...allFiles(listLogFiles(cfg.eventLog))] };
}

async function eventsOf(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const b of readLogParts([{ path }])) out.push(...b.events);
  return out;
}

/** The log's files and their sizes: what a refusal must leave as it was. */
function logFilesIn(runDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of readdirSync(runDir).sort())
    if (n.endsWith('.jsonl')) out[n] = statSync(join(runDir, n)).size;
  return out;
}

/** `procreg run` on the damaged log: exit 2 naming what is wrong and the way out; nothing started, nothing written. */
async function expectRunRefuses(dir: string, what: string): Promise<void> {
  const runDir = join(dir, 'run');
  const before = logFilesIn(runDir);
  const run = runs.startIn(dir, writeRunConfig(dir), runDir);
  const code = await Promise.race([
    run.exit,
    new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000).unref()),
  ]);
  expect(code, run.output()).toBe(2);
  const err = run.stderr();
  expect(err).toContain(`procreg run: event log: ${what}. `);
  expect(err).toMatch(/procreg will not continue a log whose segments do not form one chain/);
  expect(err).toMatch(/procreg replay .*stop those processes.*move the log's files aside/);
  expect(err).not.toMatch(/\n\s+at /); // no stack trace
  expect(logFilesIn(runDir)).toEqual(before);
  expect(readdirSync(runDir)).not.toContain('idle.pid');
}

describe('a broken chain of segments', () => {
  it('a deleted middle segment: replay names the gap (file and seq, exit 1); run refuses (exit 2)', async () => {
    const dir = tmp();
    const { live, files } = await segmentedLog(dir);
    const gone = files[2] as SegmentFile;
    const after = files[3] as SegmentFile;
    const lastBefore = (await eventsOf((files[1] as SegmentFile).path)).at(-1)?.seq as number;
    unlinkSync(gone.path);

    const r = await procreg('replay', join(dir, 'run'), '--check');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${after.path}:1: seq-gap: seq jumps from ${lastBefore} to ${after.firstSeq} (after ${(files[1] as SegmentFile).path})`,
    );
    // Without --check too: the registry it would print is not the fold of the log's history.
    const plain = await procreg('replay', join(dir, 'run'));
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('the segments of the log do not form one chain (1 break(s), above)');
    await expectRunRefuses(
      dir,
      `${(files[1] as SegmentFile).path} ends at seq ${lastBefore} but ${after.path} starts at seq ${after.firstSeq}: ${(after.firstSeq as number) - lastBefore - 1} event(s) are missing between them (a segment deleted?)`,
    );
    expect(live).toBe(join(dir, 'run', 'events.jsonl'));
  });

  for (const where of ['a middle segment', 'the live segment'] as const) {
    it(`a snapshot line cut short at the head of ${where}: replay names it (exit 1); run refuses (exit 2)`, async () => {
      const dir = tmp();
      const { files } = await segmentedLog(dir);
      const f = (where === 'the live segment' ? files.at(-1) : files[2]) as SegmentFile;
      const text = readFileSync(f.path, 'utf8');
      const nl = text.indexOf('\n');
      const snapshotSeq = (JSON.parse(text.slice(0, nl)) as Event).seq;
      writeFileSync(f.path, `${text.slice(0, Math.floor(nl / 2))}${text.slice(nl)}`);

      const r = await procreg('replay', join(dir, 'run'), '--check');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${f.path}:1: invalid:`);
      expect(r.stderr).toContain(
        `${f.path}:2: seq-gap: seq jumps from ${snapshotSeq - 1} to ${snapshotSeq + 1}`,
      );
      await expectRunRefuses(
        dir,
        `the first line of ${f.path} is damaged (the line at seq ${snapshotSeq}, which heads the segment)`,
      );
    });
  }

  for (const where of ['a middle segment', 'the newest closed segment'] as const) {
    it(`a segment of another log (another log id) as ${where}: replay names it (exit 1); run refuses (exit 2)`, async () => {
      const dir = tmp();
      const { files } = await segmentedLog(dir);
      const f = (where === 'a middle segment' ? files[2] : files.at(-2)) as SegmentFile;
      const text = readFileSync(f.path, 'utf8');
      const head = JSON.parse(text.slice(0, text.indexOf('\n'))) as Extract<Event, { type: 'snapshot' }>;
      const other = '00000000-0000-4000-8000-000000000000';
      writeFileSync(f.path, text.replace(`"logId":"${head.logId}"`, `"logId":"${other}"`));

      const r = await procreg('replay', join(dir, 'run'), '--check');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${f.path}:1: foreign-log: the snapshot at seq ${head.seq} belongs to log ${other}, but ${(files[0] as SegmentFile).path} belongs to log ${head.logId}`,
      );
      await expectRunRefuses(
        dir,
        `${f.path} belongs to log ${other} (its snapshot at seq ${head.seq}) but ${(files[0] as SegmentFile).path} to log ${head.logId}: a segment of another log`,
      );
    });
  }

  it('two segments overlapping: replay names the repeated seq (exit 1); run refuses (exit 2)', async () => {
    const dir = tmp();
    const { files } = await segmentedLog(dir);
    const a = files[1] as SegmentFile;
    const b = files[2] as SegmentFile;
    // a's last lines again at the end of a: a now runs into b's first seqs.
    const bLines = readFileSync(b.path, 'utf8').split('\n');
    writeFileSync(a.path, `${readFileSync(a.path, 'utf8')}${bLines.slice(0, 3).join('\n')}\n`);

    const r = await procreg('replay', join(dir, 'run'), '--check');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${b.path}:1: seq-repeat: seq ${b.firstSeq} does not follow ${(b.firstSeq as number) + 2} (after ${a.path})`,
    );
    await expectRunRefuses(
      dir,
      `${a.path} ends at seq ${(b.firstSeq as number) + 2} but ${b.path} starts at seq ${b.firstSeq}: they overlap`,
    );
  });
});

describe('a log from before segments (format v1)', () => {
  it('the v1 fixture still replays, --check clean', async () => {
    const r = await procreg('replay', 'test/fixtures/v1-demo.events.jsonl', '--check');
    expect(r.stderr).toMatch(/^check: \d+ events, every invariant holds/m);
    expect(r.code).toBe(0);
  });

  it('procreg run continues it: closed as the first segment, a new live segment headed by a start snapshot', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    mkdirSync(runDir, { mode: 0o700 });
    const live = join(runDir, 'events.jsonl');
    copyFileSync('test/fixtures/v1-demo.events.jsonl', live);
    const v1 = readFileSync(live, 'utf8');
    const v1Events = await eventsOf(live);
    const last = v1Events.at(-1) as Event;

    const run = runs.startIn(dir, writeRunConfig(dir), runDir, '--log-format', 'json');
    await run.printed('procreg running');
    const closedAs = join(runDir, `events.${String(v1Events[0]?.seq).padStart(16, '0')}.jsonl`);
    expect(run.output()).toContain(`the log from before segments was closed as ${basename(closedAs)}`);
    expect(readFileSync(closedAs, 'utf8')).toBe(v1); // byte for byte, under its segment name
    const head = (await eventsOf(live))[0] as Event;
    expect(head).toMatchObject({ type: 'snapshot', cause: 'start', seq: last.seq + 1 });
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);

    const r = await procreg('replay', runDir, '--check');
    expect(r.stderr).toMatch(/^check: \d+ events, every invariant holds/m);
    expect(r.code).toBe(0);
  });
});

describe('logs from before config-loaded recorded its reload rule (test/core/reload-rule.test.ts)', () => {
  it.each(['reload-restart-unrecorded', 'reload-in-place-unrecorded'])(
    '%s replays --check clean',
    async (name) => {
      const r = await procreg('replay', `test/fixtures/${name}.events.jsonl`, '--check');
      expect(r.stderr).toMatch(/^check: \d+ events, every invariant holds/m);
      expect(r.code).toBe(0);
    },
  );
});
