/**
 * `procreg ship`: ships one event log's files to a sink, for ever (or once, `--once`). It is
 * its own process (procreg runs it as the built-in service procreg-ship), so a slow or absent
 * broker never slows supervision: the backlog waits on disk. Exactly once in effect:
 * at-least-once sending, the sink's dedup by message id, and a resume from the sink's own
 * last message on every connect (docs/fleet.md).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Event } from '../../events/types.js';
import type { CommandIO } from '../cli/io.js';
import { resolveForLock } from '../instance-lock.js';
import { LogTail } from './log-tail.js';
import { writeShipCursor } from './ship-cursor.js';
import { type EventSink, type LogIdentity, type ShippedEvent, SinkConflict, SinkRefused } from './sink.js';
import { LogReader, type RawEvent } from '../debug/read-log.js';
import { allFiles, listLogFiles } from '../event-log/segments.js';

export interface ShipOptions {
  readonly live: string;
  readonly host: string;
  readonly to: string;
  readonly stream: string;
  /** Ship what is there and exit, instead of following the log. */
  readonly once: boolean;
  readonly signal: AbortSignal;
  readonly openSink: () => Promise<EventSink>;
  readonly pollMs?: number;
  readonly io: CommandIO;
}

/** Backoff between attempts while the broker is down: 0.2 s doubling to 10 s. */
const nextDelay = (ms: number) => Math.min(10_000, Math.max(200, ms * 2));

export class ShipFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export async function shipLog(o: ShipOptions): Promise<number> {
  const lock = await lockShipper(o.live);
  try {
    let delay = 0;
    for (;;) {
      if (o.signal.aborted) return 0;
      const logId = await findLogId(o.live);
      if (logId === null) {
        if (o.once) throw new ShipFailure(`${o.live}: no event log here (has procreg run with this log?)`, 1);
        await sleep(o.pollMs ?? 200, o.signal);
        continue;
      }
      const log: LogIdentity = { host: o.host, logId };
      let sink: EventSink | null = null;
      try {
        sink = await o.openSink();
        const from = await sink.resume(log);
        if (delay > 0) o.io.err(`procreg ship: connected to ${o.to} again; resuming after seq ${from.seq}`);
        delay = 0;
        const done = await follow(o, sink, log, from.seq);
        if (done) return 0;
      } catch (e) {
        if (e instanceof SinkConflict) throw new ShipFailure(e.message, 1);
        if (e instanceof SinkRefused) throw new ShipFailure(e.message, 2);
        if (e instanceof ShipFailure) throw e;
        if (o.signal.aborted) return 0;
        if (o.once)
          throw new ShipFailure(`${o.to}: ${(e as Error).message} (nothing lost: the log stays on disk)`, 1);
        delay = nextDelay(delay);
        o.io.err(
          `procreg ship: ${o.to}: ${(e as Error).message}; retrying in ${(delay / 1000).toFixed(1)} s`,
        );
        await sleep(delay, o.signal);
      } finally {
        await sink?.close();
      }
    }
  } finally {
    lock.close();
  }
}

/** Ship from `after` on; true when done (once, or stopped), false when the log was replaced. */
async function follow(o: ShipOptions, sink: EventSink, log: LogIdentity, after: number): Promise<boolean> {
  const problems: string[] = [];
  const tail = new LogTail(o.live, after, log.logId, (p) => {
    if (p.kind !== 'torn') problems.push(`${p.path}:${p.line}: ${p.kind}: ${p.message}`);
  });
  let cursorAt = 0;
  let last: Event | null = null;
  const saveCursor = () => {
    if (last === null) return;
    writeShipCursor(o.live, {
      host: log.host,
      logId: log.logId,
      seq: last.seq,
      time: last.time,
      at: Date.now(),
      to: o.to,
      stream: o.stream,
    });
    cursorAt = Date.now();
  };
  for (;;) {
    for await (const batch of readAhead(tail.read())) {
      const at = batch.findIndex(
        ({ event: e }) => e.type === 'snapshot' && e.logId !== null && e.logId !== log.logId,
      );
      const replaced = at < 0 ? null : (batch[at]?.event as Extract<Event, { type: 'snapshot' }>);
      const events = replaced ? batch.slice(0, at) : batch;
      if (events.length > 0) {
        await sink.send(log, events.map(shipped));
        last = (events.at(-1) as RawEvent).event;
        if (Date.now() - cursorAt > 200) saveCursor();
      }
      for (const p of problems.splice(0)) o.io.err(`procreg ship: ${p}`);
      if (replaced) {
        saveCursor();
        o.io.err(
          `procreg ship: ${o.live}: a new log (logId ${replaced.logId}) starts at seq ${replaced.seq}; shipping it`,
        );
        return false;
      }
    }
    saveCursor();
    if (o.once || o.signal.aborted) return true;
    await sleep(o.pollMs ?? 200, o.signal);
  }
}

/**
 * The same batches, the next one read (and decoded) while the caller sends this one: the
 * reading overlaps the broker storing, instead of each waiting for the other.
 */
async function* readAhead<T>(it: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => {}); // a failure is thrown where it is awaited, on the next turn
      yield r.value;
    }
  } finally {
    await it.return(undefined);
  }
}

/** The line as read from the file: shipped as it is, not encoded again. */
function shipped({ event: e, line }: RawEvent): ShippedEvent {
  return { seq: e.seq, line, snapshot: e.type === 'snapshot' };
}

/**
 * The logId of the log: its oldest file's first line, a snapshot that carries it (every
 * segment starts with one). A log not written yet has none (null).
 */
async function findLogId(live: string): Promise<string | null> {
  for (const f of allFiles(listLogFiles(live))) {
    const r = new LogReader(f.path, {}, {});
    for await (const e of r.events(false)) {
      if (e.type === 'snapshot' && e.logId !== null) return e.logId;
      break;
    }
  }
  return null;
}

/** One shipper per log, by an abstract unix socket the kernel releases when the holder dies. */
async function lockShipper(live: string): Promise<Server> {
  const path = resolveForLock(live);
  const address = `\0procreg-ship-${createHash('sha256').update(path).digest('hex').slice(0, 40)}`;
  const server = createServer((c) =>
    c.end(`${JSON.stringify({ procreg: 'ship', pid: process.pid, log: path })}\n`),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ShipFailure(`another procreg ship is already shipping ${path}: one shipper per log`, 1)
          : e,
      ),
    );
    server.listen({ path: address }, resolve);
  });
  server.unref();
  return server;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
