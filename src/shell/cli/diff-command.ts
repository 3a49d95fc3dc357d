/** `procreg diff <log> <from> <to>`: what changed between two points (seqs, times or gen:N). */
import { diffPoints, type LogDiff, renderDiff } from '../../debug/diff.js';
import { parsePoint } from '../../debug/point.js';
import {
  CommandFailure,
  finishReport,
  openLog,
  runCommand,
  timeStyle,
  usageError,
} from '../debug/command-kit.js';
import type { CommandIO } from './io.js';

export interface DiffCommandOptions {
  readonly json?: boolean;
  readonly utc?: boolean;
}

/** `diff --json`: one object. */
export interface DiffJson extends LogDiff {
  readonly log: string;
}

export function diffCommand(
  log: string,
  from: string,
  to: string,
  opts: DiffCommandOptions,
  io: CommandIO,
): Promise<number> {
  return runCommand('diff', io, async () => {
    const now = Date.now();
    const a = parsePoint(from, now);
    if (!a.ok) throw usageError(`<from>: ${a.error}`);
    const b = parsePoint(to, now);
    if (!b.ok) throw usageError(`<to>: ${b.error}`);
    const style = timeStyle(opts);
    const open = openLog(log, io);
    const res = await diffPoints(open.events(), a.value, b.value, style);
    if (!res.ok) throw new CommandFailure(`${open.source.path}: ${res.error}`);
    if (opts.json) {
      const j: DiffJson = { log: open.source.path, ...res.diff };
      io.out(JSON.stringify(j, null, 2));
    } else io.out(renderDiff(res.diff, style));
    return finishReport(open, 'procreg diff');
  });
}
