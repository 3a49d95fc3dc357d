/**
 * Reading a fleet's stream (`nats://host:port[/stream]`): the logs on it (one subject per
 * host and logId), and each log's events in seq order, checked as a file's are: a seq that
 * does not follow is reported with host, logId and range; a message that is no procreg event
 * (another program publishing on procreg's subjects, a bad payload) is reported and skipped.
 */
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_SHIP_STREAM, SHIP_SUBJECT_PREFIX, subjectToken } from '../../config/ship.js';
import { decodeEvent } from '../../events/codec.js';
import type { Event } from '../../events/types.js';
import { CommandFailure } from '../debug/command-kit.js';
import { connectNats, HDR_HOST, HDR_LOG_ID, snapshotIndexSubject } from './jetstream-sink.js';
import { loadNats, NatsMissing, type NatsModules, parseNatsTarget } from './nats.js';
import { inPool } from './pool.js';

export interface FleetStream {
  readonly server: string;
  readonly stream: string;
  readonly nats: NatsModules;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  close(): Promise<void>;
}

/** One shipped log: a host's event log, by its subject. */
export interface StreamLog {
  readonly host: string;
  readonly logId: string;
  readonly subject: string;
  /** Messages on its subject. */
  readonly messages: number;
  /** The newest message: its stream sequence and when the stream stored it. */
  readonly last: { readonly streamSeq: number; readonly stored: number; readonly event: Event | null };
}

export interface StreamProblem {
  readonly host: string;
  readonly logId: string;
  readonly kind: 'seq-gap' | 'seq-repeat' | 'invalid';
  readonly message: string;
}

export async function openFleetStream(given: string): Promise<FleetStream> {
  const target = parseNatsTarget(given);
  if (!target) throw new CommandFailure(`${given}: not a stream address: nats://host:port[/stream]`, 2);
  const nats = await loadNats().catch((e: unknown) => {
    throw e instanceof NatsMissing ? new CommandFailure(e.message, 2) : e;
  });
  const stream = target.stream ?? DEFAULT_SHIP_STREAM;
  let nc: NatsConnection;
  try {
    nc = await connectNats(nats, target.server);
  } catch (e) {
    throw new CommandFailure(`${target.server}: cannot connect to the NATS server: ${(e as Error).message}`);
  }
  try {
    const jsm = await nats.jetstream.jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch (e) {
      if (e instanceof nats.jetstream.JetStreamApiError && e.apiError().code === 404)
        throw new CommandFailure(`${target.server}: no stream ${stream} (has any procreg shipped to it?)`);
      throw e;
    }
    return {
      server: target.server,
      stream,
      nats,
      nc,
      jsm,
      js: nats.jetstream.jetstream(nc),
      close: () => nc.close().catch(() => {}),
    };
  } catch (e) {
    await nc.close().catch(() => {});
    if (e instanceof CommandFailure) throw e;
    throw new CommandFailure(`${target.server}: ${(e as Error).message}`);
  }
}

/**
 * The logs on the stream, by host then logId; `hosts` (names as configured) keeps only those.
 * Subjects under procreg.ev. that are not `<host>.<logId>` are foreign: told, not read.
 */
