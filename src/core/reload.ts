import type { NormalizedConfig } from '../config/types.js';
import type { ConfigLoaded, Diff, ReloadFailed, ReloadRequested } from '../events/types.js';
import { newCheckStatus, runOrSkip } from './checks.js';
import {
  type Ctx,
  cancelTimer,
  dropCheck,
  effect,
  putCheck,
  putService,
  record,
  recordIgnored,
} from './context.js';
import { bringDown, newServiceStatus, requestSpawn, restartNow, tryStart } from './services.js';
import { withCheck, withService } from './state.js';

/** Names added, removed, changed and unchanged between two definition maps; definitions compare by value. */
export function diffDefs(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): Diff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const name of Object.keys(after)) {
    if (!Object.hasOwn(before, name)) added.push(name);
    else if (JSON.stringify(before[name]) === JSON.stringify(after[name])) unchanged.push(name);
    else changed.push(name);
  }
  for (const name of Object.keys(before)) if (!Object.hasOwn(after, name)) removed.push(name);
  return {
    added: added.sort(),
    removed: removed.sort(),
    changed: changed.sort(),
    unchanged: unchanged.sort(),
  };
}

export function onReloadRequested(ctx: Ctx, ev: ReloadRequested): void {
  if (ctx.state.phase !== 'running')
    return recordIgnored(ctx, `reload requested while the supervisor is ${ctx.state.phase}`);
  if (ctx.state.reload !== 'idle') {
    // A storm of requests collapses: at most one more load after the one under way.
    ctx.state.reload = 'loading-again';
    record(ctx, { type: 'reload-coalesced', source: ev.source });
    return;
  }
  ctx.state.reload = 'loading';
  effect(ctx, { do: 'load-config' });
}

export function onReloadFailed(ctx: Ctx, _ev: ReloadFailed): void {
  // The running generation stays untouched; the reason is in the event itself.
  settleReload(ctx);
}

function settleReload(ctx: Ctx): void {
  if (ctx.state.reload === 'loading-again') {
    ctx.state.reload = 'loading';
    effect(ctx, { do: 'load-config' });
  } else {
    ctx.state.reload = 'idle';
  }
}

/** A config to install becomes the next generation: the fold numbers it, the shell never does. */
export function onConfigLoaded(ctx: Ctx, ev: ConfigLoaded): void {
  const phase = ctx.state.phase;
  if (phase === 'stopping' || phase === 'stopped')
    return recordIgnored(ctx, `config loaded while the supervisor is ${phase}`);
  const gen = ctx.state.gen + 1;
  const before = ctx.state.config;
  ctx.state.gen = gen;
  ctx.state.config = ev.config;
  if (before === null) {
    ctx.state.phase = 'running';
    // Each starts unless something holds it back: a predecessor's process still being stopped
    // (two copies never run at once), or a dependency not started or healthy yet.
    for (const [name, def] of Object.entries(ev.config.services))
      requestSpawn(ctx, newServiceStatus(name, def, gen), 'start');
    for (const [name, def] of Object.entries(ev.config.checks))
      runOrSkip(ctx, newCheckStatus(name, def, gen));
    return;
  }
  applyReload(ctx, before, ev.config, gen);
  settleReload(ctx);
}

/** Generation N+1 in one step: the diff decides what each service and check does next. */
function applyReload(ctx: Ctx, before: NormalizedConfig, after: NormalizedConfig, gen: number): void {
  const services = diffDefs(before.services, after.services);
  const checks = diffDefs(before.checks, after.checks);
  record(ctx, { type: 'reload-applied', gen, services, checks });

  for (const name of services.removed) {
    const svc = ctx.state.services.get(name);
    if (svc) bringDown(ctx, svc, 'removed', 'reload-removed');
  }
  for (const name of [...services.added, ...services.changed]) {
    const def = after.services[name];
    if (!def) continue;
    const svc = ctx.state.services.get(name);
    if (!svc) {
      requestSpawn(ctx, newServiceStatus(name, def, gen), 'reload');
      continue;
    }
    // A new definition starts its restart history afresh; a removed one still draining comes back.
    const next = withService(svc, {
      def,
      defGen: gen,
      restarts: 0,
      recentRestarts: [],
      quickFailures: 0,
      // A changed definition is wanted up: also a service an operator stopped, or one draining
      // after a removal (a stop by the operator lasts until start, or a change of definition).
      desired: 'up',
    });
    if (next.desired === 'up') restartNow(ctx, next, 'reload');
    else putService(ctx, next);
  }

  for (const name of checks.removed) {
    const chk = ctx.state.checks.get(name);
    if (!chk) continue;
    cancelTimer(ctx, chk.timer);
    // A run still in flight stays in the tree and is still killed on timeout; its status waits for it.
    if (chk.inFlight) putCheck(ctx, withCheck(chk, { removed: true, timer: null }));
    else dropCheck(ctx, name);
  }
  for (const name of [...checks.added, ...checks.changed]) {
    const def = after.checks[name];
    if (!def) continue;
    const old = ctx.state.checks.get(name);
    if (old) cancelTimer(ctx, old.timer);
    // Counters carry over only for an identical definition (unchanged checks are not touched).
    runOrSkip(ctx, newCheckStatus(name, def, gen, old));
  }
  // The graph may have changed: what waited may start now, with the dependencies it has now.
  for (const svc of ctx.state.services.values()) if (svc.phase === 'waiting') tryStart(ctx, svc.name);
}
