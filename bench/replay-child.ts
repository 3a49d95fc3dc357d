// One replay of a log file, reporting throughput and this process's peak RSS as JSON.
import { statSync } from 'node:fs';
import { Replayer } from '../src/core/replay.js';
import { readLogBatches } from '../src/events/reader.js';

const [path, flag] = process.argv.slice(2);
if (!path) throw new Error('usage: replay-child <log> [--check]');
const t0 = process.hrtime.bigint();
const r = new Replayer({ check: flag === '--check' });
let problems = 0;
for await (const batch of readLogBatches(path)) {
  for (const e of batch.events) r.push(e);
  problems += batch.problems.length;
}
const res = r.result();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
if (problems > 0 || res.problems.length > 0)
  throw new Error(`log problems: ${problems}, replay problems: ${res.problems.length}`);
process.stdout.write(
  JSON.stringify({
    events: res.events,
    seconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    bytes: statSync(path).size,
  }),
);
