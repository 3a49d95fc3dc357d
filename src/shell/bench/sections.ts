/** The benchmark sections: what ships in the package, and what runs from a checkout only. */

/** Runs from the installed package: no bench/ directory, no development dependency needed. */
export const SHIPPED_SECTIONS = ['tree'] as const;

/**
 * `npm run bench` sections (bench/run.ts), in the order it runs them: they need a checkout
 * (bench/, generated logs, PM2 and the other development peers). Its `tree` is the churn
 * table of bench/tree-churn.bench.ts followed by the shipped tree workloads.
 */
export const CHECKOUT_SECTIONS = [
  'tree',
  'fold',
  'replay',
  'memory',
  'restart',
  'reload',
  'spawn',
  'vet',
  'idle',
  'startup',
  'snapshots',
  'size',
  'storm',
  'ship',
  'ship-storm',
] as const;

export const BENCH_USAGE = (command: string, sections: readonly string[], defaultNote: string) =>
  `Usage: ${command} [section...] [--only s1,s2] [--json] [--quick] [--impl ./my-tree.js]...
       ${command} --compare old.json new.json

Runs procreg and its peers side by side in one run and prints each figure with its ratio to
the peer measured in the same run.

Sections: ${sections.join(', ')}
  ${defaultNote}

Options:
  --only s1,s2        the sections to run (also --only=s1,s2)
  --json              print the results as one JSON document (machine, date, command, rows)
  --quick             fewer rounds and smaller sizes: a smoke run, not figures to quote
  --impl <file>       also run your own ordered map through an adapter module (repeatable);
                      see "Benchmarking your own tree" in the README
  --compare <old> <new>
                      print new/old per row of two --json results
  -h, --help          this text

Exit codes: 0 done; 2 a bad flag, section, adapter or result file (nothing is run).
Ctrl-C, SIGTERM or a closed stdout stop every process the run started and remove its
temp files.`;
