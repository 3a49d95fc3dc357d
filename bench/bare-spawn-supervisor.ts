// The bare loop of bench/bare-supervisor.js, spawning as procreg does: through procreg's own
// spawnChild (src/shell/supervisor/children.ts) with the spec procreg gives a service that has
// no `stdout`/`stderr` file, no user and no limits — its own process group, the whole
// environment passed explicitly, and its stdout and stderr on two real pipes (FIFOs from the
// mkfifo pool) whose lines procreg reads. Nothing else: no event log, no fold, no script
// security, no identity reads, no procreg log; respawn on exit, write + rename the PID file.
// The restart bench's peer that tells output capture from procreg's bookkeeping (issue 15).
//   node dist-bench/bench/bare-spawn-supervisor.js <dir> <count> <command> [args...]
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAST_WORDS_DEFAULT } from '../src/config/types.js';
import { type ChildSpec, spawnChild } from '../src/shell/supervisor/children.js';

const [dir, count, ...command] = process.argv.slice(2) as [string, string, ...string[]];
const live = new Set<number>();
let stopping = false;

// procreg copies its environment for every spawn (run-as.ts launchOf); here once, as the
// spawn itself walks whichever object it gets.
const env = Object.fromEntries(
  Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined),
);
const spec: ChildSpec = {
  command,
  cwd: null,
  env,
  inheritEnv: false,
  wrapper: [],
  stdout: null,
  stderr: null,
  lastWords: LAST_WORDS_DEFAULT,
};

function run(name: string): void {
  let pid = 0;
  spawnChild(
    spec,
    {
      onLine: () => {}, // read and split, as procreg does, then dropped (procreg logs them)
      onExit: () => {
        live.delete(pid);
        if (!stopping) run(name);
      },
    },
    (started) => {
      if ('error' in started) {
        setTimeout(() => run(name), 10); // e.g. EAGAIN under a storm: retry
        return;
      }
      pid = started.pid;
      live.add(pid);
      const file = join(dir, `${name}.pid`);
      writeFileSync(`${file}.tmp`, `${pid}\n`);
      renameSync(`${file}.tmp`, file);
    },
  );
}

for (let i = 0; i < Number(count); i++) run(`s${i}`);
process.on('SIGTERM', () => {
  stopping = true;
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  process.exit(0);
});
