// Health checks that fit real start-up (issue 14, part 3), on real processes: a server that
// listens only a while after it starts is not restarted by its check's early failures when the
// check has a startPeriod (and is, without one: the spurious restart); a check turning
// unhealthy while its crashed service waits out its backoff does not cut the backoff short.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../src/events/types.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, useProcregRun } from '../../support/procreg-run.js';
import { freePort } from '../../support/free-port.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const runs = useProcregRun();

/** Listens on the port only 1.5 s after it starts, as a server busy with its start-up would. */
const SLOW_SERVER = `
const net = require('node:net');
setTimeout(() => net.createServer((c) => c.end()).listen(Number(process.argv[2]), '127.0.0.1'), 1500);
`;
/** Exit 0 when the port accepts a connection, 1 otherwise. */
const PROBE = `
const s = require('node:net').connect(Number(process.argv[2]), '127.0.0.1');
s.on('connect', () => process.exit(0));
s.on('error', () => process.exit(1));
`;

/** A run of the slow server with a probe every 200 ms (fall 1), with this startPeriod. */
async function slowStart(startPeriod: string | null) {
  const dir = tmp();
  writeFileSync(join(dir, 'server.cjs'), SLOW_SERVER);
  writeFileSync(join(dir, 'probe.cjs'), PROBE);
  const port = await freePort();
  const config = join(dir, 'procreg.yaml');
  writeFileSync(
    config,
    `runDir: ./run
services:
  web: { command: [node, server.cjs, '${port}'], backoff: { initial: 100ms }, stopTimeout: 2s }
checks:
  up:
    command: [node, probe.cjs, '${port}']
    interval: 200ms
    fall: 1
    restarts: web
${startPeriod === null ? '' : `    startPeriod: ${startPeriod}\n`}`,
  );
  const runDir = join(dir, 'run');
  const events = join(runDir, 'events.jsonl');
  const run = runs.start(config, runDir);
  return { run, events };
}

const spawnsOf = (log: Event[]) => log.filter((e) => e.type === 'spawned' && e.name === 'web');

describe('checks on real processes', () => {
  it('startPeriod: the probe fails while the server comes up, the server is not restarted, and the first success makes it healthy', async () => {
    const { run, events } = await slowStart('10s');
    await logEvent(
      events,
      ofType('check-health-changed', (e) => e.name === 'up' && e.healthy),
      'up healthy',
      0,
      20_000,
    );
    const log = await logEvents(events);
    expect(log.filter((e) => e.type === 'check-finished' && e.name === 'up' && !e.ok).length).toBeGreaterThan(
      0,
    );
    expect(spawnsOf(log)).toHaveLength(1);
    expect(log.map((e) => e.type)).not.toContain('stop-begun');
    expect(log.find((e) => e.type === 'check-health-changed')).toMatchObject({ healthy: true });
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 30_000);

  it('without startPeriod the first failed probe restarts the server (the spurious restart)', async () => {
    const { run, events } = await slowStart(null);
    await logEvent(
      events,
      ofType('stop-begun', (e) => e.name === 'web' && e.reason === 'check-failed'),
      'web restarted by its check',
      0,
      20_000,
    );
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 30_000);

  it('a check turning unhealthy while its crashed service waits out its backoff does not cut the backoff short', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    // Up 0.5 s, then a crash; the check fails while no web process runs.
    writeFileSync(
      config,
      `runDir: ./run
services:
  web: { command: [sh, -c, 'sleep 0.5; exit 1'], backoff: { initial: 2s, factor: 1 } }
checks:
  alive:
    command: [sh, -c, 'kill -0 "$(cat run/web.pid)"']
    interval: 100ms
    fall: 1
    restarts: web
`,
    );
    const runDir = join(dir, 'run');
    const events = join(runDir, 'events.jsonl');
    const run = runs.start(config, runDir);
    const first = await logEvent(
      events,
      ofType('spawned', (e) => e.name === 'web'),
      'web spawned',
      0,
      20_000,
    );
    const crash = await logEvent(
      events,
      ofType('exited', (e) => e.pid === first.pid),
      'web crashed',
      0,
      10_000,
    );
    const second = await logEvent(
      events,
      ofType('spawned', (e) => e.name === 'web' && e.pid !== first.pid),
      'web respawned',
      0,
      10_000,
    );
    const log = await logEvents(events);
    const at = (e: Event) => log.findIndex((x) => x.seq === e.seq);
    const unhealthy = log.find(
      (e) => e.type === 'check-health-changed' && e.name === 'alive' && !e.healthy && e.seq > crash.seq,
    ) as Event;
    expect(unhealthy).toBeDefined(); // it turned unhealthy...
    expect(at(unhealthy)).toBeLessThan(at(second)); // ...during the backoff
    expect(second.mono - crash.mono).toBeGreaterThanOrEqual(2000); // which ran its whole 2 s
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 30_000);
});
