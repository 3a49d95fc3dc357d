export { type DecodeResult, decodeEvent, encodeEvent, stamp } from './codec.js';
export { EVENT_SCHEMA, EVENT_TYPES } from './schema.js';
export * from './types.js';
