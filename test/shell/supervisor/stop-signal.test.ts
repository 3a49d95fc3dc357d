import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEvents, pidFileOf, useProcregRun } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { alive } from '../../support/wait.js';

const tmp = useTmpDir();
const runs = useProcregRun();

describe('stop: SIGCONT right after the stop signal (as systemd sends it)', () => {
  it('a SIGSTOPped service acts on its stop signal at once instead of waiting out stopTimeout for SIGKILL', async () => {
    const dir = tmp();
    const runDir = join(dir, 'run');
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `runDir: ./run\nservices:\n  frozen:\n    command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 0.1; done']\n    stopTimeout: 30s\n`,
    );
    const r = runs.start(config, runDir);
    const pid = runs.track(await pidFileOf(runDir, 'frozen'));
    await r.printed('procreg running');
    process.kill(-pid, 'SIGSTOP');
    const t0 = performance.now();
    r.proc.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000); // far below the 30 s stopTimeout
    expect(alive(pid)).toBe(false);
    const events = await logEvents(join(runDir, 'events.jsonl'));
    const sent = events
      .filter((e) => e.type === 'signal-sent' && e.pid === pid)
      .map((e) => (e as { signal: string }).signal);
    expect(sent).toEqual(['SIGTERM', 'SIGCONT']); // and no SIGKILL
    expect(events.find((e) => e.type === 'exited' && e.pid === pid)).toMatchObject({ code: 0 });
  });
});
