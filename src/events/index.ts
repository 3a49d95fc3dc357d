export { type DecodeResult, decodeEvent, encodeEvent, stamp } from './codec.js';
export {
  type LogBatch,
  type LogItem,
  type LogProblem,
  type ReadLogOptions,
  readLog,
  readLogBatches,
} from './reader.js';
export { EVENT_SCHEMA, EVENT_TYPES } from './schema.js';
export * from './types.js';
export { type Durability, LogWriter, LogWriterError, type LogWriterOptions } from './writer.js';
