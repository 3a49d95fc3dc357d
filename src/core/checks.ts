import { reclaimPid } from './missed-exit.js';
import { CHECK_DEFAULTS } from '../config/defaults.js';
import { envOf, runAsOf } from '../config/run-as.js';
import type { CheckDef } from '../config/types.js';
import type { CheckStarted, CheckStartFailed, Pid, TimerKey } from '../events/types.js';
import {
  addProc,
  armTimer,
  beginStop,
  type Ctx,
  cancelTimer,
  dropCheck,
  effect,
  recordIgnored,
  isStopping,
  knownGen,
  putCheck,
  record,
  replaceProc,
  stopTimerOf,
} from './context.js';
import { reapEffect, restartNow, startDependents } from './services.js';
import {
  type CheckEntry,
  type CheckStatus,
  isOrphan,
  START_PERIOD_AT_FIRST_RUN,
  withCheck,
} from './state.js';

export function newCheckStatus(
  name: string,
  def: CheckDef,
  defGen: number,
  carried?: CheckStatus,
): CheckStatus {
  return {
    name,
    def,
    defGen,
    removed: false,
    run: carried?.run ?? 0,
    inFlight: carried?.inFlight ?? null,
    healthy: null,
    successes: 0,
    failures: 0,
    lastResult: null,
    timer: null,
    paused: false,
    // A check of a service begins its start period when the service starts (startPeriodBegins).
    startPeriodFrom: def.startPeriodMs > 0 ? START_PERIOD_AT_FIRST_RUN : null,
  };
}

/**
 * A new incarnation of `service` runs: the checks reporting on it begin their start period
 * (Docker's --start-period, Kubernetes' startup probe): until it has passed or a run
 * succeeded, failures do not count toward `fall`, so they neither turn it unhealthy nor
 * restart the service.
 */
export function startPeriodBegins(ctx: Ctx, service: string): void {
  if (ctx.state.checks.size === 0) return;
  for (const chk of ctx.state.checks.values())
    if (!chk.removed && chk.def.startPeriodMs > 0 && reportsOn(chk.def) === service)
      putCheck(ctx, withCheck(chk, { startPeriodFrom: ctx.mono, failures: 0 }));
}

const reportsOn = (def: CheckDef): string | null => def.service ?? def.restartsService;

/** A failed run that started within the check's start period: it does not count. */
function inStartPeriod(chk: CheckStatus, startedMono: number): boolean {
  const from = chk.startPeriodFrom;
  return from !== null && from !== START_PERIOD_AT_FIRST_RUN && startedMono < from + chk.def.startPeriodMs;
}

function intervalTimer(ctx: Ctx, chk: CheckStatus): TimerKey {
  return { kind: 'check-interval', name: chk.name, gen: ctx.state.gen, run: chk.run + 1 };
}

/** Run the check now if no run of it is in flight, else skip; either way arm the next interval. */
export function runOrSkip(ctx: Ctx, chk: CheckStatus): void {
  if (chk.inFlight) {
    // keepalived: a script is not started again while the previous run is running or being killed.
    record(ctx, {
      type: 'check-skipped',
      name: chk.name,
      run: chk.run + 1,
      reason: `run ${chk.inFlight.run} is still in flight`,
    });
    const timer = intervalTimer(ctx, chk);
    putCheck(ctx, withCheck(chk, { timer }));
    armTimer(ctx, timer, ctx.mono + chk.def.intervalMs);
    return;
  }
  const run = chk.run + 1;
  const gen = ctx.state.gen;
  const { timeoutMs, killAfterMs, intervalMs } = chk.def;
  const inFlight = { run, gen, pid: null, timeoutMs, killAfterMs };
  const timer: TimerKey = { kind: 'check-interval', name: chk.name, gen, run: run + 1 };
  const startPeriodFrom =
    chk.startPeriodFrom === START_PERIOD_AT_FIRST_RUN && reportsOn(chk.def) === null
      ? ctx.mono
      : chk.startPeriodFrom;
  putCheck(ctx, withCheck(chk, { run, inFlight, timer, startPeriodFrom }));
  record(ctx, { type: 'check-run-requested', name: chk.name, gen, run });
  const { command, cwd, lastWords } = chk.def;
  const [env, runAs] = [envOf(chk.def), runAsOf(chk.def)];
  effect(ctx, { do: 'run-check', name: chk.name, gen, run, command, cwd, env, runAs, lastWords });
  armTimer(ctx, timer, ctx.mono + intervalMs);
}

