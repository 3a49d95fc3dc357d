// procreg's public surface, listed name by name (test/index.test.ts pins it): the supervisor
// runtime, config loading, the event model and its log, the fold and replay, the PID tree.
// The deterministic simulator for testing your own supervisor is `procreg/testing`.

// The supervisor runtime (touches the OS).
export { Supervisor, type SupervisorOptions } from './shell/supervisor/supervisor.js';
export {
  operate,
  type OperateOp,
  type OperateOptions,
  type OperateRequest,
  type OperateResult,
} from './shell/control/operate.js';
export { ConfigError, ProcregError } from './shell/errors.js';

// Config: loading a file, validating an object, and the normalized types.
export { type LoadResult, loadConfigFile } from './shell/config/load-config.js';
export { type NormalizeOptions, type NormalizeResult, normalizeConfig } from './config/normalize.js';
export { type ConfigProblem, formatProblem } from './config/schema.js';
export { formatDuration, parseDuration } from './config/duration.js';
export { formatSize, parseSize } from './config/size.js';
export type {
  BackoffDef,
  CheckDef,
  Durability,
  EventLogPolicy,
  IntensityDef,
  NormalizedConfig,
  RestartPolicy,
  ServiceDef,
  SignalName,
} from './config/types.js';

// The event model and the log format.
export type * from './events/types.js';
export { EVENT_KINDS, isDecision, LOG_FORMAT_VERSION } from './events/types.js';
export { type DecodeResult, decodeEvent, encodeEvent } from './events/codec.js';
export { EVENT_TYPES } from './events/schema.js';
export {
  type LogBatch,
  type LogItem,
  type LogPart,
  type LogProblem,
  type ReadLogOptions,
  readLog,
  readLogBatches,
  readLogParts,
} from './shell/event-log/reader.js';
export { type LogFiles, listLogFiles, logFilePaths, type SegmentFile } from './shell/event-log/segments.js';
export { type LogFileReplay, replayLogFile } from './shell/event-log/replay-file.js';
export { LogWriter, LogWriterError, type LogWriterOptions } from './shell/event-log/writer.js';

// The fold, replay, and what they produce.
export { initialState } from './core/state.js';
export type {
  CheckEntry,
  CheckResult,
  CheckStatus,
  Entry,
  ExitInfo,
  ServiceEntry,
  ServicePhase,
  ServiceStatus,
  State,
  SupervisorPhase,
} from './core/state.js';
export { type StepResult, step } from './core/step.js';
export type { Effect, EffectKind } from './core/effects.js';
export { foldRegistry } from './core/fold-operator.js';
export {
  Replayer,
  type ReplayOptions,
  type ReplayProblem,
  type ReplayResult,
  replay,
  replayAsync,
} from './core/replay.js';
export { type Violation, verifyInvariants } from './core/invariants.js';
export { type RegistryView, registryView } from './core/view.js';

// Debugging views of a log — what procreg events/history/why/diff/timeline and replay --until
// are made of — as data and as text; all pure, over Iterable or AsyncIterable<Event>.
export {
  type ChartLibrary,
  describePoint,
  diffPoints,
  type DiffResult,
  EVENT_BATCHES,
  type EventFilter,
  type EventLine,
  EventsQuery,
  type EventsOptions,
  explainEnding,
  HistoryBuilder,
  type HistoryOptions,
  type HistoryRow,
  type LogDiff,
  parsePoint,
  parseTime,
  parseWhyTarget,
  type Point,
  type PointReplayResult,
  renderDiff,
  renderEventLine,
  renderLoop,
  renderWhy,
  replayTo,
  type ServiceHistory,
  serviceHistory,
  Story,
  tellEvents,
  TimelineBuilder,
  type TimelineData,
  timelineData,
  timelineHtml,
  type TimelineOptions,
  Walker,
  why,
  type WhyAnswer,
  type WhyLink,
  type WhyResult,
  type WhyTarget,
} from './debug/index.js';
export { type LogSource, resolveLog } from './shell/debug/log-source.js';
export { LogReader } from './shell/debug/read-log.js';
export { loadChartLibrary } from './shell/debug/chart-library.js';

// The persistent PID tree (and the map the registry keys statuses by name with).
export { emptyPidTree, type Pid, type PidTree } from './tree/pid-tree.js';
export { type InsertResult, OrderedMap, type RemoveResult } from './tree/ordered-map.js';
export type { HashMap } from './tree/hash-map.js';

// PID files and process identity, as the supervisor uses them.
export {
  PidFileError,
  type PidFileErrorCode,
  readPidFile,
  type RemoveOutcome,
  removePidFileIfOwned,
  writePidFile,
} from './shell/files/pidfile.js';
export { type ProcStat, readProcStartTime, readProcStat } from './shell/proc/proc-stat.js';
