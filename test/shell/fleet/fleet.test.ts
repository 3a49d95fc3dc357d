/**
 * Issue 16 against a real nats-server that each test starts itself: procreg runs ship their
 * logs to one JetStream stream, the fleet is read back, and faults (the broker killed and
 * restarted, the shipper killed, procreg restarted) lose and duplicate nothing.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { shipSubject } from '../../../src/config/ship.js';
import { readShipCursor } from '../../../src/shell/fleet/ship-cursor.js';
import { procreg } from '../../support/cli.js';
import { freePort } from '../../support/free-port.js';
import { useNatsServer } from '../../support/nats-server.js';
import { logEvents, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const natsServer = useNatsServer();
const runs = useProcregRun();

/** A config for host `host` whose service `api` crash-loops, shipping to `url`. */
function hostConfig(
  host: string,
  url: string,
  more: string[] = [],
  ship = `{ to: "${url}", stream: FLEET }`,
): { config: string; runDir: string; log: string } {
  const dir = tmp();
  const config = join(dir, `${host}.yaml`);
  writeFileSync(
    config,
    [
      `host: ${host}`,
      `ship: ${ship}`,
      ...more,
      'services:',
      '  api:',
      '    command: [sh, -c, "sleep 0.05; exit 3"]',
      '    backoff: { initial: 20ms, max: 50ms }',
      '    maxRestarts: { count: 100000, within: 1s }',
      '  idle: { command: [sleep, "600"] }',
    ].join('\n'),
  );
  return { config, runDir: join(dir, 'run'), log: join(dir, 'run', 'events.jsonl') };
}

/** Every message on a log's subject: the seqs in stream order, and the msg ids. */
async function shipped(url: string, host: string, logId: string): Promise<{ seqs: number[]; ids: string[] }> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const subject = shipSubject(host, logId);
    const info = await jsm.streams.info('FLEET', { subjects_filter: subject });
    const seqs: number[] = [];
    const ids: string[] = [];
    const last = await jsm.streams.getMessage('FLEET', { last_by_subj: subject });
    if (last === null || info.state.messages === 0) return { seqs, ids };
    for (let s = 1; s <= last.seq; s++) {
      const m = await jsm.streams.getMessage('FLEET', { seq: s });
      if (m === null || m.subject !== subject) continue;
      seqs.push(Number(m.header.get('Procreg-Seq')));
      ids.push(m.header.get('Nats-Msg-Id'));
    }
    return { seqs, ids };
  } finally {
    await nc.close();
  }
}

const logIdOf = (log: string) => readShipCursor(log)?.logId ?? '';

/** Stop a run with SIGINT and ship what it wrote after its shipper stopped. */
async function stopAndFlush(
  run: { proc: { kill: (s: string) => void }; exit: Promise<unknown> },
  config: string,
) {
  run.proc.kill('SIGINT');
  await run.exit;
  const flushed = await procreg('ship', config, '--once');
  expect(flushed.stderr).toBe('');
  expect(flushed.code).toBe(0);
}

/** The log's seqs must be on the stream exactly once each, in seq order. */
async function expectExactlyOnce(url: string, host: string, log: string) {
  const local = (await logEvents(log)).map((e) => e.seq);
  const logId = logIdOf(log);
  const { seqs, ids } = await shipped(url, host, logId);
  expect(seqs).toEqual(local);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(local.map((s) => `${host}:${logId}:${s}`));
}