export async function listLogs(
  fs: FleetStream,
  hosts: readonly string[],
  onForeign: (subject: string) => void,
): Promise<StreamLog[]> {
  const info = await fs.jsm.streams.info(fs.stream, { subjects_filter: `${SHIP_SUBJECT_PREFIX}.>` });
  const subjects = (info.state.subjects ?? {}) as Record<string, number>;
  const wanted = new Set(hosts.map(subjectToken));
  const candidates: [string, number][] = [];
  for (const [subject, messages] of Object.entries(subjects)) {
    const parts = subject.split('.');
    if (parts.length !== 4) onForeign(subject);
    else if (wanted.size === 0 || wanted.has(parts[2] as string)) candidates.push([subject, messages]);
  }
  const found = await inPool(candidates, 16, async ([subject, messages]): Promise<StreamLog | null> => {
    const parts = subject.split('.');
    const last = await fs.jsm.streams.getMessage(fs.stream, { last_by_subj: subject });
    if (last === null) return null;
    const host = last.header?.get(HDR_HOST) || (parts[2] as string);
    const logId = last.header?.get(HDR_LOG_ID) || (parts[3] as string);
    if (hosts.length > 0 && !hosts.includes(host)) return null;
    const decoded = decodeEvent(last.string());
    return {
      host,
      logId,
      subject,
      messages,
      last: { streamSeq: last.seq, stored: last.time.getTime(), event: decoded.ok ? decoded.event : null },
    };
  });
  const out = found.filter((l): l is StreamLog => l !== null);
  return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.last.stored - b.last.stored));
}

/** Where the log's newest snapshot is on the stream (its index message), or null: from the start. */
export async function newestSnapshotSeq(fs: FleetStream, log: StreamLog): Promise<number | null> {
  const idx = await fs.jsm.streams.getMessage(fs.stream, {
    last_by_subj: snapshotIndexSubject(log.host, log.logId),
  });
  if (idx === null) return null;
  try {
    const v = idx.json<{ streamSeq: number }>();
    return Number.isSafeInteger(v.streamSeq) ? v.streamSeq : null;
  } catch {
    return null;
  }
}

/**
 * A log's events in seq order, from stream sequence `from` (default its first), in batches;
 * problems told by host and logId. Reads up to the newest message `listLogs` saw.
 */
export async function* logEvents(
  fs: FleetStream,
  log: StreamLog,
  onProblem: (p: StreamProblem) => void,
  from?: number,
): AsyncGenerator<Event[]> {
  const consumer = await fs.js.consumers.get(fs.stream, {
    filter_subjects: log.subject,
    ...(from === undefined
      ? {}
      : { deliver_policy: fs.nats.jetstream.DeliverPolicy.StartSequence, opt_start_seq: from }),
  });
  const tell = (kind: StreamProblem['kind'], message: string) =>
    onProblem({ host: log.host, logId: log.logId, kind, message });
  let lastSeq = 0;
  let batch: Event[] = [];
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      const e = decoded(m as unknown as StoredMsg, tell);
      if (e !== null) {
        if (lastSeq > 0 && e.seq <= lastSeq) {
          tell(
            'seq-repeat',
            `seq ${e.seq} (stream sequence ${m.seq}) does not follow seq ${lastSeq}; skipped`,
          );
        } else {
          if (lastSeq > 0 && e.seq !== lastSeq + 1 && !followsGap(batch.at(-1), e))
            tell(
              'seq-gap',
              `host ${log.host}, log ${log.logId}: seq ${lastSeq + 1}-${e.seq - 1} missing (${e.seq - lastSeq - 1} event(s) not on the stream)`,
            );
          lastSeq = e.seq;
          batch.push(e);
        }
      }
      if (batch.length >= 1000) {
        yield batch;
        batch = [];
      }
      if (m.seq >= log.last.streamSeq) break;
    }
  } finally {
    await messages.close();
  }
  if (batch.length > 0) yield batch;
}

/** A log-gap record's seq jumps by design: it is toSeq + 1 after fromSeq - 1. */
function followsGap(prev: Event | undefined, e: Event): boolean {
  return e.type === 'log-gap' && (prev === undefined || prev.seq === e.fromSeq - 1);
}

function decoded(
  m: { seq: number; data: Uint8Array; subject: string },
  tell: (kind: StreamProblem['kind'], message: string) => void,
): Event | null {
  const text = Buffer.from(m.data).toString('utf8');
  const res = decodeEvent(text);
  if (res.ok) return res.event;
  tell('invalid', `stream sequence ${m.seq} on ${m.subject}: not a procreg event (${res.error}); skipped`);
  return null;
}
