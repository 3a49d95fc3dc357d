// procreg killed (SIGKILL) at each step of a rotation: the next start loses and duplicates
// nothing at the seam, the seq chain goes on, and the supervisor finds what the dead one ran.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import type { Event } from '../../../src/events/types.js';
import type { RotationStep } from '../../../src/shell/event-log/log-sink.js';
import { readLogParts } from '../../../src/shell/event-log/reader.js';
import { replayLogFile } from '../../../src/shell/event-log/replay-file.js';
import { allFiles, listLogFiles } from '../../../src/shell/event-log/segments.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { DIST } from '../../support/child.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

const STEPS: readonly RotationStep[] = [
  'synced',
  'renamed',
  'created',
  'snapshot-written',
  'retention-recorded',
  'deleted',
];

/**
 * A supervisor of its own (the compiled library) on `config` (argv[2], JSON), that SIGKILLs
 * itself at the `nth` time it reaches rotation step `step` — first printing the seq of the
 * last event it had logged, written synchronously so that nothing of it is lost.
 */
const CRASHER = `
const { Supervisor } = await import(process.argv[1] + '/shell/supervisor/supervisor.js');
const { writeSync } = await import('node:fs');
const [config, step, nth] = [JSON.parse(process.argv[2]), process.argv[3], Number(process.argv[4])];
let last = 0;
let seen = 0;
const sup = await Supervisor.open({
  config,
  onRotationStep: (s) => {
    if (s !== step || ++seen < nth) return;
    const sleeper = sup.status().services.find((x) => x.name === 'sleeper').pid;
    writeSync(1, JSON.stringify({ step: s, lastSeq: last, sleeper }) + '\\n');
    process.kill(process.pid, 'SIGKILL');
  },
});
sup.events.subscribe((e) => { last = e.seq; });
`;