describe('fleet: procreg run ships to NATS JetStream', () => {
  it('two hosts ship to one server: fleet status, merged events and per-host replay --check', async () => {
    const server = await natsServer();
    const hosts = ['alpha', 'beta'].map((h) => ({ host: h, ...hostConfig(h, server.url) }));
    const running = hosts.map((h) => runs.start(h.config, h.runDir));
    for (const h of hosts)
      await waitFor(
        `${h.host} shipped 40 events`,
        () => ((readShipCursor(h.log)?.seq ?? 0) >= 40 ? true : undefined),
        20_000,
      );
    for (const [i, h] of hosts.entries()) await stopAndFlush(running[i] as never, h.config);

    const status = await procreg('fleet', 'status', `${server.url}/FLEET`, '--json');
    expect(status.code).toBe(0);
    const rows = (JSON.parse(status.stdout) as { hosts: { host: string; seq: number; phase: string }[] })
      .hosts;
    expect(rows.map((r) => r.host)).toEqual(['alpha', 'beta']);
    for (const r of rows) expect(r.phase).toBe('stopped');

    const merged = await procreg('events', `${server.url}/FLEET`, '--service', 'api', '--json');
    expect(merged.code).toBe(0);
    const lines = merged.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { host: string; logId: string; time: string; service: string });
    expect(new Set(lines.map((l) => l.host))).toEqual(new Set(['alpha', 'beta']));
    expect(lines.every((l) => l.service === 'api' && l.logId.length > 0)).toBe(true);
    const times = lines.map((l) => Date.parse(l.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const typed = await procreg('events', `${server.url}/FLEET`, '--type', 'restart-scheduled', '--json');
    expect(typed.code).toBe(0);
    const types = typed.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(new Set(types)).toEqual(new Set(['restart-scheduled']));
    const future = await procreg('events', `${server.url}/FLEET`, '--since', '2099-01-01');
    expect(future).toMatchObject({
      code: 0,
      stdout: '# 2 logs of 2 host(s), merged in the order of their wall clocks (time, host, seq)\n',
    });
    const badType = await procreg('events', `${server.url}/FLEET`, '--type', 'nonsense');
    expect(badType.code).toBe(2);

    const history = await procreg('history', `${server.url}/FLEET`, 'api');
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(
      /== alpha \(log [0-9a-f-]{36}\)\nhistory of api in nats:\/\/127\.0\.0\.1:\d+\/FLEET host alpha: \d+ incarnation/,
    );
    expect(history.stdout).toContain(`/FLEET host beta: `);
    const why = await procreg('why', `${server.url}/FLEET`, 'api', '--host', 'beta', '--json');
    expect(why.code).toBe(0);
    expect(why.stderr).toContain('== beta (log ');
    expect(JSON.parse(why.stdout)).toMatchObject({ log: expect.stringContaining('/FLEET host beta') });
    const unknown = await procreg('why', `${server.url}/FLEET`, 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      `procreg why: service or check "nope" not in any host's log on the stream (hosts: alpha, beta)`,
    );

    for (const h of hosts) {
      const fromStream = await procreg(
        'replay',
        `${server.url}/FLEET`,
        '--host',
        h.host,
        '--check',
        '--json',
      );
      expect(fromStream.stderr).toContain(`check: ${h.host}:`);
      expect(fromStream.code).toBe(0);
      const local = await procreg('replay', h.log, '--json');
      const [streamView] = JSON.parse(fromStream.stdout) as { view: unknown }[];
      expect(streamView?.view).toEqual(JSON.parse(local.stdout));
      await expectExactlyOnce(server.url, h.host, h.log);
    }
  }, 60_000);

  it("a clean stop ships the stop's own events; with the broker gone it still ends, within the shipper's stopTimeout, and says so", async () => {
    const server = await natsServer();
    const h = hostConfig('theta', server.url);
    const run = runs.start(h.config, h.runDir);
    await waitFor(
      'theta shipped',
      () => ((readShipCursor(h.log)?.seq ?? 0) >= 10 ? true : undefined),
      20_000,
    );
    run.proc.kill('SIGINT');
    const code = await run.exit;
    expect({ code, signal: run.proc.signalCode, out: run.output().slice(-3000) }).toMatchObject({ code: 0 });
    expect((await logEvents(h.log)).at(-1)?.type).toBe('supervisor-stopped');
    // No procreg ship --once by hand: the stream holds the whole log, supervisor-stopped last.
    await expectExactlyOnce(server.url, 'theta', h.log);
    expect(run.output()).toMatch(/procreg-ship: the stop's last events shipped/);
    const status = await procreg('fleet', 'status', `${server.url}/FLEET`, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ hosts: [{ host: 'theta', phase: 'stopped' }] });

    const firstEnd = (await logEvents(h.log)).at(-1)?.seq ?? 0;
    const again = runs.start(h.config, h.runDir);
    await waitFor(
      'theta ships again',
      () => ((readShipCursor(h.log)?.seq ?? 0) > firstEnd + 5 ? true : undefined),
      20_000,
    );
    await server.crash();
    again.proc.kill('SIGINT');
    const code2 = await again.exit;
    expect({ code: code2, signal: again.proc.signalCode, out: again.output().slice(-3000) }).toMatchObject({
      code: 0,
    });
    expect(again.output()).toMatch(
      /procreg-ship: the stop's last events were not shipped \(.+\); they stay on disk and go out at the next start/,
    );
  }, 60_000);

  it('kill -9 of nats-server and of the shipper, and a procreg restart, lose and duplicate nothing', async () => {
    const server = await natsServer();
    const h = hostConfig('gamma', server.url);
    let run = runs.start(h.config, h.runDir);
    const seqNow = () => readShipCursor(h.log)?.seq ?? 0;
    const localSeq = async () => (await logEvents(h.log)).at(-1)?.seq ?? 0;
    await waitFor('first events shipped', () => (seqNow() >= 20 ? true : undefined), 20_000);

    await server.crash();
    const atCrash = await localSeq();
    await waitFor(
      'the crash loop goes on without the broker',
      async () => ((await localSeq()) > atCrash + 300 ? true : undefined),
      20_000,
    );
    const status = await procreg('status', h.config, '--json');
    expect(status.code).toBe(0);
    const lag = (JSON.parse(status.stdout) as { ship: { lagEvents: number; lagSeconds: number; to: string } })
      .ship;
    expect(lag.to).toBe(server.url);
    expect(lag.lagEvents).toBeGreaterThan(300);
    expect(lag.lagSeconds).toBeGreaterThan(0);
    const human = await procreg('status', h.config);
    expect(human.stdout).toMatch(
      /shipping to nats:\/\/127\.0\.0\.1:\d+ \(stream FLEET\): shipped to seq \d+, \d+ event\(s\) behind, \d+\.\d s/,
    );
    await server.restart();
    await waitFor(
      'shipping catches up after the broker restart',
      async () => (seqNow() >= atCrash + 300 ? true : undefined),
      30_000,
    );

    const shipper = Number(readFileSync(join(h.runDir, 'procreg-ship.pid'), 'utf8').trim());
    process.kill(shipper, 'SIGKILL');
    const atKill = await localSeq();
    await waitFor('a new shipper ships on', () => (seqNow() > atKill + 10 ? true : undefined), 30_000);

    run.proc.kill('SIGINT');
    await run.exit;
    run = runs.start(h.config, h.runDir);
    const atRestart = await localSeq();
    await waitFor(
      'the restarted procreg ships',
      () => (seqNow() > atRestart + 10 ? true : undefined),
      20_000,
    );
    await stopAndFlush(run as never, h.config);
    await expectExactlyOnce(server.url, 'gamma', h.log);
  }, 60_000);
});

describe('fleet: retention waits for the shipper', () => {
  const small = ['eventLog: { segmentSize: 4kB, retain: { segments: 1 } }'];
  const closedSegments = (runDir: string) =>
    existsSync(runDir) ? readdirSync(runDir).filter((f) => /^events\.\d{16}\.jsonl$/.test(f)).length : 0;

  it('keeps every unshipped segment while the broker is unreachable', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const h = hostConfig('zeta', url, small, `{ to: "${url}", stream: FLEET }`);
    // validate resolves every program: the built-in shipper's (node) too.
    const valid = await procreg('validate', h.config);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain('services (3): api, idle, procreg-ship');
    const run = runs.start(h.config, h.runDir);
    await waitFor('4 closed segments', () => (closedSegments(h.runDir) >= 4 ? true : undefined), 30_000);
    run.proc.kill('SIGINT');
    await run.exit;
    const events = await logEvents(h.log);
    expect(events.filter((e) => e.type === 'segments-deleted')).toEqual([]);
    expect(closedSegments(h.runDir)).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('past ship.maxBacklog it deletes them and records the ship-gap', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const h = hostConfig('eta', url, small, `{ to: "${url}", stream: FLEET, maxBacklog: 8kB }`);
    const run = runs.start(h.config, h.runDir);
    await waitFor(
      'a ship-gap',
      async () =>
        existsSync(h.log) && (await logEvents(h.log)).some((e) => e.type === 'ship-gap') ? true : undefined,
      30_000,
    );
    run.proc.kill('SIGINT');
    await run.exit;
    const events = await logEvents(h.log);
    const gap = events.find((e) => e.type === 'ship-gap');
    const deleted = events.find((e) => e.type === 'segments-deleted');
    expect(gap).toMatchObject({ fromSeq: 1 });
    expect(deleted?.seq).toBe((gap?.seq ?? 0) + 1);
    expect((await procreg('replay', h.log, '--check')).code).toBe(0);
  }, 60_000);
});

describe('fleet: bad input', () => {
  it('an unreachable server, a bad address: a clear message, exit 1 or 2, nothing lost locally', async () => {
    const port = await freePort();
    const events = await procreg('events', `nats://127.0.0.1:${port}`);
    expect(events.code).toBe(1);
    expect(events.stderr).toMatch(
      new RegExp(`procreg events: nats://127.0.0.1:${port}: cannot connect to the NATS server`),
    );
    expect(events.stderr).not.toMatch(/\n\s+at /);
    const bad = await procreg('fleet', 'status', 'nats://');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a stream address: nats:\/\/host:port\[\/stream\]/);

    const server = await natsServer();
    const h = hostConfig('delta', server.url);
    const run = runs.start(h.config, h.runDir);
    await waitFor(
      'delta shipped',
      () => ((readShipCursor(h.log)?.seq ?? 0) >= 10 ? true : undefined),
      20_000,
    );
    run.proc.kill('SIGINT');
    await run.exit;
    await server.crash();
    const once = await procreg('ship', h.config, '--once');
    expect(once.code).toBe(1);
    expect(once.stderr).toMatch(
      /procreg ship: nats:\/\/127\.0\.0\.1:\d+: .*\(nothing lost: the log stays on disk\)/,
    );
    const url = await procreg('ship', h.log, '--to', 'http://127.0.0.1:1', '--once');
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('--to: "http://127.0.0.1:1": must be a NATS server URL: nats://host:port');
    const check = await procreg('replay', h.log, '--check');
    expect(check.code).toBe(0);
  }, 60_000);

  it('foreign and bad messages on the stream are reported and skipped; two shippers for one log are refused', async () => {
    const server = await natsServer();
    const h = hostConfig('epsilon', server.url);
    const run = runs.start(h.config, h.runDir);
    await waitFor(
      'epsilon shipped',
      () => ((readShipCursor(h.log)?.seq ?? 0) >= 10 ? true : undefined),
      20_000,
    );

    // A second shipper for the same log, while procreg-ship runs.
    const second = await procreg('ship', h.config, '--once');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /another procreg ship is already shipping .*events\.jsonl: one shipper per log/,
    );
    await stopAndFlush(run as never, h.config);

    const nc = await connect({ servers: server.url });
    try {
      const js = (await import('@nats-io/jetstream')).jetstream(nc);
      await js.publish('procreg.ev.mallory.x1', 'not an event');
      await js.publish('procreg.ev.stray', '{}');
    } finally {
      await nc.close();
    }
    const events = await procreg('events', `${server.url}/FLEET`);
    expect(events.code).toBe(1);
    expect(events.stderr).toContain('procreg events: procreg.ev.stray: not a procreg log subject; ignored');
    expect(events.stderr).toMatch(
      /mallory \(log x1\): invalid: stream sequence \d+ on procreg\.ev\.mallory\.x1: not a procreg event/,
    );
    expect(events.stdout).toContain('epsilon');
    const only = await procreg('events', `${server.url}/FLEET`, '--host', 'epsilon');
    expect(only.code).toBe(0);
    await expectExactlyOnce(server.url, 'epsilon', h.log);

    // A shipper whose subject's last message is not procreg's refuses to append after it.
    const logId = logIdOf(h.log);
    const nc2 = await connect({ servers: server.url });
    try {
      const js = (await import('@nats-io/jetstream')).jetstream(nc2);
      await js.publish(shipSubject('epsilon', logId), 'hello');
    } finally {
      await nc2.close();
    }
    const refused = await procreg('ship', h.config, '--once');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /has no Procreg-Seq header: another program publishes on procreg's subjects/,
    );
    expect((await procreg('replay', h.log, '--check')).code).toBe(0);
  }, 60_000);
});
