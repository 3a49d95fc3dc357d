// The seed scenario (keepalived #2468) as a soak test on real processes: reloads one after
// another as the supervisor's world moves, while check scripts time out and services are SIGKILLed.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { registryView } from '../../../src/core/view.js';
import { readLog } from '../../../src/shell/event-log/reader.js';
import { replayLogFile } from '../../../src/shell/event-log/replay-file.js';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { nextEvent } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, groupMembers, killAll, waitFor } from '../../support/wait.js';

const SOAK_MS = Number(process.env.SOAK_MS ?? 20_000);
const tmp = useTmpDir();
const started = new Set<number>();
let sup: Supervisor | null = null;
afterEach(async () => {
  if (sup) await Promise.race([sup.stop('cleanup'), new Promise((r) => setTimeout(r, 3000))]);
  sup = null;
  killAll(started);
  started.clear();
});

const IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);
// Sometimes quick, sometimes past its 50ms timeout; one that ignores SIGTERM outright.
const FLAKY_CHECK = JSON.stringify(['sh', '-c', 'sleep 0.0$(( $$ % 9 ))']);
const STUBBORN = JSON.stringify(['sh', '-c', "trap '' TERM; sleep 1 & wait; sleep 1"]);

function configText(variant: number): string {
  const checkDef = variant % 2 === 0 ? 'timeout: 50ms' : 'timeout: 60ms'; // changed on every other reload
  return `runDir: ./run
services:
  a: { command: ${IDLE}, backoff: { initial: 10ms, max: 100ms }, maxRestarts: { count: 100000, within: 1s } }
  b: { command: ${IDLE}, backoff: { initial: 10ms, max: 100ms }, maxRestarts: { count: 100000, within: 1s } }
${variant % 3 === 0 ? `  c: { command: ${IDLE}, stopTimeout: 100ms }\n` : ''}checks:
  flaky: { command: ${FLAKY_CHECK}, interval: 20ms, ${checkDef}, killAfter: 50ms, fall: 2, rise: 1, restarts: a }
${variant % 4 < 2 ? `  stubborn: { command: ${STUBBORN}, interval: 30ms, timeout: 40ms, killAfter: 40ms }\n` : ''}`;
}

/** What the world does to a supervisor, as opposed to what the supervisor does in reply. */
const fromTheWorld = (e: { type: string }) => e.type === 'exited' || e.type === 'timer-fired';

describe('soak: the seed scenario', () => {
  it(
    `survives ${SOAK_MS / 1000}s of reload storms, check timeouts and SIGKILLs; the log replays clean and nothing remains`,
    async () => {
      const dir = tmp();
      const path = join(dir, 'procreg.yaml');
      writeFileSync(path, configText(0));
      sup = await Supervisor.open({ configPath: path, logger: pino({ level: 'silent' }) });
      const running = sup;
      for (const p of running.status().processes) started.add(p.pid); // started inside open()
      running.events.subscribe((e) => {
        if (e.type === 'spawned' || e.type === 'check-started') started.add(e.pid);
      });
      const eventLog = join(dir, 'run', 'events.jsonl');

      // A reload whenever a process exits or a timer fires: reloads land in the middle of check
      // runs, timeouts, kills and backoffs, which is where keepalived #2468 struck.
      const end = Date.now() + SOAK_MS;
      let variant = 0;
      let kills = 0;
      while (Date.now() < end) {
        variant++;
        writeFileSync(path, configText(variant));
        running.reload(); // loaded, folded and applied before it returns
        if (variant % 40 === 0) {
          const victims = running.status().services.filter((s) => s.pid !== null);
          const v = victims[variant % Math.max(1, victims.length)];
          if (v?.pid) {
            try {
              process.kill(v.pid, 'SIGKILL');
              kills++;
            } catch {
              // it died on its own meanwhile
            }
          }
        }
        await nextEvent(running, fromTheWorld, 5000);
      }

      // The live registry and the log agree: the log as it stands now replays to the same registry.
      const { log, at: _at, ...live } = running.status();
      expect(log).toMatchObject({ degraded: false, pending: 0, lost: 0 });
      const snapshot = join(dir, 'snapshot.jsonl');
      copyFileSync(eventLog, snapshot); // synchronously, before anything else can be logged
      const replayed = await replayLogFile(snapshot);
      expect(replayed.problems).toEqual([]);
      expect(replayed.result.lastSeq).toBe(live.seq);
      expect(registryView(replayed.result.state, live.seq)).toEqual(live);
      // ...and the real children: every direct child of ours the kernel knows (a zombie counts
      // until Node reaps it) is registered — nothing runs unsupervised — and every registered
      // process that is no longer a child (its exit or its group's end is being reported) leaves
      // the registry soon. Taken at one instant: the registry changes in the same turn as the kernel.
      const children = [...started].filter((pid) => readProcStat(pid)?.ppid === process.pid);
      const registered = running.status().processes.map((p) => p.pid);
      expect(children.filter((pid) => !registered.includes(pid))).toEqual([]);
      const reporting = registered.filter((pid) => !children.includes(pid));
      await waitFor(
        `the exits of ${reporting.join(', ')} reported`,
        () => {
          const now = running.status().processes.map((p) => p.pid);
          return reporting.every((pid) => !now.includes(pid)) ? true : undefined;
        },
        10_000,
      );

      await running.stop('soak over');
      sup = null;
      // Every child's exit was reported before stopped resolved; their own children (a check's
      // sleeps) were killed with their process groups, which the kernel clears a moment later.
      expect([...started].filter(alive)).toEqual([]);
      await waitFor(
        'every process group gone',
        () => (groupMembers(started).length === 0 ? true : undefined),
        5000,
      );

      const { result, problems } = await replayLogFile(eventLog, { check: true });
      expect(problems).toEqual([]);
      expect(result.problems).toEqual([]);
      expect(result.state.procs.size).toBe(0);
      expect(result.state.phase).toBe('stopped');
      const count = async (type: string) => {
        let n = 0;
        for await (const item of readLog(eventLog))
          if (item.kind === 'event' && item.event.type === type) n++;
        return n;
      };
      expect(await count('reload-applied')).toBeGreaterThan(50);
      expect(await count('check-timed-out')).toBeGreaterThan(5);
      expect(kills).toBeGreaterThan(5);
    },
    SOAK_MS + 60_000,
  );
});
