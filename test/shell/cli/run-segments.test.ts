// A real `procreg run` with a small segmentSize and crash-looping services: the log rotates
// into segments kept within the retention bound and replays clean; killed and started again,
// procreg reads only from the newest snapshot on, still finds and reaps the orphan the dead
// one left, and its events continue the seq chain.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../src/events/types.js';
import { readLogParts } from '../../../src/shell/event-log/reader.js';
import { allFiles, listLogFiles } from '../../../src/shell/event-log/segments.js';
import type { ReplayedLog } from '../../../src/shell/supervisor/supervisor.js';
import { procreg } from '../../support/cli.js';
import { pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();

const KB = 1024;
const SEGMENT = 64 * KB;
const MAX_BYTES = 200 * KB;
/** How far a segment may run past segmentSize: rotation happens at the checkpoint after it. */
const SLACK = 16 * KB;

const crash = (name: string) => `  ${name}:
    command: [sh, -c, "exit 1"]
    backoff: { initial: 5ms, factor: 1, max: 5ms }
    maxRestarts: { count: 1000000, within: 1s }
`;

function writeConfig(dir: string): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(
    path,
    `runDir: ./run
eventLog:
  path: ./run/events.jsonl
  segmentSize: 64kB
  retain: { segments: 100, maxBytes: 200kB, maxAge: 30d }
services:
  sleeper:
    command: [sleep, "1000"]
${crash('crash1')}${crash('crash2')}${crash('crash3')}`,
  );
  return path;
}

async function eventsIn(live: string): Promise<Event[]> {
  const out: Event[] = [];
  const parts = allFiles(listLogFiles(live)).map((f) => ({ path: f.path }));
  for await (const b of readLogParts(parts)) out.push(...b.events);
  return out;
}

/**
 * The closed segments stay within maxBytes (retention runs at each rotation); the live one near
 * segmentSize. A rotation is a few system calls in a row (rename, create, write the head,
 * delete the oldest), and this process lists the directory while procreg runs: a listing taken
 * in the middle of one shows the newly closed segment before the oldest is deleted. So a
 * listing past the bound is taken again, up to 200 ms later — a rotation in flight is over by
 * then, while retention that did not run stays past the bound until the next rotation.
 */
function expectWithinBounds(live: string): { closed: number; total: number } {
  const closedBytes = (f: ReturnType<typeof listLogFiles>) => f.closed.reduce((a, c) => a + c.bytes, 0);
  let files = listLogFiles(live);
  for (let i = 0; i < 10 && closedBytes(files) > MAX_BYTES; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    files = listLogFiles(live);
  }
  const closed = closedBytes(files);
  expect(closed).toBeLessThanOrEqual(MAX_BYTES);
  expect(files.liveFile?.bytes ?? 0).toBeLessThanOrEqual(SEGMENT + SLACK);
  return { closed: files.closed.length, total: closed + (files.liveFile?.bytes ?? 0) };
}

describe('procreg run with a small segmentSize and a crash loop', () => {
  it('rotates within the retention bound; restarted after SIGKILL it reads from the newest snapshot, reaps the orphan, and goes on', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const live = join(runDir, 'events.jsonl');
    const config = writeConfig(dir);
    const first = runs.startIn(dir, config, runDir, '--log-format', 'json');
    const sleeper = runs.track(await pidFileOf(runDir, 'sleeper'));

    // Several segments, and retention has deleted the oldest (the first kept one is not seq 1).
    await waitFor(
      'several segments, the oldest deleted by retention',
      () => {
        const { closed } = expectWithinBounds(live);
        const oldest = listLogFiles(live).closed[0]?.firstSeq ?? 1;
        return closed >= 2 && oldest > 1 ? true : undefined;
      },
      30_000,
      50,
    );
    first.proc.kill('SIGKILL');
    await first.exit;
    const { total } = expectWithinBounds(live);
    const before = await eventsIn(live);
    expect(before.some((e) => e.type === 'segments-deleted')).toBe(true);
    const lastSeq = (before.at(-1) as Event).seq;

    const check = await procreg('replay', runDir, '--check');
    expect(check.stderr).toMatch(/^check: \d+ events, every invariant holds/m);
    expect(check.code).toBe(0);

    // Started again: it folds only what follows the newest snapshot, the live segment's head.
    const headSeq = (JSON.parse(readFileSync(live, 'utf8').split('\n')[0] as string) as Event).seq;
    const second = runs.startIn(dir, config, runDir, '--log-format', 'json');
    await second.printed('replayed from the snapshot at seq');
    const report = second
      .output()
      .split('\n')
      .filter((l) => l.includes('"replayed"'))
      .map((l) => JSON.parse(l) as { replayed: ReplayedLog; msg: string })[0] as {
      replayed: ReplayedLog;
      msg: string;
    };
    expect(report.replayed.from).toEqual({ file: live, seq: headSeq, offset: 0 });
    const { bytesRead, totalBytes } = report.replayed;
    expect(totalBytes).toBe(total);
    expect(bytesRead).toBeLessThanOrEqual(SEGMENT + SLACK);
    expect(bytesRead).toBeLessThan(totalBytes / 2);
    expect(report.msg).toMatch(
      new RegExp(
        `^replayed from the snapshot at seq ${headSeq} in events\\.jsonl: read .* of .* in \\d+ segments, \\d+ events$`,
      ),
    );

    // Its first events follow the dead one's last: seq lastSeq + 1 on, nothing missing or repeated.
    await second.printed('procreg running');
    const seam = (await eventsIn(live)).filter((e) => e.seq >= lastSeq - 2);
    expect(seam.slice(0, 3)).toEqual(before.slice(-3));
    expect(seam.map((e) => e.seq)).toEqual(seam.map((_, i) => lastSeq - 2 + i));
    expect(seam.find((e) => e.type === 'supervisor-started')?.seq).toBeGreaterThan(lastSeq);

    // The orphan the killed procreg left is found and reaped; the sleeper runs anew.
    const reaped = await waitFor('the orphaned sleeper reaped', async () =>
      (await eventsIn(live)).find((e) => e.type === 'orphan-reaped' && e.pid === sleeper),
    );
    expect(reaped).toMatchObject({ outcome: 'signalled' });
    await waitFor('the orphan gone', () => (alive(sleeper) ? undefined : true));
    runs.track(await pidFileOf(runDir, 'sleeper', sleeper));

    // It goes on rotating and keeping within the bound, and the log stays one chain.
    await waitFor(
      'a rotation by the new procreg',
      () => (listLogFiles(live).closed.some((f) => (f.firstSeq as number) > lastSeq) ? true : undefined),
      30_000,
      50,
    );
    second.proc.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    expectWithinBounds(live);
    const seqs = (await eventsIn(live)).map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    const again = await procreg('replay', runDir, '--check');
    expect(again.stderr).toMatch(/^check: \d+ events, every invariant holds/m);
    expect(again.code).toBe(0);
  });
});
