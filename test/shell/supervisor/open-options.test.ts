// Supervisor.open's options for procreg run: an AbortSignal for the replay, and a config object
// given with its file (the object is what runs first; reloads read the file).
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { ProcregError } from '../../../src/shell/errors.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { writeLongLog } from '../../support/long-log.js';
import { nextEvent, ofType } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const supervisors: Supervisor[] = [];
const started = new Set<number>();
afterEach(async () => {
  killAll(started);
  started.clear();
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 2000))]);
});

const silent = pino({ level: 'silent' });
const IDLE = JSON.stringify([process.execPath, '-e', 'setInterval(() => {}, 1000)']);

function writeConfig(dir: string, services: string[]): string {
  const path = join(dir, 'procreg.yaml');
  writeFileSync(
    path,
    `runDir: ./run\nservices:\n${services.map((s) => `  ${s}:\n    command: ${IDLE}\n    stopTimeout: 1s\n`).join('')}`,
  );
  return path;
}

function loaded(path: string): NormalizedConfig {
  const res = loadConfigFile(path);
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

describe('Supervisor.open', () => {
  it('part 5: abandons the replay of a long log on its AbortSignal: rejects with the reason, nothing started or written', async () => {
    const dir = tmp();
    const config = loaded(writeConfig(dir, ['web']));
    mkdirSync(config.runDir);
    writeLongLog(config.eventLog, 300_000);
    const size = statSync(config.eventLog).size;
    const abort = new AbortController();
    const opening = Supervisor.open({ config, logger: silent, signal: abort.signal });
    const why = new ProcregError('EABORTED', 'start-up abandoned: SIGTERM');
    abort.abort(why); // open() is replaying by now: its first read is under way
    await expect(opening).rejects.toBe(why);
    expect(statSync(config.eventLog).size).toBe(size);
    expect(existsSync(join(config.runDir, 'web.pid'))).toBe(false);
  });

  it('part 2: given a config object and its file, runs the object first and reads the file on reload', async () => {
    const dir = tmp();
    const path = writeConfig(dir, ['web']);
    const config = loaded(path);
    writeConfig(dir, ['web', 'extra']); // the file changed after it was read (and locked)
    const sup = await Supervisor.open({ configPath: path, config, logger: silent });
    supervisors.push(sup);
    for (const p of sup.status().processes) started.add(p.pid);
    expect(sup.status().services.map((s) => s.name)).toEqual(['web']);
    const applied = nextEvent(sup, ofType('reload-applied'));
    const spawned = nextEvent(
      sup,
      ofType('spawned', (e) => e.name === 'extra'),
    );
    sup.reload();
    expect(await applied).toMatchObject({ gen: 2, services: { added: ['extra'] } });
    started.add((await spawned).pid);
  });

  it('returns in a crash storm, where some service is always starting, once each first spawn was reported; then stops', async () => {
    const dir = tmp();
    const path = join(dir, 'procreg.yaml');
    const names = Array.from({ length: 40 }, (_, i) => `s${i}`);
    writeFileSync(
      path,
      `runDir: ./run\nservices:\n${names
        .map(
          (n) =>
            `  ${n}:\n    command: [sh, -c, 'exit 1']\n    backoff: { initial: 1ms, max: 1ms }\n    maxRestarts: { count: 1000000, within: 1s }\n`,
        )
        .join('')}`,
    );
    const config = loaded(path);
    const opening = Supervisor.open({ config, logger: silent });
    const outcome = await Promise.race([
      opening.then((sup) => {
        supervisors.push(sup);
        return sup;
      }),
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000)),
    ]);
    if (outcome === 'hung') {
      // Still opening: stop what it runs once it does, so that nothing outlives the test.
      void opening.then((sup) => supervisors.push(sup));
      throw new Error('Supervisor.open did not return within 15 s of a crash storm');
    }
    for (const s of outcome.status().services) expect(s.incarnation).toBeGreaterThanOrEqual(1);
    await outcome.stop('test');
    expect(outcome.status().services.every((s) => s.pid === null)).toBe(true);
  }, 40_000);
});
