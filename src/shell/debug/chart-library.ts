/**
 * The drawing library the timeline page inlines: d3 (ISC license), its browser build read
 * from the installed package, so the page needs no network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ChartLibrary } from '../../debug/timeline-html.js';
import { ProcregError } from '../errors.js';

let cached: ChartLibrary | null = null;

export function loadChartLibrary(): ChartLibrary {
  if (cached) return cached;
  try {
    // d3's exports name dist/d3.mjs; its UMD build lies beside it.
    const entry = createRequire(import.meta.url).resolve('d3');
    const dist = dirname(entry);
    const source = readFileSync(join(dist, 'd3.min.js'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
      version: string;
      license: string;
    };
    cached = {
      source,
      notice: `d3 ${pkg.version} (https://d3js.org), ${pkg.license} license, Copyright 2010-2026 Mike Bostock`,
    };
    return cached;
  } catch (e) {
    throw new ProcregError(
      'ENOCHART',
      `cannot read the d3 package the timeline draws with: ${(e as Error).message}`,
    );
  }
}
