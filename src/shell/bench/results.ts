/**
 * Results as JSON that two runs can be compared by: the rows, and where and how they were
 * measured (machine, Node, date, the command line). Shared by `procreg bench` and
 * `npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One figure: an implementation in a case of a benchmark. */
export interface BenchRow {
  readonly bench: string;
  readonly case: string;
  readonly impl: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
  /** Against its peer or limit measured in the same run, e.g. `1.12x raw`. */
  readonly ratio?: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryMB: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
}

export interface BenchReport {
  readonly procreg: string;
  readonly machine: Machine;
  /** ISO 8601, UTC, when the run started. */
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly results: readonly BenchRow[];
}

export function machine(): Machine {
  const cs = cpus();
  return {
    cpu: cs[0]?.model.trim() ?? 'unknown',
    cores: cs.length,
    memoryMB: Math.round(totalmem() / 1024 ** 2),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryMB} MB, node ${m.node}`;
}

/** The package's version, for the report: the nearest package.json above (dist/ or dist-bench/src/). */
export function procregVersion(): string {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      return (JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version: string }).version;
    } catch {
      // not here: one directory up
    }
  }
  return 'unknown';
}

export function fmtRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(0)}k/s`;
  return `${perSec.toFixed(0)}/s`;
}

export function fmtValue(r: Pick<BenchRow, 'value' | 'unit'>): string {
  if (r.unit.endsWith('/s')) return `${fmtRate(r.value)} ${r.unit.replace('/s', '')}`.trim();
  return `${r.value.toFixed(r.value < 10 ? 2 : 0)} ${r.unit}`;
}

/** A titled table, first column left-aligned, the others right-aligned. */
export function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    `\n## ${title}`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}
