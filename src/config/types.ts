/** How a service is restarted after its process exits on its own. */
export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface BackoffDef {
  /** Delay before the first restart of a run of quick failures. */
  readonly initialMs: number;
  /** Cap on the delay. */
  readonly maxMs: number;
  /** Growth factor per consecutive quick failure. */
  readonly factor: number;
  /** An incarnation that lived at least this long resets the delay to `initialMs`. */
  readonly resetAfterMs: number;
}

/** OTP-style intensity: more than `count` restarts within `withinMs` gives the service up. */
export interface IntensityDef {
  readonly count: number;
  readonly withinMs: number;
}

export interface ServiceDef {
  readonly command: readonly string[];
  readonly cwd: string | null;
  readonly env: Readonly<Record<string, string>>;
  readonly restart: RestartPolicy;
  readonly backoff: BackoffDef;
  readonly maxRestarts: IntensityDef;
  readonly stopSignal: string;
  readonly stopTimeoutMs: number;
  /** Absolute path of the PID file. */
  readonly pidFile: string;
  /** Exit codes that mean "do not restart": the service fails at once. */
  readonly fatalExitCodes: readonly number[];
  /** Absolute path the child's stdout is appended to, or null: the supervisor's log, tagged with the name. */
  readonly stdout: string | null;
  /** Likewise for stderr; it may name the same file as `stdout`. */
  readonly stderr: string | null;
}

export interface CheckDef {
  readonly command: readonly string[];
  /** Working directory of each run; null: procreg's own. */
  readonly cwd: string | null;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** After a timed-out run got SIGTERM, SIGKILL follows after this long. */
  readonly killAfterMs: number;
  readonly rise: number;
  readonly fall: number;
  /** Service restarted when this check turns unhealthy. */
  readonly restarts: string | null;
}

/**
 * A config after validation and defaulting: every duration in ms, every path absolute,
 * keys sorted. It is what a `config-loaded` event carries, so a log is self-contained.
 */
export interface NormalizedConfig {
  readonly runDir: string;
  readonly eventLog: string;
  /** When procreg runs as root, run programs that non-root users could modify (keepalived's script security off). */
  readonly allowUnsafeScripts: boolean;
  readonly services: Readonly<Record<string, ServiceDef>>;
  readonly checks: Readonly<Record<string, CheckDef>>;
}

export const SIGNALS = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;

export const RESTART_POLICIES: readonly RestartPolicy[] = ['always', 'on-failure', 'never'];