export function onCheckStarted(ctx: Ctx, ev: CheckStarted): void {
  reclaimPid(ctx, ev.pid);
  const chk = ctx.state.checks.get(ev.name);
  const flight = chk?.inFlight;
  const current = flight != null && flight.run === ev.run && flight.gen === ev.gen && flight.pid === null;
  const entry: CheckEntry = {
    kind: 'check',
    name: ev.name,
    gen: knownGen(ctx, ev.gen),
    run: ev.run,
    startedMono: ctx.mono,
    startTime: ev.startTime,
    exe: ev.exe,
    deadline: ctx.mono + (current ? flight.timeoutMs : 0),
    killAfterMs: current ? flight.killAfterMs : CHECK_DEFAULTS.killAfterMs,
    timedOut: false,
    leaderExit: null,
  };
  addProc(ctx, ev.pid, entry);
  if (isOrphan(ctx.state, entry)) {
    // Started by a predecessor that died before it could say so: reap it like the others.
    record(ctx, { type: 'orphan-found', pid: ev.pid, name: ev.name, kind: 'check', startTime: ev.startTime });
    effect(ctx, reapEffect(ev.pid, entry));
    return;
  }
  if (!current || !chk) {
    recordIgnored(
      ctx,
      `check-started for ${ev.name} run ${ev.run} (gen ${ev.gen}) that the registry is not waiting for; stopping it`,
    );
    beginStop(ctx, ev.pid, entry, 'SIGTERM', entry.killAfterMs);
    return;
  }
  putCheck(ctx, withCheck(chk, { inFlight: { ...flight, pid: ev.pid } }));
  if (ctx.state.phase === 'stopping') {
    beginStop(ctx, ev.pid, entry, 'SIGTERM', entry.killAfterMs);
    return;
  }
  // The timeout is armed from the entry, not the config: a reload cannot make this run forgettable.
  armTimer(ctx, timeoutTimerOf(ev.pid, entry), entry.deadline);
}

export function timeoutTimerOf(pid: Pid, entry: CheckEntry): TimerKey {
  return { kind: 'check-timeout', name: entry.name, gen: entry.gen, run: entry.run, pid };
}

export function onCheckStartFailed(ctx: Ctx, ev: CheckStartFailed): void {
  const chk = ctx.state.checks.get(ev.name);
  const flight = chk?.inFlight;
  if (!chk || !flight || flight.run !== ev.run || flight.gen !== ev.gen || flight.pid !== null) {
    recordIgnored(
      ctx,
      `check-start-failed for ${ev.name} run ${ev.run} that the registry is not waiting for`,
    );
    return;
  }
  finishRun(ctx, chk, {
    run: ev.run,
    gen: ev.gen,
    pid: null,
    code: null,
    signal: null,
    timedOut: false,
    durationMs: 0,
  });
}

/** The check's deadline passed while its script still runs: SIGTERM to its group, SIGKILL later. */
export function onCheckTimeout(ctx: Ctx, pid: Pid, entry: CheckEntry): void {
  const timedOut: CheckEntry = { ...entry, timedOut: true };
  replaceProc(ctx, pid, timedOut);
  record(ctx, { type: 'check-timed-out', name: entry.name, gen: entry.gen, run: entry.run, pid });
  if (!isStopping(ctx, pid)) beginStop(ctx, pid, timedOut, 'SIGTERM', entry.killAfterMs);
}

/**
 * The script of a check run exited. Exactly one outcome per run, with the real exit status,
 * whether or not its timeout fired first (keepalived #2468: an exit racing a queued timeout).
 */
