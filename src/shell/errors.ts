import { type ConfigProblem, formatProblem } from '../config/schema.js';

/**
 * The one shape of every error the shell throws: a stable `code` to branch on and a message
 * a person can act on (the file, the field, the value, what is allowed). Config errors also
 * carry the problems one by one, in the same shape validation returns them.
 */
export class ProcregError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config that cannot be used: unreadable, not YAML/JSON, invalid, or unsafe to run as root. */
export class ConfigError extends ProcregError {
  constructor(problems: readonly ConfigProblem[], source?: string) {
    super('ECONFIG', problems.map((p) => formatProblem(p, source)).join('\n'), problems);
  }
}