function config(dir: string, keepSegments: number): NormalizedConfig {
  const res = normalizeConfig(
    {
      runDir: './run',
      services: {
        // Lives on: the orphan the next supervisor must find and reap.
        sleeper: { command: ['sleep', '1000'] },
        // Writes events fast, so that the log rotates within a second.
        crash: {
          command: ['sh', '-c', 'exit 1'],
          backoff: { initial: '5ms', factor: 1, max: '5ms' },
          maxRestarts: { count: 1_000_000, within: '1s' },
        },
      },
    },
    { baseDir: dir },
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  // Below what a config may say (64kB): a rotation every few restarts, for the test's sake.
  return {
    ...res.config,
    eventLogPolicy: {
      ...res.config.eventLogPolicy,
      segmentSize: 8 * 1024,
      retain: { ...res.config.eventLogPolicy.retain, segments: keepSegments },
      snapshotEvery: { events: 200, bytes: 4096 },
    },
  };
}

/** The files as the kill at `step` leaves them: the step was reached, and not the next one. */
function expectFilesAt(step: RotationStep, live: string): void {
  const files = listLogFiles(live);
  const lines = files.liveFile
    ? readFileSync(live, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Event)
    : null;
  const last = lines?.at(-1);
  switch (step) {
    case 'synced':
      expect(files.liveFile?.bytes).toBeGreaterThan(8 * 1024); // past segmentSize, not renamed yet
      expect(files.closed).toHaveLength(1);
      return;
    case 'renamed':
      expect(files.liveFile).toBeNull();
      expect(files.closed).toHaveLength(2);
      return;
    case 'created':
      expect(files.liveFile?.bytes).toBe(0);
      return;
    case 'snapshot-written':
      expect(lines?.map((e) => e.type)).toEqual(['snapshot']);
      return;
    case 'retention-recorded':
    case 'deleted': {
      expect(last?.type).toBe('segments-deleted');
      const gone = last?.type === 'segments-deleted' ? last.segments.map((g) => g.file) : [];
      expect(gone).toHaveLength(1);
      const there = files.closed.map((f) => f.name);
      for (const name of gone) expect(there.includes(name)).toBe(step === 'retention-recorded');
      return;
    }
  }
}

/** Every event in the files of the log, in order. */
async function eventsIn(live: string): Promise<Event[]> {
  const out: Event[] = [];
  const parts = allFiles(listLogFiles(live)).map((f) => ({ path: f.path }));
  for await (const b of readLogParts(parts)) out.push(...b.events);
  return out;
}

describe('procreg killed at each step of a rotation', () => {
  const tmp = useTmpDir();
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const orphans: number[] = [];
  const sups: Supervisor[] = [];
  afterEach(async () => {
    for (const s of sups.splice(0)) await s.stop('test over');
    killAll(children.splice(0).map((c) => c.pid as number));
    killAll(orphans.splice(0));
    // Whatever the dead supervisors started, in every segment of their logs.
    for (const live of logs.splice(0)) {
      const pids = (await eventsIn(live).catch(() => [])).flatMap((e) =>
        e.type === 'spawned' ? [e.pid] : [],
      );
      killAll(pids);
    }
  });

  const cases = [
    ...STEPS.map((step) => ({ step, torn: false, what: `at "${step}"` })),
    // Killed half-way through writing the new live segment's snapshot: a torn first line.
    { step: 'created' as const, torn: true, what: 'writing the snapshot that heads the new segment' },
  ];
  for (const { step, torn, what } of cases) {
    it(`${what}: the log reopens with every event once, the chain goes on, and the orphan is reaped`, async () => {
      const dir = tmp();
      const cfg = config(dir, 1);
      const live = cfg.eventLog;
      logs.push(live);
      // The second rotation: by then a closed segment is there for retention to delete.
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', CRASHER, pathToFileURL(DIST).href, JSON.stringify(cfg), step, '2'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      let out = '';
      child.stdout?.on('data', (d) => (out += String(d)));
      const signal = await new Promise<string | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
      expect(signal).toBe('SIGKILL');
      const said = JSON.parse(out.trim()) as { step: string; lastSeq: number; sleeper: number };
      orphans.push(said.sleeper);
      expect(said.step).toBe(step);

      expectFilesAt(step, live);
      if (torn)
        appendFileSync(
          live,
          `{"v":2,"seq":${said.lastSeq + 1},"time":1,"mono":1,"type":"snapshot","logId":"`,
        );
      const before = await eventsIn(live);
      expect(alive(said.sleeper)).toBe(true);
      // Nothing the dead supervisor logged is missing from its files, and nothing is there twice.
      expect(before.at(-1)?.seq).toBe(said.lastSeq);
      const seqs = before.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));

      // The next procreg keeps every segment: what follows the crash stays to be looked at.
      const sup = await Supervisor.open({ config: config(dir, 1000) });
      sups.push(sup);
      // Started from the newest snapshot: it read less than the log holds.
      expect(sup.replayed.from?.seq).toEqual(expect.any(Number));
      expect(sup.replayed.bytesRead).toBeLessThan(sup.replayed.totalBytes);
      const reaped = await waitFor('the orphaned sleeper reaped', async () =>
        (await eventsIn(live)).find(
          (e): e is Extract<Event, { type: 'orphan-reaped' }> =>
            e.type === 'orphan-reaped' && e.pid === said.sleeper,
        ),
      );
      expect(reaped.outcome).toBe('signalled');
      await waitFor('the orphan gone', () => (alive(reaped.pid) ? undefined : true));
      await waitFor('sleeper running again', () =>
        sup
          .status()
          .services.find((s) => s.name === 'sleeper' && s.state === 'running' && s.pid !== reaped.pid),
      );
      // And it goes on rotating: a segment closed after the crash's.
      await waitFor('a rotation by the new supervisor', () =>
        listLogFiles(live).closed.find((f) => (f.firstSeq as number) > said.lastSeq),
      );
      await sup.stop('test over');
      sups.splice(0);

      // The whole log: one chain from the oldest kept segment on, every decision re-derived.
      const files = allFiles(listLogFiles(live));
      const { result, problems } = await replayLogFile(
        files.map((f) => f.path),
        { check: true },
      );
      expect(problems).toEqual([]);
      expect(result.problems).toEqual([]);
      const after = await eventsIn(live);
      const firstKept = after[0]?.seq as number;
      // The events before the crash are all still there (those retention kept), unchanged.
      expect(after.filter((e) => e.seq <= said.lastSeq)).toEqual(before.filter((e) => e.seq >= firstKept));
      expect(after.find((e) => e.seq === said.lastSeq + 1)).toBeDefined();
      // Every closed segment is named by its first seq and starts with a snapshot of this log.
      const logIds = new Set<string | null>();
      for (const f of files) {
        const head = JSON.parse(readFileSync(f.path, 'utf8').split('\n')[0] as string) as Event;
        expect(head.type, f.name).toBe('snapshot');
        if (head.type === 'snapshot') logIds.add(head.logId);
        if (f.firstSeq !== null) expect(head.seq, f.name).toBe(f.firstSeq);
      }
      expect(logIds.size).toBe(1);
    });
  }
});
