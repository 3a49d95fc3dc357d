// What a valid config asks of this machine: env files to read, users and groups to exist,
// programs to be there. The pure normalizer cannot know; the loader asks here.
import { analyseCommand } from '../../config/command-analysis.js';
import { envOf, runAsOf } from '../../config/run-as.js';
import type { ConfigProblem } from '../../config/schema.js';
import type { CheckDef, NormalizedConfig, ServiceDef } from '../../config/types.js';
import { findExecutable } from '../proc/executable.js';
import { launchOf } from '../supervisor/run-as.js';
import { readEnvFile } from './env-file.js';

type Def = ServiceDef | CheckDef;
const defsOf = (config: NormalizedConfig): [string, Def][] => [
  ...Object.entries(config.services).map(([n, d]): [string, Def] => [`services.${n}`, d]),
  ...Object.entries(config.checks).map(([n, d]): [string, Def] => [`checks.${n}`, d]),
];

/**
 * The config with every `envFile` read afresh into `envFileValues` (each load and reload reads
 * them again), or a problem per file that is missing or not dotenv.
 */
export function withEnvFiles(
  config: NormalizedConfig,
): { ok: true; config: NormalizedConfig } | { ok: false; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const read = <D extends Def>(where: string, def: D): D => {
    if (def.envFile === null) return def;
    const r = readEnvFile(def.envFile);
    if (!r.ok) {
      problems.push({ path: `${where}.envFile`, message: r.message });
      return def;
    }
    return { ...def, envFileValues: r.values };
  };
  const services = Object.fromEntries(
    Object.entries(config.services).map(([n, d]) => [n, read(`services.${n}`, d)]),
  );
  const checks = Object.fromEntries(
    Object.entries(config.checks).map(([n, d]) => [n, read(`checks.${n}`, d)]),
  );
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, config: { ...config, services, checks } };
}

/** Users and groups that do not exist, or that procreg (not root) cannot switch to; helpers missing. */
export function runAsProblems(config: NormalizedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [where, def] of defsOf(config)) {
    const launch = launchOf(runAsOf(def), envOf(def), where);
    if ('error' in launch) {
      const colon = launch.error.indexOf(': ');
      problems.push({ path: launch.error.slice(0, colon), message: launch.error.slice(colon + 2) });
    }
  }
  return problems;
}

/**
 * Every service's and check's program as the spawn would find it (its PATH, its cwd): one
 * that does not exist or is not executable is a problem naming the command (`validate`).
 */
export function missingPrograms(config: NormalizedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [where, def] of defsOf(config)) {
    const launch = launchOf(runAsOf(def), envOf(def), where);
    const env = 'error' in launch ? { ...process.env, ...envOf(def) } : launch.env;
    const cwd = def.cwd ?? process.cwd();
    const program = def.command[0] as string;
    const found = findExecutable(program, cwd, env.PATH);
    if ('error' in found) {
      problems.push({
        path: `${where}.command[0]`,
        value: program,
        message: `cannot be run: ${found.error}`,
      });
      continue;
    }
    // The commands of a `sh -c` script too (`curll -sf ...` in a check), where they can be followed.
    const analysis = analyseCommand(def.command, { cwd, env });
    if (!analysis.ok) continue;
    const reported = new Set<string>();
    for (const u of analysis.uses) {
      if (u.role !== 'program' || u.word === program || reported.has(u.word)) continue;
      const anywhere = u.cwds.some((c) => u.paths.some((p) => !('error' in findExecutable(u.word, c, p))));
      if (anywhere) continue;
      reported.add(u.word);
      const why = findExecutable(u.word, u.cwds[0] ?? cwd, u.paths[0]);
      const text = 'error' in why ? why.error : `${u.word} is not found`;
      problems.push({
        path: `${where}.command`,
        value: u.word,
        message: `runs a program that cannot be run: ${text}`,
      });
    }
  }
  return problems;
}
