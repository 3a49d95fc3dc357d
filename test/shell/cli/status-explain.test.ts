import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg } from '../../support/cli.js';
import { ofType } from '../../support/next-event.js';
import { logEvent, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const runs = useProcregRun();

const NODE_IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);
const NODE_CRASH = JSON.stringify([process.execPath, '-e', 'process.exit(1)']);

// One service for each thing status explains: given up, in backoff, waiting for a dependency,
// stopped by an operator; a check that fails.
const CONFIG = `runDir: ./run
services:
  flaky:
    command: ${NODE_CRASH}
    backoff: { initial: 10ms }
    maxRestarts: { count: 1, within: 60s }
  slow:
    command: ${NODE_CRASH}
    backoff: { initial: 30s }
  web:
    command: ${NODE_IDLE}
    stopTimeout: 2s
  worker:
    command: ${NODE_IDLE}
    dependsOn: { web: healthy }
checks:
  web_alive:
    command: [${JSON.stringify(process.execPath)}, -e, 'process.exit(1)']
    interval: 500ms
    service: web
`;

describe('procreg status explains', () => {
  it('why each service is not running: given up, backoff, waiting for a dependency, stopped by an operator', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = join(dir, 'procreg.yaml');
    writeFileSync(config, CONFIG);
    const r = runs.start(config, runDir);
    await r.printed('procreg running');
    const log = join(runDir, 'events.jsonl');
    await logEvent(
      log,
      ofType('service-given-up', (e) => e.name === 'flaky'),
      'flaky given up',
    );
    await logEvent(
      log,
      ofType('restart-scheduled', (e) => e.name === 'slow'),
      'slow in backoff',
    );
    await logEvent(
      log,
      ofType('check-finished', (e) => e.name === 'web_alive'),
      'a failed run of web_alive',
    );
    runs.track(await pidFileOf(runDir, 'web'));
    expect(await procreg('stop', config, 'web')).toMatchObject({ code: 0 });

    const table = await procreg('status', config);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const rows = table.stdout.split('\n');
    const row = (name: string) => rows.find((l) => l.startsWith(`${name} `)) ?? `no row for ${name}`;
    const T = '\\d\\d:\\d\\d:\\d\\d';
    expect(rows[2]).toMatch(/^SERVICE +STATE +PID +GEN +UPTIME +RESTARTS +LAST EXIT +WHY$/);
    expect(row('flaky')).toMatch(
      new RegExp(
        `^flaky +given-up +- +1 +- +1 in 60s of 1 +code 1 at ${T} after \\d+ms +given up: 2 restarts within 60s; procreg start revives it$`,
      ),
    );
    expect(row('slow')).toMatch(
      new RegExp(
        `^slow +backoff +- +1 +- +1 in 60s of 10 +code 1 at ${T} after \\d+ms +backoff, next start in (2\\d|30)\\.\\ds$`,
      ),
    );
    expect(row('web')).toMatch(
      new RegExp(
        `^web +stopped +- +1 +- +0 in 60s of 10 +SIGTERM at ${T} after [\\d.]+m?s +stopped by operator \\(socket\\) at ${T}$`,
      ),
    );
    expect(row('worker')).toMatch(
      /^worker +waiting +- +1 +- +0 in 60s of 10 +- +waiting for web \(healthy\)$/,
    );
    expect(row('web_alive')).toMatch(
      new RegExp(`^web_alive +unhealthy +\\d+ +(\\d+|-) +failed \\(code 1\\) in [\\d.]+m?s at ${T}$`),
    );

    const json = JSON.parse((await procreg('status', config, '--json')).stdout);
    const svc = (name: string) => json.services.find((s: { name: string }) => s.name === name);
    expect(svc('slow')).toMatchObject({
      state: 'backoff',
      restarts: 1,
      restartsInWindow: 1,
      restartWindow: { withinMs: 60_000, max: 10 },
      nextStartInMs: expect.any(Number),
      lastExit: { code: 1, signal: null, uptimeMs: expect.any(Number) },
    });
    expect(svc('slow').nextStartInMs).toBeGreaterThan(20_000);
    expect(svc('slow').why).toMatch(/^backoff, next start in \d+\.\ds$/);
    expect(svc('flaky').why).toBe('given up: 2 restarts within 60s; procreg start revives it');
    expect(svc('worker').why).toBe('waiting for web (healthy)');
    expect(svc('web')).toMatchObject({
      desired: 'down',
      why: expect.stringMatching(/^stopped by operator \(socket\) at /),
    });
    expect(json.checks[0]).toMatchObject({
      name: 'web_alive',
      healthy: false,
      paused: false,
      lastResult: { ok: false, code: 1 },
    });
    expect(json.at).toEqual({ time: expect.any(Number), mono: expect.any(Number) });
  });

  it('with no supervisor: one line naming the runDir looked at, exit 3', async () => {
    const dir = tmp();
    const config = join(dir, 'procreg.yaml');
    writeFileSync(config, CONFIG);
    const r = await procreg('status', config);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
    expect(r.stderr).toMatch(
      new RegExp(`^procreg status: no procreg is running for runDir ${join(dir, 'run')} `),
    );
  });
});
