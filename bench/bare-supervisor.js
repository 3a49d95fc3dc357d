// The physical limit for the restart and memory benchmarks: a bare Node supervisor that does
// nothing but respawn on `exit` and write a PID file with write + rename. No log, no registry,
// no config, no fsync, no checks: what procreg is measured against (issue 15).
//   node bench/bare-supervisor.js <dir> <count> <command> [args...]
// runs `count` copies of the command, each with its PID file <dir>/s<i>.pid; SIGTERM stops all.
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [dir, count, command, ...args] = process.argv.slice(2);
const children = new Set();
let stopping = false;
let spawns = 0;

function run(name) {
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  children.add(child);
  // With BARE_COUNT set, the spawn count every 20 spawns, for the bench (from here: in a storm
  // neither a timer nor a signal gets through in time, and libuv drops signals it cannot queue).
  if (++spawns % 20 === 0 && process.env.BARE_COUNT) writeSync(1, `${spawns}\n`);
  child.on('error', () => setTimeout(() => run(name), 10)); // e.g. EAGAIN under a storm: retry
  child.on('exit', () => {
    children.delete(child);
    if (!stopping) run(name);
  });
  if (child.pid === undefined) return; // not started: its 'error' retries
  const file = join(dir, `${name}.pid`);
  writeFileSync(`${file}.tmp`, `${child.pid}\n`);
  renameSync(`${file}.tmp`, file);
}

for (let i = 0; i < Number(count); i++) run(`s${i}`);
process.on('SIGTERM', () => {
  stopping = true;
  for (const c of children) c.kill('SIGKILL');
  process.exit(0);
});
