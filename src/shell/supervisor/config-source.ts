// Where the supervisor's config comes from: a file re-read on every reload, or an object.
import type { ConfigProblem } from '../../config/schema.js';
import type { NormalizedConfig } from '../../config/types.js';
import { loadConfigFile, vetConfig } from '../config/load-config.js';

export type ConfigLoad =
  | { readonly ok: true; readonly config: NormalizedConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * A file is read and validated afresh on each load; an object (library use) is the one given
 * last. Either way the same vetting applies (script security as root): a config never
 * reaches the fold by a path that skips it.
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

  /** The file, read afresh; or the object given last. */
  load(): ConfigLoad {
    if (this.path) {
      const res = loadConfigFile(this.path);
      return res.ok ? { ok: true, config: res.config } : { ok: false, problems: res.problems };
    }
    return this.accept(this.given as NormalizedConfig);
  }

  /** A config handed over directly (`reload(config)`): vetted, and without a file the one reloads use from now on. */
  accept(config: NormalizedConfig): ConfigLoad {
    const problems = vetConfig(config);
    if (problems.length > 0) return { ok: false, problems };
    if (!this.path) this.given = config;
    return { ok: true, config };
  }
}
