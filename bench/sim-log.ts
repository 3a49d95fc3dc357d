// A long, realistic event log made by the simulator (src/sim's World), for the debugging
// benchmarks and the browser test of a large timeline: a web service with a health check
// that turns sick now and then, a flaky service in a crash loop that is given up and started
// again by an operator, a worker, a clock; reloads that change a service and remove and add
// another; operator stops; and procreg crashing now and then (its orphans reaped by the next).
import { normalizeConfig } from '../src/config/normalize.js';
import type { NormalizedConfig } from '../src/config/types.js';
import { bodyOf } from '../src/events/codec.js';
import type { Event } from '../src/events/types.js';
import { LogWriter } from '../src/shell/event-log/writer.js';
import { mulberry32, World } from '../src/sim/world.js';

function config(raw: Record<string, unknown>): NormalizedConfig {
  const res = normalizeConfig({ runDir: '/srv/sim/run', ...raw }, { baseDir: '/srv/sim' });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

const svc = (extra: Record<string, unknown> = {}) => ({ command: ['node', 'app.js'], ...extra });
const base = {
  web: svc({ command: ['node', 'web.js'], stopTimeout: '2s' }),
  flaky: svc({
    command: ['node', 'flaky.js'],
    backoff: { initial: '200ms', max: '5s' },
    maxRestarts: { count: 4, within: '30s' },
  }),
  worker: svc({ command: ['node', 'worker.js'], restart: 'on-failure' }),
  clock: svc({ command: ['node', 'clock.js'] }),
};
const checks = {
  web_alive: {
    command: ['node', 'health.js'],
    interval: '1s',
    timeout: '1s',
    rise: 2,
    fall: 2,
    restarts: 'web',
  },
  disk: { command: ['sh', '-c', 'df -h'], interval: '5s', timeout: '500ms' },
};

/** Two generations a reload alternates between: web's env changes, clock comes and goes, a cron appears. */
export const SIM_CONFIGS: NormalizedConfig[] = [
  config({ services: base, checks }),
  config({
    services: {
      web: svc({ command: ['node', 'web.js'], stopTimeout: '2s', env: { MODE: 'b' } }),
      flaky: base.flaky,
      worker: base.worker,
      cron: svc({ command: ['node', 'cron.js'] }),
    },
    checks,
  }),
];

/** Calls `onEvent` for each event of a simulated run until `events` have been made. */
export function simulate(events: number, onEvent: (e: Event) => void, seed = 7): void {
  let n = 0;
  const w = new World({
    configs: SIM_CONFIGS,
    seed,
    keepLog: false,
    startTime: 1_790_000_000_000,
    onEvent: (e) => {
      n++;
      onEvent(e);
    },
  });
  const r = mulberry32(seed * 31 + 1);
  const exit = (pid: number, code: number | null, signal: string | null = null) => {
    if (!w.live.has(pid)) return;
    w.live.delete(pid);
    w.pending.push({ type: 'exited', pid, code, signal, groupAlive: false, lastWords: null });
  };
  let sick = false;
  let sickUntil = 0;
  const checkStart = new Map<number, number>();
  w.start();
  w.drain();
  while (n < events) {
    w.advance(50 + Math.floor(r() * 250));
    // Timers that are due.
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const t of w.timers.values()) next = Math.min(next, t.at);
      if (next > w.time) break;
      w.fireNextTimer();
      w.drain();
    }
    const s = w.state;
    // Check runs end after 50-200 ms; web_alive fails while web is sick.
    for (const c of s.checks.values()) {
      const pid = c.inFlight?.pid;
      if (pid == null) continue;
      const since = checkStart.get(pid) ?? w.time;
      checkStart.set(pid, since);
      if (w.time - since < 50 + Math.floor(r() * 150)) continue;
      checkStart.delete(pid);
      exit(pid, c.name === 'web_alive' && sick ? 1 : 0);
    }
    if (sick && w.time > sickUntil) sick = false;
    else if (!sick && r() < 0.004) {
      sick = true;
      sickUntil = w.time + 3000;
    }
    // flaky crashes soon after each start; once given up, an operator starts it again later.
    const flaky = s.services.get('flaky');
    if (flaky?.pid != null && r() < 0.25) exit(flaky.pid, 1);
    if (flaky?.phase === 'given-up' && r() < 0.01)
      w.pending.push({ type: 'start-requested', target: 'service', name: 'flaky', source: 'operator' });
    const worker = s.services.get('worker');
    if (worker?.pid != null && r() < 0.002) exit(worker.pid, r() < 0.5 ? 0 : 3);
    if (worker?.phase === 'stopped' && r() < 0.02)
      w.pending.push({ type: 'start-requested', target: 'service', name: 'worker', source: 'operator' });
    const x = r();
    if (x < 0.0002) w.pending.push({ type: 'reload-requested', source: 'SIGHUP' });
    else if (x < 0.0004)
      w.pending.push({ type: 'stop-requested', target: 'service', name: 'web', source: 'operator' });
    else if (x < 0.001 && s.services.get('web')?.phase === 'stopped')
      w.pending.push({ type: 'start-requested', target: 'service', name: 'web', source: 'operator' });
    else if (x >= 0.001 && x < 0.001004) {
      // procreg dies: its queued inputs are lost, its children live on; the next one reaps them.
      const outcomes = w.pending.filter((e) => e.type === 'spawned' || e.type === 'check-started');
      w.pending.length = 0;
      for (const e of outcomes) w.deliver(e);
      w.timers.clear();
      w.advance(1000);
      w.start();
    }
    w.drain();
  }
}

/** Writes a simulated log of `events` events to `path` (as procreg's own writer would). */
export function writeSimLog(path: string, events: number, seed = 7): void {
  const writer = LogWriter.open(path, { durability: 'none' });
  let left = events;
  simulate(
    events,
    (e) => {
      if (left-- > 0) writer.append(bodyOf(e), e.time, e.mono);
    },
    seed,
  );
  writer.close();
}
