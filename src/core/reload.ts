import type { CheckDef, NormalizedConfig, ServiceDef } from '../config/types.js';
import type { ConfigLoaded, Diff, ReloadFailed, ReloadRequested, ReloadRule } from '../events/types.js';
import { newCheckStatus, runOrSkip } from './checks.js';
import {
  armTimer,
  type Ctx,
  cancelTimer,
  dropCheck,
  effect,
  putCheck,
  putService,
  record,
  recordIgnored,
  replaceProc,
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
  // Names asked for by requests that coalesce are all signalled, once, by the load that follows.
  const asked = ev.services ?? [];
  if (asked.length > 0) ctx.state.reloadSignals = [...new Set([...ctx.state.reloadSignals, ...asked])].sort();
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
  // The running generation stays untouched; the reason is in the event itself. Nothing is
  // signalled either: a service is asked to re-read its own config with procreg's applied.
  if (ctx.state.reload !== 'loading-again') ctx.state.reloadSignals = [];
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

/** The rule this procreg applies a reload by, recorded on every config-loaded it writes. */
export const RELOAD_RULE: ReloadRule = 'policy-in-place';

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
  // A log from before the rule was recorded replays it from what it logged next (reload-rule.ts).
  applyReload(ctx, before, ev.config, gen, ev.reloadRule ?? 'policy-in-place');
  if (ctx.state.reload !== 'loading-again') sendReloadSignals(ctx);
  settleReload(ctx);
}

/**
 * `procreg reload --services nginx`: each named service the reload left running gets its
 * `reloadSignal` (to its process group, as an operator's signal), so it re-reads its own
 * config; one the reload restarts reads it anyway. What cannot be done is recorded.
 */
function sendReloadSignals(ctx: Ctx): void {
  const names = ctx.state.reloadSignals;
  if (names.length === 0) return;
  ctx.state.reloadSignals = [];
  for (const name of names) {
    const svc = ctx.state.services.get(name);
    const signal = svc?.def.reloadSignal ?? null;
    if (!svc) recordIgnored(ctx, `reload --services ${name}: no such service`);
    else if (signal === null) recordIgnored(ctx, `reload --services ${name}: it has no reloadSignal`);
    else if (svc.phase !== 'running' || svc.pid === null || svc.restartAfterExit !== null)
      recordIgnored(
        ctx,
        `reload --services ${name}: not signalled, it is ${svc.restartAfterExit ? 'restarting' : svc.phase}`,
      );
    else {
      record(ctx, { type: 'reload-signalled', pid: svc.pid, name, signal });
      effect(ctx, { do: 'signal-group', pid: svc.pid, signal });
    }
  }
}

/**
 * Fields of a service that only govern what procreg does around the process — how it
 * restarts, stops and waits for it — not the process itself: changing only these applies in
 * place to the running incarnation (nginx lost requests to a restart for a new stopTimeout).
 */
export const SERVICE_POLICY_FIELDS: ReadonlySet<string> = new Set([
  'restart',
  'backoff',
  'maxRestarts',
  'stopSignal',
  'stopTimeoutMs',
  'fatalExitCodes',
  'reloadSignal',
  'dependsOn',
]);
/** Likewise for a check: when and how often it runs, and what its result means. */
export const CHECK_POLICY_FIELDS: ReadonlySet<string> = new Set([
  'intervalMs',
  'startPeriodMs',
  'timeoutMs',
  'killAfterMs',
  'rise',
  'fall',
  'restartsService',
  'service',
]);

/** The top-level fields in which two definitions differ. */
export function changedFields(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

const onlyPolicy = (before: object, after: object, policy: ReadonlySet<string>): boolean =>
  changedFields(before, after).every((f) => policy.has(f));

/** Generation N+1 in one step: the diff decides what each service and check does next. */
function applyReload(
  ctx: Ctx,
  before: NormalizedConfig,
  after: NormalizedConfig,
  gen: number,
  rule: ReloadRule,
): void {
  const serviceDiff = diffDefs(before.services, after.services);
  const checkDiff = diffDefs(before.checks, after.checks);
  const inPlace = rule === 'policy-in-place';
  // A service given up or failed is started afresh by any change to it, as before.
  const servicesInPlace = serviceDiff.changed.filter((name) => {
    if (!inPlace) return false;
    const svc = ctx.state.services.get(name);
    const def = after.services[name];
    return (
      svc !== undefined &&
      def !== undefined &&
      svc.phase !== 'given-up' &&
      svc.phase !== 'failed' &&
      svc.desired !== 'removed' &&
      onlyPolicy(svc.def, def, SERVICE_POLICY_FIELDS)
    );
  });
  const checksInPlace = checkDiff.changed.filter((name) => {
    if (!inPlace) return false;
    const chk = ctx.state.checks.get(name);
    const def = after.checks[name];
    return (
      chk !== undefined && def !== undefined && !chk.removed && onlyPolicy(chk.def, def, CHECK_POLICY_FIELDS)
    );
  });
  const services = servicesInPlace.length > 0 ? { ...serviceDiff, inPlace: servicesInPlace } : serviceDiff;
  const checks = checksInPlace.length > 0 ? { ...checkDiff, inPlace: checksInPlace } : checkDiff;
  record(ctx, { type: 'reload-applied', gen, services, checks });
  for (const name of servicesInPlace) updateServiceInPlace(ctx, name, after.services[name] as ServiceDef);
  for (const name of checksInPlace) updateCheckInPlace(ctx, name, after.checks[name] as CheckDef);

  for (const name of services.removed) {
    const svc = ctx.state.services.get(name);
    if (svc) bringDown(ctx, svc, 'removed', 'reload-removed');
  }
  for (const name of [...services.added, ...services.changed]) {
    if (servicesInPlace.includes(name)) continue;
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
    if (checksInPlace.includes(name)) continue;
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

/**
 * A new policy for a service, its process untouched: its restart history carries on under
 * the new limits, and its running incarnation's entry — which its stop reads its signal and
 * timeout from — gets the new definition too.
 */
function updateServiceInPlace(ctx: Ctx, name: string, def: ServiceDef): void {
  const svc = ctx.state.services.get(name);
  if (!svc) return;
  putService(ctx, withService(svc, { def, defGen: ctx.state.gen }));
  const entry = svc.pid === null ? undefined : ctx.state.procs.get(svc.pid);
  if (svc.pid !== null && entry?.kind === 'service' && entry.def !== null && entry.name === name)
    replaceProc(ctx, svc.pid, { ...entry, def });
}

/**
 * A new interval, timeout, rise or fall for a check: its health and counters carry on, a
 * run in flight finishes under the timeout it started with (its entry holds it) and counts;
 * the next run is due one new interval from now.
 */
function updateCheckInPlace(ctx: Ctx, name: string, def: CheckDef): void {
  const chk = ctx.state.checks.get(name);
  if (!chk) return;
  const updated = withCheck(chk, { def });
  if (chk.timer === null) return putCheck(ctx, updated); // paused, or no run due
  cancelTimer(ctx, chk.timer);
  const timer = { kind: 'check-interval', name, gen: ctx.state.gen, run: chk.run + 1 } as const;
  putCheck(ctx, withCheck(updated, { timer }));
  armTimer(ctx, timer, ctx.mono + def.intervalMs);
}
