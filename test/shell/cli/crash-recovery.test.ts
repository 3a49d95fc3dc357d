// Crash recovery on a real program that holds a lock (a listening port, as redis or PostgreSQL
// hold theirs) and does not stop on its stop signal: after procreg is SIGKILLed, the next one
// sends the orphan its stopSignal, SIGKILLs it only after its stopTimeout, and starts the new
// incarnation only once the old group is gone — so the new one gets the lock at its first
// start, and nothing counts against maxRestarts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../src/events/types.js';
import { procreg } from '../../support/cli.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { freePort } from '../../support/free-port.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();

/**
 * Holds 127.0.0.1:<port> while it runs (exit 1 when another copy holds it), and forks a helper
 * into its group; on SIGINT it notes it and carries on, a shutdown that never ends. It writes
 * to a file, not stdout: an orphan's stdout pipe has lost its reader.
 */
const LOCKER = `
const net = require('node:net');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const [port, notes] = process.argv.slice(2);
const note = (s) => fs.appendFileSync(notes, process.pid + ' ' + s + '\\n');
net
  .createServer()
  .on('error', (e) => { note('lock taken: ' + e.code); process.exit(1); })
  .listen(Number(port), '127.0.0.1', () => note('holding'));
spawn('sleep', ['300'], { stdio: 'ignore' });
process.on('SIGINT', () => note('SIGINT'));
`;

describe('crash recovery on a program holding a lock', () => {
  it('stops the orphan by stopSignal, SIGKILLs it after stopTimeout, and starts the new one once its group is gone: the lock taken first time, no failed start, no restart counted', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const notes = join(dir, 'notes');
    writeFileSync(join(dir, 'locker.cjs'), LOCKER);
    const port = await freePort();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run
services:
  locker:
    command: [node, locker.cjs, '${port}', ${notes}]
    stopSignal: SIGINT
    stopTimeout: 1500ms
    backoff: { initial: 50ms }
    maxRestarts: { count: 1, within: 60s }
`,
    );
    const first = runs.start(config, runDir);
    const old = runs.track(await pidFileOf(runDir, 'locker', undefined, 20_000));
    await waitFor('the lock held', () =>
      existsSync(notes) && readFileSync(notes, 'utf8').includes(`${old} holding`) ? true : undefined,
    );
    first.proc.kill('SIGKILL');
    await first.exit;
    expect(alive(old)).toBe(true); // left behind by the crash

    const events = join(runDir, 'events.jsonl');
    const second = runs.start(config, runDir);
    const fresh = runs.track(await pidFileOf(runDir, 'locker', old, 20_000));
    await waitFor('the new one holds the lock', () =>
      readFileSync(notes, 'utf8').includes(`${fresh} holding`) ? true : undefined,
    );
    expect(alive(old)).toBe(false);
    expect(readFileSync(notes, 'utf8').trim().split('\n')).toEqual([
      `${old} holding`,
      `${old} SIGINT`, // its stopSignal first...
      `${fresh} holding`, // ...and the new one at its first start
    ]);

    const log = await logEvents(events);
    const now = log.slice(log.findLastIndex((e) => e.type === 'supervisor-started'));
    const reaped = now.find((e) => e.type === 'orphan-reaped' && e.pid === old) as Event;
    expect(reaped).toMatchObject({ outcome: 'signalled' });
    // SIGKILL (the group, proven ours again: a second orphan-reaped) only once its stopTimeout
    // had passed, on the monotonic clock the fold measures by.
    const timeout = now.find(
      (e) => e.type === 'timer-fired' && e.timer.kind === 'stop-timeout' && e.timer.pid === old,
    ) as Event;
    expect(timeout.mono - reaped.mono).toBeGreaterThanOrEqual(1500);
    const killed = now.filter((e) => e.type === 'orphan-reaped' && e.pid === old);
    expect(killed).toHaveLength(2);
    expect(now.indexOf(killed[1] as Event)).toBe(now.indexOf(timeout) + 1);
    const gone = now.find((e) => e.type === 'group-exited' && e.pid === old) as Event;
    const spawned = now.filter((e) => e.type === 'spawned' && e.name === 'locker');
    expect(spawned).toEqual([expect.objectContaining({ pid: fresh })]);
    expect(now.indexOf(spawned[0] as Event)).toBeGreaterThan(now.indexOf(gone));
    const types = now.map((e) => e.type);
    expect(types).not.toContain('spawn-failed');
    expect(types).not.toContain('restart-scheduled');
    const status = await procreg('status', config, '--json');
    expect(JSON.parse(status.stdout).services).toEqual([
      expect.objectContaining({ name: 'locker', state: 'running', restarts: 0 }),
    ]);

    second.proc.kill('SIGTERM'); // it ignores SIGINT: SIGKILL after its stopTimeout, exit 0
    expect(await second.exit).toBe(0);
    await logEvent(events, ofType('supervisor-stopped'), 'a clean stop');
  }, 60_000);
});
