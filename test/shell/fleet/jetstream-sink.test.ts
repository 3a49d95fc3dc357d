/**
 * The JetStream sink's messages as the server stores them: the headers the shipper writes by
 * hand on its unacknowledged messages (every message of a window but its first and last) are
 * the ones the server reads (`Nats-Msg-Id`: a re-send is dropped) and readers read
 * (`Procreg-Seq`), and the payload is the line's bytes as given.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { shipSubject } from '../../../src/config/ship.js';
import { JetStreamSink } from '../../../src/shell/fleet/jetstream-sink.js';
import { loadNats } from '../../../src/shell/fleet/nats.js';
import type { ShippedEvent } from '../../../src/shell/fleet/sink.js';
import { useNatsServer } from '../../support/nats-server.js';

const natsServer = useNatsServer();

const line = (seq: number) => Buffer.from(JSON.stringify({ seq, note: 'é' }));
const events = (from: number, to: number): ShippedEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, line: line(from + i), snapshot: false }));

describe('JetStreamSink', () => {
  it('stores every message once with its seq and id headers, a re-send included', async () => {
    const server = await natsServer();
    const mods = await loadNats();
    const log = { host: 'h-1', logId: 'L1' };
    const sink = await JetStreamSink.open(mods, server.url, 'SINKTEST');
    try {
      expect(await sink.resume(log)).toEqual({ seq: 0 });
      await sink.send(log, events(1, 40));
      // The same events again (a shipper that lost its acks): the duplicate window drops them.
      await sink.send(log, events(31, 40));
      await sink.send(log, events(41, 50));
    } finally {
      await sink.close();
    }
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info('SINKTEST');
      expect(info.state.messages).toBe(50);
      const subject = shipSubject(log.host, log.logId);
      for (let s = 1; s <= 50; s++) {
        const m = await jsm.streams.getMessage('SINKTEST', { seq: s });
        expect(m?.subject).toBe(subject);
        expect(m?.header.get('Procreg-Seq')).toBe(String(s));
        expect(m?.header.get('Nats-Msg-Id')).toBe(`h-1:L1:${s}`);
        expect(Buffer.from(m?.data ?? []).equals(line(s))).toBe(true);
      }
    } finally {
      await nc.close();
    }
  });
});
