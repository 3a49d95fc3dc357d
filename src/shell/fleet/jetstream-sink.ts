/**
 * The JetStream sink: each event to subject `procreg.ev.<host>.<logId>` with message id
 * `<host>:<logId>:<seq>` (the stream's duplicate window drops a re-send), published in windows
 * of many messages in flight; the first of each window expects the subject's last stream
 * sequence to be the one the previous window left, so a second writer is refused instead of
 * silently interleaved. After each snapshot an index message on `procreg.snap.<host>.<logId>`
 * names its stream sequence: `fleet status` folds from there (docs/fleet.md).
 */
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { shipMsgId, shipSubject, subjectToken } from '../../config/ship.js';
import { type NatsModules } from './nats.js';
import {
  type EventSink,
  type LogIdentity,
  type ShippedEvent,
  SinkConflict,
  type SinkPosition,
  SinkRefused,
} from './sink.js';

/** Headers every shipped event carries: the names as given (a subject token is sanitized). */
export const HDR_HOST = 'Procreg-Host';
export const HDR_LOG_ID = 'Procreg-Log-Id';
export const HDR_SEQ = 'Procreg-Seq';

export const snapshotIndexSubject = (host: string, logId: string): string =>
  `procreg.snap.${subjectToken(host)}.${subjectToken(logId)}`;

/**
 * Messages in flight per window: enough to keep the connection full, few enough to bound
 * memory (about 3 MB of storm events). The reader's 1 MB chunks hold ~6000 of them: one window
 * each, one wait for the broker per chunk (windows of 4096 split a chunk in two: two waits).
 */
const WINDOW = 16_384;

export interface StreamLimits {
  /** Age of the oldest message kept, ms. */
  readonly maxAgeMs: number;
  /** Bytes kept, oldest dropped first; -1: as much as the server's JetStream store allows. */
  readonly maxBytes: number;
}
export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxAgeMs: 30 * 86_400_000, maxBytes: -1 };

export async function connectNats(
  nats: NatsModules,
  server: string,
  timeoutMs = 3000,
): Promise<NatsConnection> {
  return nats.transport.connect({
    servers: server,
    timeout: timeoutMs,
    reconnect: false,
    name: 'procreg',
  });
}

/** The stream, created with the subjects `procreg.>` when missing; refused when it takes other subjects only. */
export async function ensureStream(
  nats: NatsModules,
  jsm: JetStreamManager,
  stream: string,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Promise<void> {
  try {
    const info = await jsm.streams.info(stream);
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((s) => s === 'procreg.>' || s === '>'))
      throw new SinkRefused(
        `stream ${stream} does not take the subjects procreg.> (its subjects: ${subjects.join(', ') || 'none'}): name another stream (ship.stream) or add procreg.> to it`,
      );
    return;
  } catch (e) {
    if (e instanceof SinkRefused) throw e;
    if (!(e instanceof nats.jetstream.JetStreamApiError) || e.apiError().code !== 404) throw e;
  }
  await jsm.streams.add({
    name: stream,
    subjects: ['procreg.>'],
    storage: nats.jetstream.StorageType.File,
    retention: nats.jetstream.RetentionPolicy.Limits,
    discard: nats.jetstream.DiscardPolicy.Old,
    max_age: limits.maxAgeMs * 1_000_000,
    max_bytes: limits.maxBytes,
    duplicate_window: 120 * 1_000_000_000,
  });
}

/**
 * The headers of a message published without an ack (`Nats-Msg-Id` and `Procreg-Seq`), encoded
 * by hand from a prefix made once per window: the client's headers object checks and
 * canonicalizes every name and value of every message. The publish only asks a headers object
 * to encode itself; the names are fixed and the id is checked once per send.
 */
function plainHeaders(idPrefix: Buffer, seq: number): MsgHdrs {
  const digits = String(seq);
  const bytes = Buffer.allocUnsafe(idPrefix.length + 2 * digits.length + SEQ_HDR.length + 4);
  let at = idPrefix.copy(bytes, 0);
  at += bytes.write(digits, at, 'latin1');
  at += SEQ_HDR.copy(bytes, at);
  at += bytes.write(digits, at, 'latin1');
  bytes.write('\r\n\r\n', at, 'latin1');
  return { encode: () => bytes } as unknown as MsgHdrs;
}
const SEQ_HDR = Buffer.from(`\r\n${HDR_SEQ}: `);

export class JetStreamSink implements EventSink {
  private lastStreamSeq = new Map<string, number>();
  private readonly js: JetStreamClient;

