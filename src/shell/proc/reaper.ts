// procreg as PID 1 (a container's init, `unshare --pid`): every orphan in the PID namespace
// is re-parented to it, and nobody else will reap them. Node reaps only the children it
// spawned (libuv waits for each by its PID), so without this their zombies pile up until the
// PID table is full. Node has no waitpid(-1); koffi (FFI, prebuilt) calls libc's.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ownChildren } from './own-children.js';
import { readProcStat } from './proc-stat.js';

const WNOHANG = 1;

type WaitPid = (pid: number, status: [number], options: number) => number;

export interface OrphanReaper {
  /** Orphans reaped so far. */
  readonly reaped: () => number;
  /** Reap every zombie child that is not one of Node's own, now. */
  readonly sweep: () => number;
  readonly stop: () => void;
}

export type ReaperStart =
  { readonly ok: true; readonly reaper: OrphanReaper } | { readonly ok: false; readonly why: string };

/** libc's waitpid through koffi, or why it cannot be had. */
function loadWaitPid(): WaitPid | string {
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(decl: string): (...args: unknown[]) => unknown };
    };
    const libc = koffi.load('libc.so.6');
    return libc.func('int waitpid(int pid, _Out_ int *status, int options)') as WaitPid;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Start reaping orphans: at every SIGCHLD and every `everyMs` (a SIGCHLD can be coalesced),
 * each zombie whose parent is this process and that Node did not spawn itself is reaped by
 * its PID — never waitpid(-1), which would take the exit of a service from Node.
 */
export function startOrphanReaper(everyMs = 1000): ReaperStart {
  const waitpid = loadWaitPid();
  if (typeof waitpid === 'string') return { ok: false, why: `cannot call waitpid: ${waitpid}` };
  let reaped = 0;
  const sweep = (): number => {
    let n = 0;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return 0;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if (ownChildren.has(pid)) continue;
      const st = readProcStat(pid);
      if (st?.state !== 'Z' || st.ppid !== process.pid) continue;
      if (waitpid(pid, [0], WNOHANG) === pid) n++;
    }
    reaped += n;
    return n;
  };
  let queued = false;
  const onChild = () => {
    if (queued) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      sweep();
    });
  };
  process.on('SIGCHLD', onChild);
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return {
    ok: true,
    reaper: {
      reaped: () => reaped,
      sweep,
      stop: () => {
        clearInterval(timer);
        process.off('SIGCHLD', onChild);
      },
    },
  };
}