export function onCheckExit(
  ctx: Ctx,
  pid: Pid,
  entry: CheckEntry,
  wasStopping: boolean,
  code: number | null,
  signal: string | null,
): void {
  if (wasStopping) cancelTimer(ctx, stopTimerOf(pid, entry));
  // Still armed unless it fired, or a stop of the whole supervisor cancelled it.
  if (!entry.timedOut && (!wasStopping || entry.leaderExit !== null))
    cancelTimer(ctx, timeoutTimerOf(pid, entry));
  const chk = ctx.state.checks.get(entry.name);
  const result = {
    run: entry.run,
    gen: entry.gen,
    pid,
    code,
    signal,
    timedOut: entry.timedOut,
    durationMs: ctx.mono - entry.startedMono,
  };
  if (!chk || chk.inFlight?.pid !== pid || chk.inFlight.run !== entry.run) {
    record(ctx, {
      type: 'check-finished',
      name: entry.name,
      ...result,
      ok: !entry.timedOut && code === 0,
      stale: true,
    });
    return;
  }
  finishRun(ctx, chk, result);
}

interface RunOutcome {
  readonly run: number;
  readonly gen: number;
  readonly pid: number | null;
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

function finishRun(ctx: Ctx, chk: CheckStatus, r: RunOutcome): void {
  const ok = !r.timedOut && r.code === 0;
  // A run started under a definition that a reload has since removed or changed is not counted.
  const stale = chk.removed || r.gen < chk.defGen || ctx.state.phase === 'stopping';
  record(ctx, { type: 'check-finished', name: chk.name, ...r, ok, stale });
  const done: CheckStatus = withCheck(chk, { inFlight: null });
  if (chk.removed) {
    dropCheck(ctx, chk.name);
    return;
  }
  if (stale) {
    putCheck(ctx, done);
    return;
  }
  const lastResult = {
    run: r.run,
    ok,
    code: r.code,
    signal: r.signal,
    timedOut: r.timedOut,
    durationMs: r.durationMs,
    time: ctx.time,
  };
  // A failure within the start period is recorded and shown, but not counted; a success ends it.
  const uncounted = !ok && inStartPeriod(chk, ctx.mono - r.durationMs);
  const successes = ok ? done.successes + 1 : 0;
  const failures = ok || uncounted ? 0 : done.failures + 1;
  const startPeriodFrom = ok ? null : done.startPeriodFrom;
  let healthy = done.healthy;
  if (ok && healthy !== true && successes >= chk.def.rise) healthy = true;
  if (!ok && !uncounted && healthy !== false && failures >= chk.def.fall) healthy = false;
  putCheck(ctx, withCheck(done, { successes, failures, healthy, lastResult, startPeriodFrom }));
  if (healthy === done.healthy || healthy === null) return;
  record(ctx, { type: 'check-health-changed', name: chk.name, healthy });
  const reported = chk.def.service ?? chk.def.restartsService;
  if (healthy && reported !== null) startDependents(ctx, reported); // those waiting for it to be healthy
  if (healthy === false && chk.def.restartsService !== null) {
    const svc = ctx.state.services.get(chk.def.restartsService);
    if (svc && svc.desired === 'up') restartNow(ctx, svc, 'check-failed');
  }
}

/** Kill every check run in flight (supervisor stopping). */
export function stopCheckRuns(ctx: Ctx): void {
  for (const chk of ctx.state.checks.values()) {
    cancelTimer(ctx, chk.timer);
    if (chk.timer) putCheck(ctx, withCheck(chk, { timer: null }));
    const pid = chk.inFlight?.pid;
    if (pid == null || isStopping(ctx, pid)) continue;
    const entry = ctx.state.procs.get(pid);
    if (entry?.kind !== 'check') continue;
    if (!entry.timedOut) cancelTimer(ctx, timeoutTimerOf(pid, entry));
    beginStop(ctx, pid, entry, 'SIGTERM', entry.killAfterMs);
  }
}
