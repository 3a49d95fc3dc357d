/**
 * Where a shipper sends a log: a small interface, so that another distributed log (Kafka)
 * could be a sink too. The JetStream one is ./jetstream-sink.ts.
 */

/** One event as shipped: the log's line as read (its bytes, without the newline) and who wrote it. */
export interface ShippedEvent {
  readonly seq: number;
  readonly line: Uint8Array;
  /** It is a snapshot: readers may start a fold here. */
  readonly snapshot: boolean;
}

export interface LogIdentity {
  readonly host: string;
  readonly logId: string;
}

/** Where the sink already is for one log: the last seq it holds, or 0. */
export interface SinkPosition {
  readonly seq: number;
}

export interface EventSink {
  /** The last seq of this log the sink holds (asked of the sink itself, not of a local file). */
  resume(log: LogIdentity): Promise<SinkPosition>;
  /**
   * Append events, in seq order, after the position resume() or the last send() left; resolves
   * once the sink has them all (durably). Refuses (rejects with SinkConflict) when another
   * writer appended to this log meanwhile.
   */
  send(log: LogIdentity, events: readonly ShippedEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Another writer appended to the same log: stop rather than interleave. */
export class SinkConflict extends Error {}
/** A setting the sink refuses (a stream that does not take these subjects): no retry mends it. */
export class SinkRefused extends Error {}
