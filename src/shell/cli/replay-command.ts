import { existsSync, statSync } from 'node:fs';
import { registryView } from '../../core/view.js';
import { formatView } from '../../report/registry-table.js';
import { replayLogFile } from '../event-log/replay-file.js';
import type { CommandIO } from './io.js';

export interface ReplayCommandOptions {
  readonly json?: boolean;
  readonly check?: boolean;
}

/** Exit codes: 0 fine, 1 --check found violations, 2 the log cannot be read. */
export async function replayCommand(
  path: string,
  options: ReplayCommandOptions,
  io: CommandIO,
): Promise<number> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    io.err(`procreg replay: ${path}: no such event log file`);
    return 2;
  }
  const check = options.check ?? false;
  const { result, problems: logProblems } = await replayLogFile(path, { check });
  for (const p of logProblems) io.err(`${path}:${p.line}: ${p.kind}: ${p.message}`);
  const view = registryView(result.state, result.lastSeq);
  io.out(options.json ? JSON.stringify(view, null, 2) : formatView(view, result.events, result.lastTime));
  if (!check) return 0;
  // A torn tail is what a crash leaves and is expected; anything else in the file is damage.
  const damage = logProblems.filter((p) => p.kind !== 'torn');
  for (const p of result.problems) io.err(`seq ${p.seq}: ${p.kind}: ${p.message}`);
  if (result.problems.length === 0 && damage.length === 0) {
    io.err(
      `check: ${result.events} events, every invariant holds after every event, every logged decision re-derived`,
    );
    return 0;
  }
  io.err(`check: FAILED — ${result.problems.length} violation(s) and ${damage.length} damaged line(s)`);
  return 1;
}
