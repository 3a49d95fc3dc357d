// Operator actions on single services and checks (procreg start/stop/restart/signal), carried
// out on the running supervisor and followed to their outcome: the fold answers at once
// (done, already, unknown, refused); this waits for what "done" promised to happen.
import type { SignalName } from '../../config/types.js';
import type { ServiceStatus, State } from '../../core/state.js';
import type { Event, RequestAnswered } from '../../events/types.js';
import { formatUptime } from '../../report/durations.js';
import type { Observable } from '../rx.js';

export type OperateOp = 'start' | 'stop' | 'restart' | 'signal';

export interface OperateRequest {
  readonly op: OperateOp;
  /** Services (or, for start and stop, checks) to act on; signal takes exactly one. */
  readonly names: readonly string[];
  /** For signal: what to send. */
  readonly signal?: SignalName;
}

/**
 * How one name fared. done: it happened (or, for a service that waits for a dependency, it
 * will happen once that is met: `message` says so); already: nothing to do; unknown: no such
 * name (the message lists those there are); refused: procreg would not (e.g. it is stopping);
 * failed: it was tried and did not work (a start that exited at once, a signal that could not
 * be sent); timeout: the outcome did not come within the time allowed.
 */
export interface OperateResult {
  readonly name: string;
  readonly target: 'service' | 'check';
  readonly outcome: RequestAnswered['outcome'] | 'failed' | 'timeout';
  readonly message: string;
  /** seq of the request's input event in the log (null when it was never logged). */
  readonly seq: number | null;
}

/** What of the supervisor this needs (Supervisor has it all). */
export interface Operable {
  readonly events: Observable<Event>;
  readonly states: Observable<State>;
  startService(name: string, source?: string): Promise<RequestAnswered>;
  stopService(name: string, source?: string): Promise<RequestAnswered>;
  restartService(name: string, source?: string): Promise<RequestAnswered>;
  signalService(name: string, signal: SignalName, source?: string): Promise<RequestAnswered>;
  pauseCheck(name: string, source?: string): Promise<RequestAnswered>;
  resumeCheck(name: string, source?: string): Promise<RequestAnswered>;
}

export interface OperateOptions {
  /** Recorded as the source of each request: `socket` for the CLI, `api` for a program. */
  readonly source?: string;
  /** Added to a service's stopTimeout (stop, restart) or allowed on its own (start): default 10 s. */
  readonly marginMs?: number;
  /**
   * A started service must stay up this long to count as started (default 1 s, supervisord's
   * startsecs): one that exits at once is reported as failed, with how it exited.
   */
  readonly settleMs?: number;
}

const DEFAULT_MARGIN_MS = 10_000;
const DEFAULT_SETTLE_MS = 1000;

/** Carry out `req` on every name (at once, each its own input in the log); results in the order asked. */
export function operate(
  sup: Operable,
  req: OperateRequest,
  options: OperateOptions = {},
): Promise<OperateResult[]> {
  const names = [...new Set(req.names)];
  return Promise.all(names.map((name) => operateOne(sup, req, name, options)));
}

async function operateOne(
  sup: Operable,
  req: OperateRequest,
  name: string,
  options: OperateOptions,
): Promise<OperateResult> {
  const source = options.source ?? 'api';
  const margin = options.marginMs ?? DEFAULT_MARGIN_MS;
  const state = current(sup.states);
  const svc = live(state, name);
  const chk = state.checks.get(name);
  const target: OperateResult['target'] =
    !svc && chk && !chk.removed && (req.op === 'start' || req.op === 'stop') ? 'check' : 'service';
  // Everything logged from now on: an outcome may be logged before the answer is handed over.
  const seen: Event[] = [];
  const sub = sup.events.subscribe((e) => seen.push(e));
  try {
    const ans = await ask(sup, req, name, target, source);
    const seq = ans.ref > 0 ? ans.ref : null;
    const result = (outcome: OperateResult['outcome'], message: string): OperateResult => ({
      name,
      target,
      outcome,
      message,
      seq,
    });
    if (ans.outcome !== 'done' || target === 'check' || !svc) return result(ans.outcome, ans.message);
    // What the fold added to its answer ("it stays down until started again", "... reset").
    const note = ans.message.split('; ').slice(1).join('; ');
    const withNote = (m: string) => (note ? `${m}; ${note}` : m);
    const stopMs = svc.def.stopTimeoutMs + margin;
    switch (req.op) {
      case 'signal': {
        const sent = await firstEvent(
          sup.events,
          seen,
          (e): e is Extract<Event, { type: 'signal-sent' }> =>
            e.type === 'signal-sent' && e.seq > ans.ref && e.pid === svc.pid,
          margin,
        );
        if (!sent)
          return result(
            'timeout',
            `${name}: no word that ${req.signal} was sent within ${formatUptime(margin)}`,
          );
        if (sent.error !== null)
          return result(
            'failed',
            `${name}: ${sent.signal} could not be sent to process group ${sent.pid}: ${sent.error}`,
          );
        return result('done', `${name}: ${sent.signal} sent to process group ${sent.pid}`);
      }
      case 'stop': {
        const end = await firstState(sup.states, (s) => stoppedNow(s, name), stopMs);
        if (!end)
          return result('timeout', `${name}: still ${phaseOf(sup, name)} after ${formatUptime(stopMs)}`);
        return result('done', withNote(`${name}: ${end}`));
      }
      case 'start':
      case 'restart': {
        const within = (req.op === 'restart' || svc.phase === 'stopping' ? stopMs : 0) + margin;
        const end = await firstState(sup.states, (s) => startedNow(s, name, svc), within);
        if (!end)
          return result(
            'timeout',
            `${name}: not running after ${formatUptime(within)} (it is ${phaseOf(sup, name)})`,
          );
        if (!end.ok) return result('failed', end.text);
        if (end.pid === null) return result('done', withNote(end.text));
        // Up is not yet started: it must stay up a moment (a bad config of its own exits at once).
        const settle = options.settleMs ?? DEFAULT_SETTLE_MS;
        const ended = await firstState(sup.states, (s) => endedSince(s, name, end.pid as number), settle);
        return ended ? result('failed', ended) : result('done', withNote(end.text));
      }
    }
  } finally {
    sub.unsubscribe();
  }
}

