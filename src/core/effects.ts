import type { RunAs } from '../config/run-as.js';
import type { LastWordsDef, ServiceLogDef, StderrLevel } from '../config/types.js';
import type { Gen, Pid, TimerKey } from '../events/types.js';

/** What the shell must do. Plain data; each outcome comes back as an event. */
export type Effect =
  | {
      readonly do: 'spawn';
      readonly name: string;
      readonly gen: Gen;
      readonly incarnation: number;
      readonly command: readonly string[];
      readonly cwd: string | null;
      /** Added to its starting environment: the env file's values, then `env`. */
      readonly env: Readonly<Record<string, string>>;
      /** User, group, umask, limits, and whether it starts from procreg's environment. */
      readonly runAs: RunAs;
      /** Files the child's stdout / stderr are appended to; null: the supervisor's log. */
      readonly stdout: string | null;
      readonly stderr: string | null;
      /** How much of its last output its exit record keeps. */
      readonly lastWords: LastWordsDef;
      /** The level of its stderr lines in procreg's log. */
      readonly stderrLevel: StderrLevel;
      /** The log file its output lines go to instead of procreg's log, if any. */
      readonly log: ServiceLogDef | null;
    }
  | {
      readonly do: 'run-check';
      readonly name: string;
      readonly gen: Gen;
      readonly run: number;
      readonly command: readonly string[];
      readonly cwd: string | null;
      readonly env: Readonly<Record<string, string>>;
      readonly runAs: RunAs;
      readonly lastWords: LastWordsDef;
    }
  | { readonly do: 'signal-group'; readonly pid: Pid; readonly signal: string }
  | { readonly do: 'write-pidfile'; readonly path: string; readonly pid: Pid }
  | { readonly do: 'remove-pidfile'; readonly path: string; readonly ifPid: Pid }
  /** `at` is a monotonic time (ms since boot), like the envelope's `mono`. */
  | { readonly do: 'arm-timer'; readonly timer: TimerKey; readonly at: number }
  | { readonly do: 'cancel-timer'; readonly timer: TimerKey }
  | { readonly do: 'load-config' }
  /**
   * A predecessor's process: if PID, start time, process group, session and executable prove
   * it is the one we started, send `signal` (then SIGCONT) to its group; report orphan-reaped.
   */
  | {
      readonly do: 'reap-orphan';
      readonly pid: Pid;
      readonly startTime: number | null;
      readonly exe: string | null;
      readonly signal: string;
    }
  /** Report group-exited once the process group `pid` has no member left. */
  | { readonly do: 'watch-group'; readonly pid: Pid }
  /** Every process is gone after a stop: the supervisor may exit. */
  | { readonly do: 'exit' };

export type EffectKind = Effect['do'];
