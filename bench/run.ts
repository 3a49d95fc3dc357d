// npm run bench [-- --json] [-- --quick] [-- --only tree,fold,replay,memory,restart,reload,idle,storm]
// Every benchmark runs procreg and its peers in one run, side by side; figures are medians.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { foldBench } from './fold.bench.js';
import { replayBench } from './replay.bench.js';
import { stormBench } from './storm.bench.js';
import { idleBench, reloadBench, restartBench } from './supervisor.bench.js';
import { treeChurn } from './tree-churn.bench.js';
import { fmtRate, type Result, table } from './util.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyArg = args[args.indexOf('--only') + 1];
const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const want = (name: string) => !only || only.has(name);
const rounds = quick ? 3 : 7;
const log = (s: string) => {
  if (!json) process.stdout.write(`${s}\n`);
};

const results: Result[] = [];
const show = (title: string, rs: Result[]) => {
  results.push(...rs);
  log(
    table(
      title,
      ['case', 'implementation', 'median', 'target', 'ratio'],
      rs.map((r) => [r.case, r.impl, fmtValue(r), r.target ?? '', r.ratio ?? '']),
    ),
  );
};

function fmtValue(r: Result): string {
  if (r.unit.endsWith('/s')) return `${fmtRate(r.value)} ${r.unit.replace('/s', '')}`.trim();
  return `${r.value.toFixed(r.value < 10 ? 2 : 0)} ${r.unit}`;
}

log(`procreg benchmarks — node ${process.version}, ${rounds} rounds${quick ? ' (quick)' : ''}`);
if (want('tree'))
  show('PID tree under churn (remove a random live PID + insert a new one)', treeChurn({ rounds, quick }));
if (want('fold')) show('Fold at 10k live processes (crash-restart churn)', foldBench({ rounds, quick }));
if (want('replay'))
  show('Replay: read + decode + validate + fold a JSONL log', replayBench({ rounds: quick ? 1 : 3, quick }));
if (want('memory')) {
  const child = fileURLToPath(new URL('./memory.bench.js', import.meta.url));
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8' })) as {
    rows: [string, number][];
    stateBytesPerService: number;
  };
  const rs: Result[] = out.rows.map(([impl, bytes]) => ({
    bench: 'memory',
    case: '100k live entries',
    impl,
    value: bytes,
    unit: 'bytes/entry',
    ...(impl === 'procreg PidTree' ? { target: '<= 150 incl. entry' } : {}),
  }));
  rs.push({
    bench: 'memory',
    case: '100k running services',
    impl: 'whole registry state incl. config',
    value: out.stateBytesPerService,
    unit: 'bytes/service',
  });
  show('Memory per live entry (heap after GC, entries shaped as the fold makes them)', rs);
}
if (want('restart'))
  show(
    'Restart latency on real processes, side by side with PM2 (trials alternate)',
    await restartBench({ trials: quick ? 15 : 60 }),
  );
if (want('reload'))
  show('Reload latency: add one service to the config', await reloadBench({ trials: quick ? 5 : 20 }));
if (want('idle'))
  show(
    'The supervisor process with 100 idle children (both at once)',
    await idleBench({
      children: 100,
      windowMs: quick ? 10_000 : 30_000,
      quietMs: quick ? 3000 : 12_000,
      settleMaxMs: quick ? 20_000 : 120_000,
    }),
  );
if (want('storm'))
  show(
    'Status under a crash storm, with spawns/s and CPU per spawn (the bare Node loop as peer)',
    await stormBench({ services: 300, windowMs: quick ? 5000 : 20_000 }),
  );
if (json) process.stdout.write(`${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
