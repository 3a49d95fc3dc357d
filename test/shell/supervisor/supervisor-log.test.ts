// The supervisor's event log under stress: a log out of order, a full disk, a log moved away
// or a runDir removed under it. Supervision always goes on, and the log always replays.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReplaySubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { encodeEvent, stamp } from '../../../src/events/codec.js';
import type { EventBody } from '../../../src/events/types.js';
import { Supervisor, type SupervisorOptions } from '../../../src/shell/supervisor/supervisor.js';
import { firstMatch, nextEvent, ofType } from '../../support/next-event.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll } from '../../support/wait.js';

const tmp = useTmpDir();
const started = new Set<number>();
const supervisors: Supervisor[] = [];
const mounts: string[] = [];
afterEach(async () => {
  // Supervisors first (they hold files on the mounts), then their processes, then the mounts.
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 3000))]);
  killAll(started);
  started.clear();
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'pipe' }); // still busy: detached all the same
    }
    rmSync(m, { recursive: true, force: true });
  }
});

const sleeper = { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], stopTimeout: '2s' };
const crashLoop = {
  command: ['sh', '-c', 'exit 1'],
  backoff: { initial: '20ms', factor: 1, max: '20ms' },
  maxRestarts: { count: 100000, within: '1s' },
};

function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

interface Said {
  readonly level: number;
  readonly msg: string;
}

/** Open a supervisor whose own log (procreg's, not the event log) the test reads. */
async function open(config: NormalizedConfig, options: Partial<SupervisorOptions> = {}) {
  const lines$ = new ReplaySubject<Said>();
  const all: Said[] = [];
  const logger = pino(
    { level: 'info', base: null },
    {
      write: (s: string) => {
        const l = JSON.parse(s) as Said;
        all.push(l);
        lines$.next(l);
      },
    },
  );
  const sup = await Supervisor.open({ config, logger, ...options });
  supervisors.push(sup);
  for (const p of sup.status().processes) started.add(p.pid);
  sup.events.subscribe((e) => {
    if (e.type === 'spawned') started.add(e.pid);
  });
  return {
    sup,
    /** Resolves once procreg's own log has said something matching `re`. */
    said: (re: RegExp, ms?: number) => firstMatch(lines$, (l) => re.test(l.msg), String(re), ms),
    /** How many times it said it. */
    count: (re: RegExp) => all.filter((l) => re.test(l.msg)).length,
  };
}

async function finish(sup: Supervisor): Promise<void> {
  await sup.stop('test');
  supervisors.splice(supervisors.indexOf(sup), 1);
}

describe('a log whose seq goes backwards or repeats', () => {
  const line = (body: EventBody, seq: number) => `${encodeEvent(stamp(body, seq, 1000 + seq, 1000 + seq))}\n`;
  const stopped: EventBody = { type: 'supervisor-stopped' };

  for (const [what, seqs, at] of [
    ['two writers interleaved', [1, 2, 3, 2, 4], { line: 4, seq: 2, after: 3 }],
    ['a log ending in a lower seq', [1, 2, 3, 4, 5, 3], { line: 6, seq: 3, after: 5 }],
  ] as const) {
    it(`is refused by Supervisor.open (ELOGSEQ), naming the line, both seqs and the way out: ${what}`, async () => {
      const dir = tmp();
      mkdirSync(join(dir, 'run'), { mode: 0o700 });
      const log = join(dir, 'run', 'events.jsonl');
      const text = seqs.map((s) => line(stopped, s)).join('');
      writeFileSync(log, text);
      const cfg = normalized({ runDir: './run', services: { web: sleeper } }, dir);
      await expect(open(cfg)).rejects.toMatchObject({
        code: 'ELOGSEQ',
        message: `event log ${log}: line ${at.line} has seq ${at.seq} after seq ${at.after}; seq must increase by one per line (two procregs writing one log, or lines of another log appended?). procreg will not continue a log it cannot replay in order: move it aside (mv ${log} ${log}.bad-seq) and start again — the new log starts empty, so first stop what the old one still runs (procreg replay ${log}.bad-seq shows it)`,
      });
      expect(readFileSync(log, 'utf8')).toBe(text); // not a line added
      expect(started.size).toBe(0);
    });
  }
});

describe('a write error never leaves a zombie supervisor', () => {
  it('an exception out of an effect (here: procreg’s own log failing) is survived, and supervision goes on', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'run', 'crash.pid'), { recursive: true }); // every PID file write fails
    const cfg = normalized({ runDir: './run', services: { crash: crashLoop } }, dir);
    // procreg's own log throws on the PID file error it is told about (as a closed stdout would).
    const logger = pino(
      { level: 'info', base: null },
      {
        write: (s: string) => {
          if (s.includes('PID file')) throw new Error('EPIPE: the log went away');
        },
      },
    );
    const sup = await Supervisor.open({ config: cfg, logger });
    supervisors.push(sup);
    sup.events.subscribe((e) => e.type === 'spawned' && started.add(e.pid));
    for (let i = 0; i < 3; i++) await nextEvent(sup, ofType('spawned'));
    await finish(sup);
    expect(sup.status().phase).toBe('stopped');
  });
});
