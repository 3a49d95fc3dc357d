/**
 * `--compare old.json new.json`: the rows both runs measured, side by side, with new/old.
 * Rows match on benchmark, case, implementation and unit; the others are listed apart.
 */
import { readFileSync } from 'node:fs';
import { type BenchReport, type BenchRow, describeMachine, fmtValue, table } from './results.js';

export class CompareError extends Error {}

export function readReport(file: string): BenchReport {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code
      ? (e as Error).message
      : `not JSON: ${(e as Error).message}`;
    throw new CompareError(`${file}: ${why}`);
  }
  const r = data as Partial<BenchReport>;
  const rowOk = (x: unknown) => {
    const row = x as Partial<BenchRow>;
    return typeof row?.bench === 'string' && typeof row.impl === 'string' && typeof row.value === 'number';
  };
  if (typeof r !== 'object' || r === null || !Array.isArray(r.results) || !r.results.every(rowOk))
    throw new CompareError(
      `${file}: not a benchmark result (expected the JSON of \`procreg bench --json\` or \`npm run bench -- --json\`: an object with "results": [{bench, case, impl, value, unit}])`,
    );
  return r as BenchReport;
}

const key = (r: BenchRow) => `${r.bench}\u0000${r.case}\u0000${r.impl}\u0000${r.unit}`;

/** The comparison as text; higher is better for rates (`/s`), lower for the rest. */
export function compareReports(oldFile: string, newFile: string): string {
  const [a, b] = [readReport(oldFile), readReport(newFile)];
  const olds = new Map(a.results.map((r) => [key(r), r]));
  const news = new Map(b.results.map((r) => [key(r), r]));
  const rows: string[][] = [];
  for (const n of b.results) {
    const o = olds.get(key(n));
    if (!o) continue;
    const ratio = n.value / o.value;
    const better = n.unit.endsWith('/s') ? ratio > 1 : ratio < 1;
    const note = Math.abs(ratio - 1) < 0.03 ? 'same' : better ? 'better' : 'worse';
    rows.push([`${n.bench}: ${n.case}`, n.impl, fmtValue(o), fmtValue(n), `${ratio.toFixed(2)}x`, note]);
  }
  const lines = [
    `old: ${oldFile} — ${a.date ?? 'no date'}${a.machine ? `, ${describeMachine(a.machine)}` : ''}${a.command ? `, ${a.command}` : ''}`,
    `new: ${newFile} — ${b.date ?? 'no date'}${b.machine ? `, ${describeMachine(b.machine)}` : ''}${b.command ? `, ${b.command}` : ''}`,
  ];
  if (a.machine && b.machine && describeMachine(a.machine) !== describeMachine(b.machine))
    lines.push('note: the two runs are from different machines or Node versions');
  lines.push(
    table(
      'new / old (rates: higher is better; times and sizes: lower)',
      ['case', 'implementation', 'old', 'new', 'new/old', ''],
      rows,
    ),
  );
  const onlyOld = a.results.filter((r) => !news.has(key(r)));
  const onlyNew = b.results.filter((r) => !olds.has(key(r)));
  if (onlyOld.length)
    lines.push(`\nonly in old: ${onlyOld.map((r) => `${r.bench}: ${r.case} / ${r.impl}`).join('; ')}`);
  if (onlyNew.length)
    lines.push(`\nonly in new: ${onlyNew.map((r) => `${r.bench}: ${r.case} / ${r.impl}`).join('; ')}`);
  if (rows.length === 0) lines.push('\nno row is in both runs');
  return lines.join('\n');
}
