// Script security at exec time (vetCommand, before every spawn and check run, as root): a
// verdict kept between spawns and checked against what it was drawn from, against the verdict
// drawn afresh each time (procreg before the memo). Trials alternate between the two.
import { forgetScriptSecurityVerdicts, vetCommand } from '../src/shell/config/script-security.js';
import { median, type Result } from './util.js';

const CASES: [string, string[]][] = [
  ['sleep 1, found in PATH', ['sleep', '1']],
  ['node web.js (an argument file)', ['node', 'bench/util.ts']],
  ['sh -c script of 3 commands', ['sh', '-c', 'cd /tmp && test -d . && exec sleep 1']],
];
const PER_TRIAL = 200;

/** µs per vetCommand call, over PER_TRIAL calls. */
function trial(command: string[], afresh: boolean): number {
  const t0 = performance.now();
  for (let i = 0; i < PER_TRIAL; i++) {
    if (afresh) forgetScriptSecurityVerdicts();
    if (vetCommand(command, process.cwd(), {}) !== null) throw new Error(`refused: ${command.join(' ')}`);
  }
  return ((performance.now() - t0) * 1000) / PER_TRIAL;
}

export function vetBench(opts: { trials: number }): Result[] {
  if (process.getuid?.() !== 0) return []; // the check runs only as root
  const out: Result[] = [];
  for (const [name, command] of CASES) {
    const kept: number[] = [];
    const afresh: number[] = [];
    for (let t = 0; t < opts.trials; t++) {
      afresh.push(trial(command, true));
      kept.push(trial(command, false));
    }
    const k = median(kept);
    const a = median(afresh);
    out.push(
      { bench: 'vet', case: name, impl: 'drawn afresh (before)', value: a, unit: 'µs' },
      {
        bench: 'vet',
        case: name,
        impl: 'kept, checked against what it saw',
        value: k,
        unit: 'µs',
        ratio: `${(k / a).toFixed(2)}x afresh`,
      },
    );
  }
  return out;
}
