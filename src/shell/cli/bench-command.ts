/**
 * `procreg bench`: the tree benchmark as a product. `tree` runs from the installed package;
 * the supervisor sections run from a checkout (they hand over to its `npm run bench`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../bench/args.js';
import { CompareError, compareReports } from '../bench/compare.js';
import { type BenchReport, type BenchRow, machine, procregVersion } from '../bench/results.js';
import { BENCH_USAGE, CHECKOUT_SECTIONS, SHIPPED_SECTIONS } from '../bench/sections.js';
import { startBenchSession } from '../bench/session.js';
import { AdapterError, loadAdapter, type TreeAdapter } from '../bench/tree/adapter.js';
import type { CommandIO } from './io.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECTIONS = [...new Set<string>([...SHIPPED_SECTIONS, ...CHECKOUT_SECTIONS])];

/** A checkout with its development dependencies: bench/ and TypeScript to build it. */
const isCheckout = () => existsSync(`${ROOT}bench/run.ts`) && existsSync(`${ROOT}node_modules/typescript`);

export async function benchCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const parsed = parseBenchArgs(argv, {
    command: 'procreg bench',
    sections: SECTIONS,
    positionalSections: true,
    candidates: false,
  });
  if (!parsed.ok) {
    io.err(parsed.message);
    io.err('procreg bench --help prints the usage');
    return 2;
  }
  const args = parsed.args;
  if (args.help) {
    io.out(
      BENCH_USAGE(
        'procreg bench',
        SECTIONS,
        `default: ${SHIPPED_SECTIONS.join(', ')}. ${SHIPPED_SECTIONS.join(', ')} ships in the package; the others run from a procreg checkout (npm ci), through npm run bench.`,
      ),
    );
    return 0;
  }
  if (args.compare) {
    try {
      io.out(compareReports(args.compare[0], args.compare[1]));
      return 0;
    } catch (e) {
      if (!(e instanceof CompareError)) throw e;
      io.err(`procreg bench --compare: ${e.message}`);
      return 2;
    }
  }
  const sections = args.sections.length > 0 ? args.sections : [...SHIPPED_SECTIONS];
  const fromCheckout = sections.filter((s) => !(SHIPPED_SECTIONS as readonly string[]).includes(s));
  if (fromCheckout.length > 0) {
    if (!isCheckout()) {
      io.err(
        `procreg bench: ${fromCheckout.join(', ')} run${fromCheckout.length === 1 ? 's' : ''} from a procreg checkout only (bench/ and the development peers, PM2 among them): git clone the repository, npm ci, then npm run bench -- --only ${fromCheckout.join(',')}. The installed package runs: ${SHIPPED_SECTIONS.join(', ')}`,
      );
      return 2;
    }
    return handOver(sections, args.json, args.quick, args.impls);
  }

  const user: { adapter: TreeAdapter; file: string }[] = [];
  try {
    for (const file of args.impls) user.push({ adapter: await loadAdapter(file), file });
  } catch (e) {
    if (!(e instanceof AdapterError)) throw e;
    io.err(`procreg bench: ${e.message}`);
    return 2;
  }
  const session = startBenchSession(io.err);
  const date = new Date().toISOString();
  const log = (text: string) => {
    if (!args.json) io.out(text);
  };
  const m = machine();
  log(`procreg bench — ${m.cpu}, ${m.cores} cores, node ${m.node}, ${date}${args.quick ? ' (quick)' : ''}`);
  const rows: BenchRow[] = [];
  try {
    const { treeBench } = await import('../bench/tree/tree-bench.js');
    rows.push(...(await treeBench({ quick: args.quick, user, log })));
  } catch (e) {
    if (!(e instanceof AdapterError)) throw e;
    io.err(`procreg bench: ${e.message}`);
    return 2;
  } finally {
    session.close();
  }
  if (args.json) {
    const report: BenchReport = {
      procreg: procregVersion(),
      machine: m,
      date,
      command: ['procreg', 'bench', ...argv].join(' '),
      quick: args.quick,
      results: rows,
    };
    io.out(JSON.stringify(report, null, 2));
  }
  return 0;
}

/**
 * The checkout's own runner, `npm run bench`, builds and runs every section; it has the same
 * flags and cleans up after itself (its temp root is inside this one's TMPDIR).
 */
async function handOver(
  sections: readonly string[],
  json: boolean,
  quick: boolean,
  impls: readonly string[],
) {
  const session = startBenchSession((line) => process.stderr.write(`${line}\n`));
  const args = [
    'run',
    'bench',
    '--silent',
    '--',
    '--only',
    sections.join(','),
    ...(json ? ['--json'] : []),
    ...(quick ? ['--quick'] : []),
    ...impls.flatMap((f) => ['--impl', fileURLToPath(new URL(f, `file://${process.cwd()}/`))]),
  ];
  const child = spawn('npm', args, { cwd: ROOT, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) =>
    child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 1))),
  );
  session.close();
  return code;
}
