import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeEvent, stamp } from '../../src/events/codec.js';
import type { EventBody } from '../../src/events/types.js';
import { makeConfig } from './configs.js';

/**
 * Write an event log of `events` events (at least 2) to `path`, by concatenation: a
 * supervisor that started with no services, then reload requests each refused — a log that
 * folds (and passes `replay --check`) to a running supervisor with nothing in its registry,
 * about 90 bytes an event. 1M events take about a second to write and several to replay.
 */
export function writeLongLog(path: string, events: number): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    const t = 1_700_000_000_000;
    const head: EventBody[] = [
      { type: 'supervisor-started', pid: 1, version: 'long-log', bootId: null },
      { type: 'config-loaded', source: 'long-log', config: makeConfig({ services: {} }) },
    ];
    let out = head.map((b, i) => `${encodeEvent(stamp(b, i + 1, t, i))}\n`).join('');
    for (let seq = head.length + 1; seq <= events; seq++) {
      out +=
        seq % 2 === 1
          ? `{"v":2,"seq":${seq},"time":${t},"mono":${seq},"type":"reload-requested","source":"SIGHUP"}\n`
          : `{"v":2,"seq":${seq},"time":${t},"mono":${seq},"type":"reload-failed","reason":"long-log"}\n`;
      if (out.length > 1 << 20) {
        writeSync(fd, out);
        out = '';
      }
    }
    writeSync(fd, out);
  } finally {
    closeSync(fd);
  }
}