  private constructor(
    private readonly nats: NatsModules,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
  ) {
    this.js = nats.jetstream.jetstream(nc);
  }

  static async open(nats: NatsModules, server: string, stream: string): Promise<JetStreamSink> {
    const nc = await connectNats(nats, server);
    try {
      const jsm = await nats.jetstream.jetstreamManager(nc);
      await ensureStream(nats, jsm, stream);
      return new JetStreamSink(nats, nc, jsm, stream);
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
  }

  async resume(log: LogIdentity): Promise<SinkPosition> {
    const subject = shipSubject(log.host, log.logId);
    const last = await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    if (last === null) {
      this.lastStreamSeq.set(subject, 0);
      return { seq: 0 };
    }
    const seq = Number(last.header?.get(HDR_SEQ));
    if (!Number.isSafeInteger(seq) || seq < 1)
      throw new SinkRefused(
        `the last message on ${subject} (stream ${this.stream}, sequence ${last.seq}) has no ${HDR_SEQ} header: another program publishes on procreg's subjects`,
      );
    this.lastStreamSeq.set(subject, last.seq);
    return { seq };
  }

  /**
   * One window: its first message, its last and every snapshot published with an ack (the
   * first expecting the subject's last sequence), the rest as plain publishes on the same
   * connection. The server takes a connection's messages in order, so once the last is
   * acknowledged every one before it was taken: a connection lost mid-window loses only a
   * suffix, which the resume after reconnecting sends again (and the duplicate window drops
   * what was stored after all). Acking every message costs a request each: 5x slower here.
   */
  async send(log: LogIdentity, events: readonly ShippedEvent[]): Promise<void> {
    const subject = shipSubject(log.host, log.logId);
    const { headers } = this.nats.transport;
    // `NATS/1.0\r\nNats-Msg-Id: <host>:<logId>:`, the seq follows (shipMsgId's form); the
    // client's check of a header value, once, before any message is published.
    headers().set(HDR_LOG_ID, shipMsgId(log.host, log.logId, 0));
    const idPrefix = Buffer.from(
      `NATS/1.0\r\nNats-Msg-Id: ${shipMsgId(log.host, log.logId, 0).slice(0, -1)}`,
    );
    for (let i = 0; i < events.length; i += WINDOW) {
      const window = events.slice(i, i + WINDOW);
      const expected = this.lastStreamSeq.get(subject) ?? 0;
      const acked: { k: number; ack: Promise<PubAck> }[] = [];
      for (const [k, e] of window.entries()) {
        if (k === 0 || k === window.length - 1 || e.snapshot) {
          const msgID = shipMsgId(log.host, log.logId, e.seq);
          const h = headers();
          h.set(HDR_SEQ, String(e.seq));
          // The names as given (a subject token is sanitized), on the messages readers ask for.
          h.set(HDR_HOST, log.host);
          h.set(HDR_LOG_ID, log.logId);
          acked.push({
            k,
            ack: this.js.publish(subject, e.line, {
              msgID,
              headers: h,
              timeout: 10_000,
              ...(k === 0 ? { expect: { lastSubjectSequence: expected } } : {}),
            }),
          });
        } else {
          this.nc.publish(subject, e.line, { headers: plainHeaders(idPrefix, e.seq) });
        }
      }
      const settled = await Promise.allSettled(acked.map((a) => a.ack));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) {
        const err = failed.reason as Error;
        if (/wrong last sequence/i.test(err.message))
          throw new SinkConflict(
            `another writer appended to ${subject} (expected its last stream sequence to be ${expected}): is a second shipper running for this log? (${err.message})`,
          );
        throw err;
      }
      const acks = new Map(acked.map((a, j) => [a.k, (settled[j] as PromiseFulfilledResult<PubAck>).value]));
      this.lastStreamSeq.set(subject, (acks.get(window.length - 1) as PubAck).seq);
      await this.indexSnapshot(log, window, acks);
    }
  }

  /** After a snapshot is stored: where it is, for readers that fold from the newest one. */
  private async indexSnapshot(log: LogIdentity, window: readonly ShippedEvent[], acks: Map<number, PubAck>) {
    for (let k = window.length - 1; k >= 0; k--) {
      const e = window[k] as ShippedEvent;
      if (!e.snapshot) continue;
      const ack = acks.get(k) as PubAck;
      await this.js.publish(
        snapshotIndexSubject(log.host, log.logId),
        JSON.stringify({ host: log.host, logId: log.logId, seq: e.seq, streamSeq: ack.seq }),
        { msgID: `${shipMsgId(log.host, log.logId, e.seq)}:snapshot` },
      );
      return;
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => {});
  }
}
