// procreg's public surface: the PID tree, the event model and log, and the pure fold.
export { formatDuration, parseDuration } from './config/duration.js';
export {
  type ConfigProblem,
  formatProblem,
  type NormalizeResult,
  normalizeConfig,
} from './config/normalize.js';
export type * from './config/types.js';
export { admitRestart, nextBackoffDelay } from './core/backoff.js';
export type { Effect, EffectKind } from './core/effects.js';
export { foldRegistry } from './core/fold-operator.js';
export { verifyInvariants, verifyInvariantsOf, type Violation } from './core/invariants.js';
export { diffDefs } from './core/reload.js';
export {
  Replayer,
  type ReplayOptions,
  type ReplayProblem,
  type ReplayResult,
  replay,
  replayAsync,
} from './core/replay.js';
export type { CheckEntry, CheckStatus, Entry, ServiceEntry, ServiceStatus, State } from './core/state.js';
export { initialState } from './core/state.js';
export { type StepResult, step } from './core/step.js';
export { type RegistryView, registryView } from './core/view.js';
export * from './events/index.js';
export {
  type LogBatch,
  type LogItem,
  type LogProblem,
  type ReadLogOptions,
  readLog,
  readLogBatches,
} from './shell/event-log/reader.js';
export {
  type Durability,
  LogWriter,
  LogWriterError,
  type LogWriterOptions,
} from './shell/event-log/writer.js';
export * from './tree/index.js';
export {
  PidFileError,
  type PidFileErrorCode,
  readPidFile,
  type RemoveOutcome,
  removePidFileIfOwned,
  writePidFile,
} from './shell/files/pidfile.js';
export { type ProcStat, readProcStartTime, readProcStat } from './shell/proc/proc-stat.js';
export { type LoadResult, loadConfigFile } from './shell/config/load-config.js';
export { Supervisor, type SupervisorOptions } from './shell/supervisor/supervisor.js';
