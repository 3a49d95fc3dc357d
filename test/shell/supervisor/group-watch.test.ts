import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { GroupWatch, groupAlive } from '../../../src/shell/supervisor/group-watch.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { nextEvent, ofType } from '../../support/next-event.js';
import { logEvents } from '../../support/procreg-run.js';
import { useTmpDir } from '../../support/tmp.js';
import { groupMembers, killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const groups = new Set<number>();
const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 3000))]);
  killAll(groups);
  groups.clear();
});

function config(dir: string, services: Record<string, unknown>): NormalizedConfig {
  const res = normalizeConfig({ runDir: './run', allowUnsafeScripts: true, services }, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

async function open(cfg: NormalizedConfig): Promise<Supervisor> {
  const sup = await Supervisor.open({ config: cfg, logger: pino({ level: 'silent' }) });
  supervisors.push(sup);
  for (const p of sup.status().processes) groups.add(p.pid);
  return sup;
}

describe('GroupWatch', () => {
  it('reports a process group once its last member is gone, and only then', async () => {
    const leader = spawn('sh', ['-c', 'sleep 300 & sleep 301'], { detached: true, stdio: 'ignore' });
    const pgid = leader.pid as number;
    groups.add(pgid);
    await waitFor('both sleeps in the group', () => (groupMembers([pgid]).length >= 2 ? true : undefined));
    const emptied: number[] = [];
    const watch = new GroupWatch((g) => emptied.push(g));
    watch.watch(pgid);
    process.kill(pgid, 'SIGKILL'); // the leader only: the other sleep lives on in the group
    await new Promise((r) => leader.on('exit', r));
    expect(groupAlive(pgid)).toBe(true);
    expect(emptied).toEqual([]);
    process.kill(-pgid, 'SIGKILL');
    await waitFor('the group reported empty', () => (emptied.length > 0 ? true : undefined));
    expect(emptied).toEqual([pgid]);
    watch.clear();
  });
});

describe('hardening part 4: a process group is one incarnation; stop means every process is gone', () => {
  it('stops the children a leader left behind, and only then counts the incarnation as ended', async () => {
    const dir = tmp();
    const sup = await open(
      config(dir, {
        left: {
          command: ['sh', '-c', 'for i in $(seq 20); do sleep 300 & done; exit 0'],
          restart: 'never',
          stopTimeout: '2s',
        },
      }),
    );
    // open() started it: what it did before returning is in the log.
    const events = () => logEvents(join(dir, 'run', 'events.jsonl'));
    const spawned = (await events()).find((e) => e.type === 'spawned') as { pid: number };
    groups.add(spawned.pid);
    const gone = await waitFor('the group gone', async () =>
      (await events()).find((e) => e.type === 'group-exited'),
    );
    expect(gone).toMatchObject({ pid: spawned.pid });
    await waitFor('the decision', () => (sup.status().services[0]?.state === 'stopped' ? true : undefined));
    expect(groupMembers([spawned.pid])).toEqual([]);
    expect(sup.status().services[0]).toMatchObject({ state: 'stopped', lastExit: { code: 0 } });
    const log = await logEvents(join(dir, 'run', 'events.jsonl'));
    const seqOf = (type: string) => log.find((e) => e.type === type)?.seq ?? -1;
    // The exit is seen, the rest of the group is stopped, then the group is gone: then the decision.
    expect(log.find((e) => e.type === 'exited')).toMatchObject({
      pid: spawned.pid,
      code: 0,
      groupAlive: true,
    });
    expect(log.find((e) => e.type === 'stop-begun')).toMatchObject({
      reason: 'leader-exited',
      signal: 'SIGTERM',
    });
    expect(seqOf('group-exited')).toBe(gone.seq);
    expect(seqOf('pidfile-removed')).toBeGreaterThan(gone.seq);
  });

  it('SIGKILLs what ignores the stop signal after stopTimeout, and stop() returns with nothing left', async () => {
    const dir = tmp();
    const sup = await open(
      config(dir, {
        stubborn: {
          // Children that ignore SIGTERM and hold the service's output pipes open.
          command: ['sh', '-c', "trap '' TERM; for i in 1 2 3; do sleep 300 & done; echo ready; wait"],
          stopTimeout: '300ms',
        },
      }),
    );
    const spawned = { pid: sup.status().services[0]?.pid as number };
    await waitFor('the group', () => (groupMembers([spawned.pid]).length === 4 ? true : undefined));
    const t0 = Date.now();
    await sup.stop('test');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(groupMembers([spawned.pid])).toEqual([]);
  });

  it('a check run that leaves children behind is finished only when its group is gone', async () => {
    const dir = tmp();
    const res = normalizeConfig(
      {
        runDir: './run',
        allowUnsafeScripts: true,
        checks: { leaky: { command: ['sh', '-c', 'sleep 300 & exit 0'], interval: '1h', timeout: '5s' } },
      },
      { baseDir: dir },
    );
    if (!res.ok) throw new Error('bad config');
    const sup = await Supervisor.open({ config: res.config, logger: pino({ level: 'silent' }) });
    supervisors.push(sup);
    const started = { pid: sup.status().checks[0]?.inFlight as number };
    groups.add(started.pid);
    const finished = await nextEvent(sup, ofType('check-finished'));
    expect(finished).toMatchObject({ pid: started.pid, code: 0, ok: true });
    expect(groupMembers([started.pid])).toEqual([]);
  });
});
