import { formatProblem } from '../../config/schema.js';
import { loadConfigFile } from '../config/load-config.js';
import { missingPrograms } from '../config/process-settings.js';
import type { CommandIO } from './io.js';

/** Exit codes: 0 valid, 2 invalid (every error is printed). */
export function validateCommand(file: string, io: CommandIO): number {
  const loaded = loadConfigFile(file);
  // Beyond what every load checks: each program is there to be run (a check's `curll`).
  const res = loaded.ok
    ? ((missing) => (missing.length > 0 ? { ...loaded, ok: false as const, problems: missing } : loaded))(
        missingPrograms(loaded.config).map((p) => ({ file, ...p })),
      )
    : loaded;
  if (!res.ok) {
    for (const p of res.problems) io.err(formatProblem(p));
    io.err(`${file}: invalid, ${res.problems.length} error(s)`);
    return 2;
  }
  const { services, checks, runDir, eventLog } = res.config;
  const names = (o: object) => Object.keys(o).join(', ') || 'none';
  io.out(`${file}: valid`);
  io.out(`  services (${Object.keys(services).length}): ${names(services)}`);
  io.out(`  checks (${Object.keys(checks).length}): ${names(checks)}`);
  io.out(`  runDir: ${runDir}`);
  io.out(`  eventLog: ${eventLog}`);
  return 0;
}
