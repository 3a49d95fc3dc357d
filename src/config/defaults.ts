import type { RestartPolicy, SignalName } from './types.js';

/** What a service or check gets for a setting its config leaves out. */
export const SERVICE_DEFAULTS = {
  restart: 'always' as RestartPolicy,
  backoff: { initialMs: 100, maxMs: 30_000, factor: 2, resetAfterMs: 60_000 },
  maxRestarts: { count: 10, withinMs: 60_000 },
  stopSignal: 'SIGTERM' as SignalName,
  stopTimeoutMs: 5_000,
};
export const CHECK_DEFAULTS = { intervalMs: 2_000, timeoutMs: 1_000, killAfterMs: 1_000, rise: 1, fall: 1 };

/** A service's `log: true`: where its log file goes (relative to runDir), its size and rotations. */
export const SERVICE_LOG_DEFAULTS = { maxSize: 10 * 1024 ** 2, keep: 5 };
export const defaultLogPath = (service: string): string => `logs/${service}.log`;
