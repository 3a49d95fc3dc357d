// A small custom supervisor built on procreg's library API: a config object instead of a
// file, a decision it reacts to (a service given up), and an event source of its own (a
// "deploy hook" that restarts a service). Run it with:
//   npx tsx examples/custom-supervisor.ts [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { normalizeConfig, Supervisor } from '../src/index.js';

const seconds = Number(process.argv[2] ?? 10);
const runDir = mkdtempSync(join(tmpdir(), 'procreg-custom-'));
const node = process.execPath;

const res = normalizeConfig(
  {
    runDir,
    services: {
      api: { command: [node, '-e', 'setInterval(() => {}, 1000)'] },
      // Exits at once, every time: backs off, then is given up.
      broken: {
        command: [node, '-e', 'process.exit(1)'],
        backoff: { initial: '50ms' },
        maxRestarts: { count: 3, within: '1m' },
      },
    },
  },
  { baseDir: runDir },
);
if (!res.ok) throw new Error(res.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));

const log = pino({ level: 'warn' });
const sup = await Supervisor.open({ config: res.config, logger: log });

// React to decisions: here, a message; in real life, page someone.
sup.events.subscribe((e) => {
  if (e.type === 'service-given-up') console.log(`ALERT: ${e.name} given up after ${e.restarts} restarts`);
  if (e.type === 'spawned') console.log(`${e.name} #${e.incarnation} started as pid ${e.pid}`);
});

// An event source of our own: a deploy hook that asks for a fresh `api` halfway through.
setTimeout(
  () => {
    console.log('deploy hook: restarting api');
    sup.push({ type: 'stop-requested', target: 'service', name: 'api', source: 'test' });
    sup.push({ type: 'start-requested', target: 'service', name: 'api', source: 'test' });
  },
  (seconds * 1000) / 2,
);

process.on('SIGINT', () => void sup.stop('SIGINT'));
setTimeout(() => void sup.stop('demo over'), seconds * 1000);
await sup.stopped;
const { services } = sup.status();
console.log(`stopped: ${services.map((s) => `${s.name} ${s.state} (${s.restarts} restarts)`).join(', ')}`);
rmSync(runDir, { recursive: true, force: true });
