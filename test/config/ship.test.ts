import { describe, expect, it } from 'vitest';
import { formatProblem, normalizeConfig } from '../../src/config/normalize.js';
import { shipMsgId, shipSubject } from '../../src/config/ship.js';
import { normalizedConfigSchema } from '../../src/config/types.js';

const norm = (raw: unknown) =>
  normalizeConfig(raw, {
    baseDir: '/etc/app',
    defaultHost: 'box',
    procregArgv: ['/usr/bin/node', '/opt/procreg/bin/procreg.js'],
  });
const problems = (raw: unknown) => {
  const r = norm(raw);
  return r.ok ? [] : r.problems.map((p) => formatProblem(p, 'app.yaml'));
};

describe('config host: and ship: (issue 16)', () => {
  it('defaults host to the one the shell passes, and ship to none', () => {
    expect(norm({})).toMatchObject({ ok: true, config: { host: 'box', ship: null } });
    expect(normalizeConfig({}, { baseDir: '/etc/app' })).toMatchObject({ ok: true, config: { host: null } });
  });

  it('runs the built-in procreg-ship with every ServiceDef field, as a config read back from a log', () => {
    const r = norm({ host: 'web-07', ship: { to: 'nats://10.0.0.5:4222' } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.ship).toEqual({ to: 'nats://10.0.0.5:4222', stream: 'PROCREG', maxBacklogBytes: null });
    const def = r.config.services['procreg-ship'];
    expect(def?.command).toEqual([
      '/usr/bin/node',
      '/opt/procreg/bin/procreg.js',
      'ship',
      '/etc/app/run/events.jsonl',
      '--to',
      'nats://10.0.0.5:4222',
      '--stream',
      'PROCREG',
      '--host',
      'web-07',
    ]);
    expect(def).toMatchObject({
      pidFile: '/etc/app/run/procreg-ship.pid',
      fatalExitCodes: [2],
      restart: 'always',
    });
    // The config as a config-loaded event carries it must validate as one read back from a log.
    const back = normalizedConfigSchema(JSON.parse(JSON.stringify(r.config)), '', []);
    expect(back).toEqual(r.config);
  });

  it('says what is wrong with ship:, host: and a service that takes the built-in name', () => {
    expect(problems({ ship: { to: 'http://x:1' } })).toEqual([
      'app.yaml: ship.to: must be a NATS server URL: nats://host:port (e.g. nats://127.0.0.1:4222), got "http://x:1" (string)',
    ]);
    expect(problems({ ship: { to: 'nats://x:4222', stream: 'a.b' } })).toEqual([
      'app.yaml: ship.stream: a stream name is 1-64 of [A-Za-z0-9_-], got "a.b" (string)',
    ]);
    expect(problems({ ship: 'nats://x:4222' })).toEqual([
      'app.yaml: ship: must be { to: nats://host:port, stream: PROCREG, maxBacklog: 1GB }, got "nats://x:4222" (string)',
    ]);
    expect(problems({ host: 'my host' })).toEqual([
      'app.yaml: host: must be a host name: 1-253 printable characters, no spaces, got "my host" (string)',
    ]);
    expect(
      problems({ ship: { to: 'nats://x:4222' }, services: { 'procreg-ship': { command: ['x'] } } }),
    ).toEqual([
      'app.yaml: services.procreg-ship: is the name of the built-in shipper (ship:): name the service otherwise, got {} (object)',
    ]);
  });

  it('names a log on the stream: sanitized subject tokens, the msg id with the names as given', () => {
    expect(shipSubject('web-07.eu.example.com', 'a1b2')).toBe('procreg.ev.web-07_eu_example_com.a1b2');
    expect(shipSubject('h*>x', 'id')).toBe('procreg.ev.h__x.id');
    expect(shipMsgId('web-07.eu', 'a1b2', 42)).toBe('web-07.eu:a1b2:42');
  });
});
