// One replay of a log file, reporting throughput, live heap and peak RSS as JSON.
import { statSync } from 'node:fs';
import { Replayer } from '../src/core/replay.js';
import { readLogBatches } from '../src/shell/event-log/reader.js';

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
// Live heap after a full GC: what the replay holds on to, as opposed to GC slack in peak RSS.
(globalThis as { gc?: () => void }).gc?.();
const liveHeapMB = process.memoryUsage().heapUsed / 1048576;
const maxRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  JSON.stringify({ events: res.events, seconds, maxRssMB, liveHeapMB, bytes: statSync(path).size }),
);
