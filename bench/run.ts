// npm run bench [-- --json] [-- --quick] [-- --only tree,fold,replay,memory,restart,reload,idle,spawn,vet,startup,snapshots,size,storm,ship,ship-storm]
// [-- --impl ./my-tree.js]... [-- --compare old.json new.json] [-- --help]
// [-- --candidates 25000/8,50000/16]: more snapshot intervals (events/MB) to measure beside the default
// Every benchmark runs procreg and its peers in one run, side by side; figures are medians.
// The flags, the JSON report and the cleanup on SIGINT/SIGTERM/EPIPE are those of `procreg
// bench` (src/shell/bench/): an unknown flag or section is refused with exit 2.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../src/shell/bench/args.js';
import { CompareError, compareReports } from '../src/shell/bench/compare.js';
import { type BenchReport, machine, procregVersion } from '../src/shell/bench/results.js';
import { BENCH_USAGE, CHECKOUT_SECTIONS } from '../src/shell/bench/sections.js';
import { startBenchSession } from '../src/shell/bench/session.js';
import { AdapterError, loadAdapter, type TreeAdapter } from '../src/shell/bench/tree/adapter.js';
import { treeBench } from '../src/shell/bench/tree/tree-bench.js';
import { foldBench } from './fold.bench.js';
import { replayBench } from './replay.bench.js';
import { shipBench } from './ship.bench.js';
import { shipStormBench } from './ship-storm.bench.js';
import { snapshotsBench } from './snapshots.bench.js';
import { startupBench } from './startup.bench.js';
import { spawnBench } from './spawn.bench.js';
import { stormBench } from './storm.bench.js';
import { idleBench, reloadBench, restartBench } from './supervisor.bench.js';
import { treeChurn } from './tree-churn.bench.js';
import { vetBench } from './vet.bench.js';
import { fmtRate, type Result, table } from './util.js';

const argv = process.argv.slice(2);
const parsed = parseBenchArgs(argv, {
  command: 'npm run bench --',
  sections: CHECKOUT_SECTIONS,
  positionalSections: true,
  candidates: true,
});
if (!parsed.ok) {
  process.stderr.write(`${parsed.message}\nnpm run bench -- --help prints the usage\n`);
  process.exit(2);
}
const { json, quick, help, compare, impls } = parsed.args;
if (help) {
  process.stdout.write(
    `${BENCH_USAGE('npm run bench --', CHECKOUT_SECTIONS, 'default: all of them, in this order.')}\n  --candidates 25000/8,50000/16\n                      more snapshot intervals (events/MB) for the snapshots and size sections\n`,
  );
  process.exit(0);
}
if (compare) {
  try {
    process.stdout.write(`${compareReports(compare[0], compare[1])}\n`);
    process.exit(0);
  } catch (e) {
    if (!(e instanceof CompareError)) throw e;
    process.stderr.write(`npm run bench -- --compare: ${e.message}\n`);
    process.exit(2);
  }
}
const user: { adapter: TreeAdapter; file: string }[] = [];
try {
  for (const file of impls) user.push({ adapter: await loadAdapter(file), file });
} catch (e) {
  if (!(e instanceof AdapterError)) throw e;
  process.stderr.write(`npm run bench: ${e.message}\n`);
  process.exit(2);
}
const only = parsed.args.sections.length > 0 ? new Set(parsed.args.sections) : null;
const want = (name: string) => !only || only.has(name);
const rounds = quick ? 3 : 7;
const session = startBenchSession((line) => process.stderr.write(`${line}\n`));
const date = new Date().toISOString();
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

const m = machine();
log(
  `procreg benchmarks — ${m.cpu}, ${m.cores} cores, node ${m.node}, ${date}, ${rounds} rounds${quick ? ' (quick)' : ''}`,
);
if (want('tree')) {
  show('PID tree under churn (remove a random live PID + insert a new one)', treeChurn({ rounds, quick }));
  results.push(...(await treeBench({ quick, user, log })));
}
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
if (want('vet'))
  show(
    'Script security before a spawn (vetCommand as root; trials alternate)',
    vetBench({ trials: quick ? 5 : 25 }),
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
  const candidates = parsed.args.candidates
    ? parsed.args.candidates.split(',').map((c) => {
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
if (want('ship-storm'))
  show(
    'Shipping during the crash storm: lag, and the storm with the shipper vs without it (windows alternate)',
    await shipStormBench({ services: 300, windowMs: quick ? 4000 : 8000, pairs: quick ? 2 : 5 }),
  );
if (json) {
  const report: BenchReport = {
    procreg: procregVersion(),
    machine: m,
    date,
    command: ['npm', 'run', 'bench', '--', ...argv].join(' '),
    quick,
    results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
session.close();