function ask(
  sup: Operable,
  req: OperateRequest,
  name: string,
  target: OperateResult['target'],
  source: string,
): Promise<RequestAnswered> {
  switch (req.op) {
    case 'start':
      return target === 'check' ? sup.resumeCheck(name, source) : sup.startService(name, source);
    case 'stop':
      return target === 'check' ? sup.pauseCheck(name, source) : sup.stopService(name, source);
    case 'restart':
      return sup.restartService(name, source);
    case 'signal':
      return sup.signalService(name, req.signal ?? 'SIGTERM', source);
  }
}

function live(state: State, name: string): ServiceStatus | undefined {
  const svc = state.services.get(name);
  return svc && svc.desired !== 'removed' ? svc : undefined;
}

/** The service is down: how it ended, in words; undefined while it is not. */
function stoppedNow(s: State, name: string): string | undefined {
  const svc = s.services.get(name);
  if (!svc) return 'stopped (removed by a reload)';
  if (svc.pid !== null || (svc.phase !== 'stopped' && svc.phase !== 'given-up' && svc.phase !== 'failed'))
    return undefined;
  const x = svc.lastExit;
  if (!x || x.error !== null) return 'stopped';
  const how = x.signal !== null ? `signal ${x.signal}` : `code ${x.code}`;
  const up =
    svc.startedMono !== null && x.mono >= svc.startedMono
      ? ` after ${formatUptime(x.mono - svc.startedMono)}`
      : '';
  return `stopped (exited ${how}${up})`;
}

/**
 * A new incarnation runs (ok, with its pid), or waits for its dependencies (ok: it starts
 * when they are met), or ended already (not ok: how, and what procreg does next); undefined
 * until one of these holds.
 */
function startedNow(
  s: State,
  name: string,
  before: ServiceStatus,
): { ok: boolean; text: string; pid: number | null } | undefined {
  const svc = s.services.get(name);
  if (!svc || svc.desired === 'removed')
    return { ok: false, text: `${name}: removed by a reload meanwhile`, pid: null };
  if (svc.desired === 'down')
    return {
      ok: false,
      text: `${name}: stopped again meanwhile (${svc.reason ?? 'stop requested'})`,
      pid: null,
    };
  if (svc.phase === 'waiting')
    return { ok: true, text: `${name}: ${svc.reason ?? 'waiting'}; it starts once that is met`, pid: null };
  if (svc.incarnation <= before.incarnation) return undefined;
  if (svc.phase === 'running') return { ok: true, text: `${name}: running, pid ${svc.pid}`, pid: svc.pid };
  if (svc.phase === 'starting' || svc.phase === 'stopping') return undefined;
  return { ok: false, text: endedWords(svc), pid: null };
}

/** The incarnation with `pid` no longer runs: how it ended, in words; undefined while it runs. */
function endedSince(s: State, name: string, pid: number): string | undefined {
  const svc = s.services.get(name);
  if (!svc) return `${name}: removed by a reload meanwhile`;
  if (svc.pid === pid) return undefined; // running, or stopping with its exit still to come
  return endedWords(svc);
}

/** `web: exited code 1 right after it started; restarting after a backoff`. */
function endedWords(svc: ServiceStatus): string {
  const x = svc.lastExit;
  const how = !x
    ? 'ended'
    : x.error !== null
      ? x.error
      : `exited ${x.signal !== null ? `signal ${x.signal}` : `code ${x.code}`} right after it started`;
  const then =
    svc.phase === 'backoff'
      ? 'restarting after a backoff'
      : `now ${svc.phase}${svc.reason ? ` (${svc.reason})` : ''}`;
  return `${svc.name}: ${how}; ${then}`;
}

function phaseOf(sup: Operable, name: string): string {
  return current(sup.states).services.get(name)?.phase ?? 'gone';
}

/** The value a BehaviorSubject-like observable holds now. */
function current<T>(obs: Observable<T>): T {
  let v: T | undefined;
  obs.subscribe((x) => (v = x)).unsubscribe();
  if (v === undefined) throw new Error('the supervisor has no state to read');
  return v;
}

/** The first value `pick` returns for a state, now or later; null after `ms`. */
function firstState<T>(
  states: Observable<State>,
  pick: (s: State) => T | undefined,
  ms: number,
): Promise<T | null> {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => finish(null), ms);
    const finish = (v: T | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => sub?.unsubscribe());
      resolve(v);
    };
    const sub = states.subscribe((s) => {
      const v = pick(s);
      if (v !== undefined) finish(v);
    });
    if (done) sub.unsubscribe();
  });
}

/** The first event matching, among those already seen or those to come; null after `ms`. */
function firstEvent<E extends Event>(
  events: Observable<Event>,
  seen: readonly Event[],
  match: (e: Event) => e is E,
  ms: number,
): Promise<E | null> {
  const already = seen.find(match);
  if (already) return Promise.resolve(already);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      resolve(null);
    }, ms);
    const sub = events.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(e);
    });
  });
}
