// npm run bench [-- --json] [-- --quick] [-- --only tree,fold,replay,memory,restart,reload,idle,spawn,startup,snapshots,size,storm,ship]
// [-- --candidates 25000/8,50000/16]: more snapshot intervals (events/MB) to measure beside the default
// Every benchmark runs procreg and its peers in one run, side by side; figures are medians.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { foldBench } from './fold.bench.js';
import { replayBench } from './replay.bench.js';
import { shipBench } from './ship.bench.js';
import { snapshotsBench } from './snapshots.bench.js';
import { startupBench } from './startup.bench.js';
import { spawnBench } from './spawn.bench.js';
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
if (want('spawn'))
  show(
    'Spawn latency of user, umask and limits (helpers run between fork and the program; trials alternate)',
    await spawnBench({ trials: quick ? 20 : 200 }),
  );
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
if (want('startup'))
  show(
    'Start-up of procreg run on a storm log: exec to the first service spawned (issue 11)',
    await startupBench({ rounds: quick ? 3 : 5, quick }),
  );
if (want('snapshots') || want('size')) {
  const candidates = args.includes('--candidates')
    ? (args[args.indexOf('--candidates') + 1] ?? '').split(',').map((c) => {
        const [events, mb] = c.split('/').map(Number);
        return { events: events as number, bytes: Math.round((mb as number) * 1024 ** 2) };
      })
    : [];
  const rs = await snapshotsBench({ rounds: quick ? 3 : 5, quick, candidates });
  if (want('snapshots'))
    show(
      'Snapshots within a segment: their cost on the fold, storm workload (issue 11)',
      rs.filter((r) => r.bench === 'snapshots'),
    );
  if (want('size'))
    show(
      'Bytes per event of the storm workload (300 services crashing), by snapshot interval',
      rs.filter((r) => r.bench === 'size'),
    );
}
if (want('storm'))
  show(
    'Status under a crash storm, with spawns/s and CPU per spawn (the bare Node loop as peer)',
    await stormBench({ services: 300, windowMs: quick ? 5000 : 20_000 }),
  );
if (want('ship'))
  show(
    'Shipping a storm log to a local NATS JetStream (issue 16)',
    await shipBench({ events: quick ? 100_000 : 400_000, peerEvents: quick ? 5_000 : 20_000 }),
  );
if (json) process.stdout.write(`${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
