// What running a service as another user, with a umask and limits, costs per start: the helpers
// (prlimit, setpriv, sh) exec'd between fork and the program, against a plain spawn and Node's
// own uid/gid option (which cannot set groups, umask or limits). Trials alternate between cases.
import { spawn } from 'node:child_process';
import type { RunAs } from '../src/config/run-as.js';
import { spawnChild } from '../src/shell/supervisor/children.js';
import { launchOf } from '../src/shell/supervisor/run-as.js';
import { median, type Result } from './util.js';

const NONE: RunAs = { user: null, group: null, umask: null, limits: {}, inheritEnv: true };
const CASES: [string, RunAs | 'node-uid'][] = [
  ['plain spawn (no settings)', NONE],
  ["Node's uid/gid option (no groups, umask, limits)", 'node-uid'],
  ['umask (sh)', { ...NONE, umask: 0o027 }],
  ['limits (prlimit)', { ...NONE, limits: { nofile: { soft: 1024, hard: 4096 } } }],
  ['user (setpriv, with its groups)', { ...NONE, user: 'nobody' }],
  [
    'user + umask + limits (all three)',
    { ...NONE, user: 'nobody', umask: 0o027, limits: { nofile: { soft: 1024, hard: 4096 } } },
  ],
];

/** ms from the spawn call until /bin/true, started as `runAs` says, has exited. */
function once(runAs: RunAs | 'node-uid'): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    if (runAs === 'node-uid') {
      const c = spawn('/bin/true', [], { uid: 65534, gid: 65534, detached: true, stdio: 'ignore' });
      c.on('exit', () => resolve(performance.now() - t0));
      c.on('error', reject);
      return;
    }
    const launch = launchOf(runAs, {}, 'bench');
    if ('error' in launch) return reject(new Error(launch.error));
    const spec = {
      command: ['/bin/true'],
      cwd: null,
      env: launch.env,
      inheritEnv: false,
      wrapper: launch.wrapper,
      stdout: null,
      stderr: null,
    };
    spawnChild(spec, { onLine: () => {}, onExit: () => resolve(performance.now() - t0) }, (o) => {
      if ('error' in o) reject(new Error(o.error));
    });
  });
}

export async function spawnBench(opts: { trials: number }): Promise<Result[]> {
  if (process.getuid?.() !== 0) return []; // switching users needs root
  const times = CASES.map((): number[] => []);
  for (let t = 0; t < opts.trials; t++)
    for (const [i, [, runAs]] of CASES.entries()) (times[i] as number[]).push(await once(runAs));
  return CASES.map(([name], i) => ({
    bench: 'spawn',
    case: 'start /bin/true until it exits',
    impl: name,
    value: median(times[i] as number[]),
    unit: 'ms',
  }));
}
