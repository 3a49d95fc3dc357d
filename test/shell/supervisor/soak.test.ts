// The seed scenario (keepalived #2468) as a soak test on real processes: reloads every few
// milliseconds while check scripts time out and services are SIGKILLed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replay.js';
import { registryView } from '../../../src/core/view.js';
import { readLogBatches } from '../../../src/shell/event-log/reader.js';
import type { Event } from '../../../src/events/types.js';
import { readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive, killAll, waitFor } from '../../support/wait.js';

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

async function readLog(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const b of readLogBatches(path)) out.push(...b.events);
  return out;
}

describe('soak: the seed scenario', () => {
  it(
    `survives ${SOAK_MS / 1000}s of reload storms, check timeouts and SIGKILLs; the log replays clean and nothing remains`,
    async () => {
      const dir = tmp();
      const path = join(dir, 'procreg.yaml');
      writeFileSync(path, configText(0));
      sup = await Supervisor.open({ configPath: path, logger: pino({ level: 'silent' }) });
      const running = sup;
      running.events.subscribe((e) => {
        if (e.type === 'spawned' || e.type === 'check-started') started.add(e.pid);
      });
      const eventLog = join(dir, 'run', 'events.jsonl');

      const end = Date.now() + SOAK_MS;
      let variant = 0;
      let kills = 0;
      while (Date.now() < end) {
        variant++;
        writeFileSync(path, configText(variant));
        running.reload();
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
        await new Promise((r) => setTimeout(r, 3 + (variant % 5)));
      }

      // The live registry and the log agree: replaying up to the same seq gives the same processes.
      const live = running.status();
      const replayer = new Replayer();
      for (const e of await readLog(eventLog)) if (e.seq <= live.seq) replayer.push(e);
      expect(registryView(replayer.result().state, live.seq).processes).toEqual(live.processes);
      // ...and the real children: our direct children still known to the kernel (a zombie
      // counts until Node reaps it and reports the exit) are exactly the registered processes.
      const children = [...started]
        .filter((pid) => readProcStat(pid)?.ppid === process.pid)
        .sort((x, y) => x - y);
      const registered = live.processes.map((p) => p.pid);
      const settled = await waitFor(
        'children and registry to agree',
        () => {
          const kids = [...started]
            .filter((pid) => readProcStat(pid)?.ppid === process.pid)
            .sort((x, y) => x - y);
          const reg = running.status().processes.map((p) => p.pid);
          return JSON.stringify(kids) === JSON.stringify(reg) ? true : undefined;
        },
        5000,
        1,
      ).catch(() => JSON.stringify({ children, registered }));
      expect(settled).toBe(true);

      await running.stop('soak over');
      sup = null;
      for (const pid of started)
        await waitFor(`pid ${pid} gone`, () => (alive(pid) ? undefined : true), 5000);

      const log = await readLog(eventLog);
      const count = (t: string) => log.filter((e) => e.type === t).length;
      expect(count('reload-applied')).toBeGreaterThan(50);
      expect(count('check-timed-out')).toBeGreaterThan(5);
      expect(kills).toBeGreaterThan(5);
      const r = new Replayer({ check: true });
      for (const e of log) r.push(e);
      const result = r.result();
      expect(result.problems).toEqual([]);
      expect(result.state.procs.size).toBe(0);
      expect(result.state.phase).toBe('stopped');
    },
    SOAK_MS + 60_000,
  );
});
