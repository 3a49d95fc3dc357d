// One replay of a log file, reporting throughput, live heap and peak RSS as JSON.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Replayer } from '../src/core/replay.js';
import { readLogBatches } from '../src/shell/event-log/reader.js';

const [path, flag] = process.argv.slice(2);
if (!path) throw new Error('usage: replay-child <log> [--check | --parse-ceiling]');
if (flag === '--parse-ceiling') parseCeiling(path);
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

/**
 * The ceiling replay is measured against (issue 15): read in 1 MiB chunks, split into lines,
 * JSON.parse each, in this one thread; no validation, no fold. Prints the same JSON and exits.
 */
function parseCeiling(file: string): never {
  const t = process.hrtime.bigint();
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let rest = '';
  let events = 0;
  let sink = 0;
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
    const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
    rest = lines.pop() as string;
    for (const line of lines) {
      sink += (JSON.parse(line) as { seq: number }).seq;
      events++;
    }
  }
  closeSync(fd);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(
    JSON.stringify({
      events,
      seconds,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      liveHeapMB: process.memoryUsage().heapUsed / 1048576,
      bytes: statSync(file).size,
      sink,
    }),
  );
  process.exit(0);
}
