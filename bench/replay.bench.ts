// Replay end to end: a JSONL log of >= 1M events (a supervisor with 1k services crashing and
// restarting, PID files, backoff) read + decoded + validated + folded, in a child process so
// its peak RSS is its own. Run on a quarter of the log and on the whole log: memory must
// not grow with the file.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodyOf, decodeEvent } from '../src/events/codec.js';
import { LOG_FORMAT_VERSION } from '../src/events/types.js';
import { LogWriter } from '../src/shell/event-log/writer.js';
import { recordChurn } from './fold.bench.js';
import { benchCacheDir, median, ratioOf, type Result } from './util.js';

const CHILD = fileURLToPath(new URL('./replay-child.js', import.meta.url));

function ensureLog(events: number): string {
  const path = join(benchCacheDir(), `procreg-bench-${events}-v${LOG_FORMAT_VERSION}.jsonl`);
  if (existsSync(path) && stillDecodes(path)) return path;
  const tmp = `${path}.part`;
  const writer = LogWriter.open(tmp, { durability: 'none' });
  let n = 0;
  // A crash-restart cycle logs about 7 events; ask for more cycles than needed, keep `events`.
  recordChurn(1_000, Math.ceil(events / 5), 11, (e) => {
    if (n++ < events) {
      writer.append(bodyOf(e), e.time, e.mono);
    }
  });
  writer.close();
  if (n < events) throw new Error(`generated only ${n} of ${events} events`);
  renameSync(tmp, path);
  return path;
}

/** A log cached by an older procreg (another event or config shape) is made again. */
function stillDecodes(path: string): boolean {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(4 * 1024 * 1024); // the config-loaded line alone is ~0.5 MB
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const lines = head.subarray(0, n).toString('utf8').split('\n').slice(0, -1);
  const ok =
    lines.length > 0 && lines.every((l) => decodeEvent(l).ok && l.startsWith(`{"v":${LOG_FORMAT_VERSION},`));
  if (!ok)
    for (const f of readdirSync(benchCacheDir()))
      if (f.startsWith(basename(path))) rmSync(join(benchCacheDir(), f));
  return ok;
}

function prefix(path: string, lines: number): string {
  const out = `${path}.first-${lines}`;
  if (existsSync(out)) return out;
  const text = readFileSync(path, 'utf8');
  let idx = 0;
  for (let i = 0; i < lines; i++) idx = text.indexOf('\n', idx) + 1;
  const fd = openSync(out, 'w');
  writeSync(fd, text.slice(0, idx));
  closeSync(fd);
  return out;
}

interface ChildResult {
  events: number;
  seconds: number;
  maxRssMB: number;
  liveHeapMB: number;
  bytes: number;
}

function runChild(path: string, check: boolean | 'parse-ceiling', heapCapMB?: number): ChildResult {
  const flags = ['--expose-gc', ...(heapCapMB ? [`--max-old-space-size=${heapCapMB}`] : [])];
  const mode = check === 'parse-ceiling' ? '--parse-ceiling' : check ? '--check' : '';
  const out = execFileSync(process.execPath, [...flags, CHILD, path, mode], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as ChildResult;
}

export function replayBench(opts: { rounds: number; quick: boolean }): Result[] {
  const total = opts.quick ? 200_000 : 1_000_000;
  const full = ensureLog(total);
  const quarter = prefix(full, total / 4);
  const results: Result[] = [];
  const row = (
    c: string,
    impl: string,
    value: number,
    unit: string,
    target?: string,
    ratio?: string,
  ): Result => ({
    bench: 'replay',
    case: c,
    impl,
    value,
    unit,
    ...(target ? { target } : {}),
    ...(ratio ? { ratio } : {}),
  });
  for (const [label, path] of [
    [`${total / 4000}k events`, quarter],
    [`${total / 1000}k events`, full],
  ] as const) {
    // Alternating with the parse ceiling (read + split + JSON.parse only), so noise hits both.
    const runs: ChildResult[] = [];
    const ceiling: ChildResult[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      runs.push(runChild(path, false));
      ceiling.push(runChild(path, 'parse-ceiling'));
    }
    const c = `${label} (${((runs[0] as ChildResult).bytes / 1e6).toFixed(0)} MB)`;
    const ours = median(runs.map((r) => r.events / r.seconds));
    const peer = median(ceiling.map((r) => r.events / r.seconds));
    results.push(
      row(
        c,
        'read+decode+fold',
        ours,
        'events/s',
        '>= 800k/s, >= 0.9x parse ceiling',
        `${ratioOf(ours, peer)} parse ceiling`,
      ),
    );
    results.push(row(c, 'parse ceiling: read+split+JSON.parse', peer, 'events/s'));
    results.push(
      row(c, 'live heap after GC', median(runs.map((r) => r.liveHeapMB)), 'MB', 'flat in file size'),
    );
    results.push(row(c, 'peak RSS (includes GC slack)', median(runs.map((r) => r.maxRssMB)), 'MB'));
  }
  // The proof that memory does not grow with the file: the whole log under a small heap cap.
  const capped = runChild(full, false, 64);
  results.push(
    row(
      `${total / 1000}k events`,
      'same, old space capped at 64 MB',
      capped.events / capped.seconds,
      'events/s',
    ),
  );
  const checked = runChild(quarter, true);
  results.push(
    row(
      `${total / 4000}k events`,
      'replay --check (invariants every event)',
      checked.events / checked.seconds,
      'events/s',
    ),
  );
  return results;
}
