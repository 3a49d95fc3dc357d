// The debugging commands on a 1M-event log made by the simulator (bench/sim-log.ts): each
// command run as `procreg` would be, in a child process, its wall time and peak RSS; and the
// same on a quarter of the log, to show memory does not grow with the file.
//   npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/debug.bench.js [events]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSimLog } from './sim-log.js';

const events = Number(process.argv[2] ?? 1_000_000);
const BIN = join(process.cwd(), 'bin', 'procreg.js');

function log(n: number): string {
  const path = join(tmpdir(), `procreg-debug-bench-${n}.jsonl`);
  if (!existsSync(path)) {
    const part = `${path}.part`;
    rmSync(part, { force: true });
    writeSimLog(part, n);
    execFileSync('mv', [part, path]);
  }
  return path;
}

/** Seconds and peak RSS (MB) of one command, from GNU time when installed, else wall time only. */
function run(args: string[]): { seconds: number; rssMB: number | null; code: number | null } {
  const t0 = process.hrtime.bigint();
  const timed = existsSync('/usr/bin/time');
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      })
    : spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const kb = timed ? Number(r.stderr.trim().split('\n').at(-1)) : Number.NaN;
  return { seconds, rssMB: Number.isFinite(kb) ? kb / 1024 : null, code: r.status };
}

const html = join(tmpdir(), 'procreg-debug-bench.html');
const cases = (path: string, n: number): [string, string[]][] => [
  ['replay (whole log)', ['replay', path]],
  ['replay --until (90%)', ['replay', path, '--until', String(Math.floor(n * 0.9))]],
  ['events --service worker', ['events', path, '--service', 'worker']],
  [
    'events --type decision --since',
    ['events', path, '--type', 'decision', '--until', '2026-09-21T15:00:00Z'],
  ],
  ['history flaky --last 100', ['history', path, 'flaky', '--last', '100']],
  ['why flaky', ['why', path, 'flaky']],
  ['diff 10% 90%', ['diff', path, String(Math.floor(n * 0.1)), String(Math.floor(n * 0.9))]],
  ['timeline', ['timeline', path, '-o', html]],
];

for (const n of [Math.floor(events / 4), events]) {
  const path = log(n);
  process.stdout.write(`\n## ${n} events (${(statSync(path).size / 1048576).toFixed(0)} MB)\n`);
  for (const [name, args] of cases(path, n)) {
    const r = run(args);
    process.stdout.write(
      `${name.padEnd(32)} ${r.seconds.toFixed(2).padStart(6)} s  ${r.rssMB === null ? '' : `${r.rssMB.toFixed(0).padStart(5)} MB peak RSS`}${r.code === 0 ? '' : `  (exit ${r.code})`}\n`,
    );
  }
  if (existsSync(html))
    process.stdout.write(`timeline page: ${(statSync(html).size / 1048576).toFixed(2)} MB\n`);
}
