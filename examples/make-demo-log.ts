// Writes examples/demo.events.jsonl: a supervisor session played by the simulated world
// (src/sim/world.ts) — the fold's real decisions on a scripted sequence of exits, check
// timeouts, a reload and a stop. Deterministic: the same file every time.
//   npx tsx examples/make-demo-log.ts
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeConfig } from '../src/config/normalize.js';
import type { NormalizedConfig } from '../src/config/types.js';
import { LogWriter } from '../src/events/writer.js';
import { World } from '../src/sim/world.js';

const here = dirname(fileURLToPath(import.meta.url));

function config(raw: Record<string, unknown>): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: '/srv/demo' });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

const base = {
  runDir: './run',
  services: {
    web: { command: ['node', 'web.js'], stopTimeout: '2s' },
    flaky: {
      command: ['node', 'flaky.js'],
      backoff: { initial: '200ms', max: '5s' },
      maxRestarts: { count: 4, within: '30s' },
    },
  },
  checks: {
    web_alive: {
      command: ['sh', '-c', 'curl -sf http://127.0.0.1:8080/health'],
      interval: '2s',
      timeout: '1s',
      rise: 2,
      fall: 2,
      restarts: 'web',
    },
  },
};
const reloaded = {
  ...base,
  services: { ...base.services, worker: { command: ['node', 'worker.js'], restart: 'on-failure' } },
};

// The coalesced second load of the reload storm reads the same file again.
const w = new World({
  configs: [config(base), config(reloaded), config(reloaded)],
  seed: 42,
  startTime: Date.UTC(2026, 10, 1, 12, 0, 0),
});
w.start();
const settle = () => w.drain();
const exitOf = (name: string, how: 'fail' | 'signal') => {
  const pid = w.state.services.get(name)?.pid;
  if (pid != null) w.exitProcess([...w.live.keys()].indexOf(pid), how);
};
let hung: number | null = null;
const finishCheck = (how: 'clean' | 'fail' | 'hang') => {
  const pid = w.state.checks.get('web_alive')?.inFlight?.pid;
  if (pid == null) return;
  if (how === 'hang')
    hung = pid; // ignores SIGTERM: only the SIGKILL after killAfter ends it
  else {
    w.advance(40);
    w.exitProcess([...w.live.keys()].indexOf(pid), how);
  }
};
/** Processes die of the signal they were sent, a little later. */
const obeySignals = () => {
  const pids = [...w.live.values()]
    .filter((p) => p.signalled && !(p.pid === hung && p.signalled === 'SIGTERM'))
    .map((p) => p.pid);
  for (const pid of pids) {
    w.advance(30);
    w.exitProcess([...w.live.keys()].indexOf(pid), 'signal');
    settle();
  }
};
settle();
for (let tick = 0; tick < 40; tick++) {
  w.advance(500);
  if (tick % 4 === 0) finishCheck(tick === 12 ? 'hang' : tick >= 20 && tick < 28 ? 'fail' : 'clean');
  if (tick % 6 === 3) exitOf('flaky', tick % 12 === 3 ? 'signal' : 'fail');
  if (tick === 16)
    w.pending.push(
      { type: 'reload-requested', source: 'SIGHUP' },
      { type: 'reload-requested', source: 'SIGHUP' },
    );
  settle();
  obeySignals();
  while ([...w.timers.values()].some((t) => t.at <= w.time)) {
    w.fireNextTimer();
    settle();
    obeySignals();
  }
}
w.pending.push({ type: 'supervisor-stopping', reason: 'SIGTERM' });
for (let guard = 0; guard < 1000 && !(w.exitRequested && w.pending.length === 0); guard++) {
  if (w.deliverNext()) continue;
  const i = [...w.live.values()].findIndex((p) => p.signalled !== null);
  if (i >= 0) {
    w.advance(30);
    w.exitProcess(i, 'signal');
  } else if (!w.fireNextTimer()) break;
}
w.deliver({ type: 'supervisor-stopped' });

const out = join(here, 'demo.events.jsonl');
rmSync(out, { force: true });
const writer = LogWriter.open(out, { durability: 'none' });
for (const { v: _v, seq: _s, time, ...body } of w.log) writer.append(body, time);
writer.close();
console.log(`wrote ${w.log.length} events to ${out}`);
