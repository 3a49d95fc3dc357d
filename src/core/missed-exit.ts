import type { Pid } from '../events/types.js';
import { onCheckExit } from './checks.js';
import { type Ctx, recordIgnored, removeProc } from './context.js';
import { onServiceExit } from './services.js';
import { isOrphan } from './state.js';
import { orphanGone } from './supervisor.js';

/**
 * A new process is reported with a PID the tree still holds: the kernel reuses a PID only
 * once its process is gone, so that one ended without its exit being seen. Finish with it as
 * if it had exited, status unknown, before the new process is registered.
 */
export function reclaimPid(ctx: Ctx, pid: Pid): void {
  const old = ctx.state.procs.get(pid);
  if (!old) return;
  recordIgnored(
    ctx,
    `pid ${pid} was still registered to ${old.kind} ${old.name}; that process is gone (PID reused)`,
  );
  if (isOrphan(ctx.state, old)) return orphanGone(ctx, pid);
  const { wasStopping } = removeProc(ctx, pid) as { wasStopping: boolean };
  if (old.kind === 'service')
    onServiceExit(ctx, pid, old, wasStopping, { code: null, signal: null, lastWords: null });
  else onCheckExit(ctx, pid, old, wasStopping, null, null);
}
