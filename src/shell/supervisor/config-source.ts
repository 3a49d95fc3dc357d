// Where the supervisor's config comes from: a file re-read on every reload, or an object.
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { loadConfigFile, vetConfig } from '../config/load-config.js';
import { withEnvFiles } from '../config/process-settings.js';

export type ConfigLoad =
  | { readonly ok: true; readonly config: NormalizedConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * A file is read and validated afresh on each load; an object (library use) is the one given
 * last. Either way the same vetting applies (script security as root): a config never
 * reaches the fold by a path that skips it. Given the running config, a load is a reload and
 * must also be one the running supervisor can carry out.
 */
export class ConfigSource {
  constructor(
    private readonly path: string | undefined,
    private given: NormalizedConfig | undefined,
  ) {
    if (!path && !given) throw new TypeError('Supervisor needs a configPath or a config');
  }

  /** Names the source in config-loaded events: the file, or 'api'. */
  get label(): string {
    return this.path ?? 'api';
  }

  /**
   * The file, read afresh; or the object given last. With `current` (the running config) the
   * result is refused when it changes what a reload cannot (`reloadProblems`).
   */
  load(current?: NormalizedConfig | null): ConfigLoad {
    if (this.path) {
      const res = loadConfigFile(this.path);
      if (!res.ok) return { ok: false, problems: res.problems };
      const refused = current ? reloadProblems(current, res.config, this.path) : [];
      return refused.length > 0 ? { ok: false, problems: refused } : { ok: true, config: res.config };
    }
    return this.accept(this.given as NormalizedConfig, current);
  }

  /**
   * A config handed over directly (`reload(config)`): vetted, checked against the running one
   * when given, and without a file the one reloads use from now on.
   */
  accept(given: NormalizedConfig, current?: NormalizedConfig | null): ConfigLoad {
    const refused = current ? reloadProblems(current, given) : [];
    if (refused.length > 0) return { ok: false, problems: refused };
    const read = withEnvFiles(given); // env files are read afresh on every load
    if (!read.ok) return read;
    const problems = vetConfig(read.config);
    if (problems.length > 0) return { ok: false, problems };
    if (!this.path) this.given = given;
    return { ok: true, config: read.config };
  }
}

/**
 * What a reload cannot change while procreg runs: where its runDir (PID files, socket, its
 * own claim) and its event log are. Moving either takes a restart of procreg.
 */
export function reloadProblems(
  running: NormalizedConfig,
  next: NormalizedConfig,
  file?: string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const field of ['runDir', 'eventLog'] as const) {
    if (running[field] === next[field]) continue;
    problems.push({
      path: field,
      message: `cannot change on reload (running: ${running[field]}, new: ${next[field]}); restart procreg to move it`,
      ...(file ? { file } : {}),
    });
  }
  return problems;
}
