import { loadConfigFile } from '../shell/load-config.js';
import type { CommandIO } from './replay-command.js';

/** Exit codes: 0 valid, 2 invalid (every error is printed). */
export function validateCommand(file: string, io: CommandIO): number {
  const res = loadConfigFile(file);
  if (!res.ok) {
    for (const e of res.errors) io.err(e);
    io.err(`${file}: invalid, ${res.errors.length} error(s)`);
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
