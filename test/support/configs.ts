import { normalizeConfig } from '../../src/config/normalize.js';
import type { NormalizedConfig } from '../../src/config/types.js';

/** A normalized config from the YAML-shaped object a user would write. */
export function makeConfig(raw: Record<string, unknown>): NormalizedConfig {
  const res = normalizeConfig({ runDir: '/run/procreg', ...raw }, { baseDir: '/srv' });
  if (!res.ok) throw new Error(`bad test config: ${JSON.stringify(res.problems)}`);
  return res.config;
}

export const svc = (extra: Record<string, unknown> = {}) => ({ command: ['node', 'server.js'], ...extra });
export const chk = (extra: Record<string, unknown> = {}) => ({
  command: ['sh', '-c', 'true'],
  interval: '2s',
  timeout: '1s',
  ...extra,
});

/** A pool of configs whose services and checks overlap, change and vanish between reloads. */
export const RELOAD_POOL: NormalizedConfig[] = [
  makeConfig({
    services: { web: svc({ maxRestarts: { count: 5, within: '10s' } }), db: svc({ restart: 'on-failure' }) },
    checks: { web_alive: chk({ restarts: 'web', fall: 2, rise: 2 }) },
  }),
  makeConfig({
    services: {
      web: svc({ maxRestarts: { count: 5, within: '10s' } }),
      worker: svc({ fatalExitCodes: [3] }),
    },
    checks: {
      web_alive: chk({ restarts: 'web', fall: 2, rise: 2 }),
      slow: chk({ timeout: '200ms', interval: '300ms' }),
    },
  }),
  makeConfig({
    services: { web: svc({ command: ['node', 'server2.js'] }), db: svc({ restart: 'on-failure' }) },
    checks: { web_alive: chk({ restarts: 'web', timeout: '300ms' }) },
  }),
  makeConfig({
    services: { db: svc({ restart: 'never' }), worker: svc({ fatalExitCodes: [3], stopTimeout: '100ms' }) },
    checks: { slow: chk({ timeout: '200ms', interval: '300ms', restarts: 'worker' }) },
  }),
];
