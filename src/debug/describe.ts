/**
 * Every event in plain words, one line each: `web #7 exited code 1 after 0.4s`. The words
 * come from the step (the registry before and after the event), so an `exited` says which
 * service and incarnation it was and how long it ran, a `restart-scheduled` says how many
 * restarts the window holds. Typed data first (EventLine); renderEventLine writes it.
 */
import { EVENT_KINDS, type Event, type EventType } from '../events/types.js';
import { clockTime, configDuration, duration, quote, type TimeStyle } from './format.js';
import { type LastWords, lastWordsOf } from './story.js';
import type { Step } from './walk.js';

/** One event as `events` shows it (and, with `event`, as `events --json` prints it). */
export interface EventLine {
  readonly seq: number;
  /** Wall time, epoch ms. */
  readonly time: number;
  readonly type: EventType;
  readonly kind: 'input' | 'outcome' | 'decision' | 'snapshot';
  readonly service: string | null;
  readonly check: string | null;
  /** Incarnation (service) or run (check), when the event is about one. */
  readonly serial: number | null;
  /** Generation in force after the event. */
  readonly gen: number;
  /** The words, subject first: `web #7 exited code 1 after 0.4s`. */
  readonly text: string;
  readonly lastWords: LastWords | null;
}

export function eventLine(s: Step): EventLine {
  const e = s.event;
  return {
    seq: e.seq,
    time: e.time,
    type: e.type,
    kind: EVENT_KINDS[e.type],
    service: s.service,
    check: s.check,
    serial: s.serial,
    gen: s.after.gen,
    text: describeStep(s),
    lastWords: e.type === 'exited' ? lastWordsOf(e) : null,
  };
}

/** `web #7`, `web_alive run 12`, `web`, `procreg`. */
export function subjectOf(s: Step): string {
  if (s.service !== null) return s.serial !== null && s.serial > 0 ? `${s.service} #${s.serial}` : s.service;
  if (s.check !== null) return s.serial !== null && s.serial > 0 ? `${s.check} run ${s.serial}` : s.check;
  return 'procreg';
}

const STOP_REASON: Record<string, string> = {
  requested: 'stop requested',
  'reload-removed': 'removed by a reload',
  'reload-changed': 'its definition changed in a reload',
  'check-failed': 'its check turned unhealthy',
  'supervisor-stopping': 'procreg is stopping',
  unwanted: 'not a process the registry wants',
  'leader-exited': 'its leader exited; the rest of its group is stopped',
};

const ORPHAN_OUTCOME: Record<string, string> = {
  signalled: 'still ours: sent its stop signal',
  gone: 'already gone',
  'not-ours': 'not the process procreg started: left alone',
  killed: 'killed',
  'pid-reused': 'PID reused by another process: left alone',
};

export function describeStep(s: Step): string {
  const e = s.event;
  const who = subjectOf(s);
  switch (e.type) {
    case 'supervisor-started': {
      const left = s.before.procs.size;
      return `procreg started (pid ${e.pid}, version ${e.version})${left > 0 ? `: ${left} process(es) of the previous procreg still registered` : ''}`;
    }
    case 'supervisor-stopping':
      return `procreg stopping (${e.reason})`;
    case 'supervisor-stopped':
      return 'procreg stopped';
    case 'config-loaded': {
      if (s.after.gen === s.before.gen)
        return `config from ${e.source} not applied (procreg is ${s.before.phase})`;
      const n = Object.keys(e.config.services).length;
      const c = Object.keys(e.config.checks).length;
      return `config loaded from ${e.source}: generation ${s.after.gen} (${n} service${n === 1 ? '' : 's'}, ${c} check${c === 1 ? '' : 's'})`;
    }
    case 'reload-requested':
      return `reload requested (${e.source})`;
    case 'reload-failed':
      return `reload failed, generation ${s.after.gen} stays: ${e.reason}`;
    case 'spawned':
      return `${who} started, pid ${e.pid} (gen ${e.gen})${s.orphan ? ', by the previous procreg' : ''}`;
    case 'spawn-failed':
      return `${who} could not start: ${e.error}`;
    case 'check-started':
      return `${who} started, pid ${e.pid}`;
    case 'check-start-failed':
      return `${who} could not start: ${e.error}`;
    case 'exited':
      return describeExit(s, e);
    case 'daemon-suspected':
      return `${who} main process ${e.pid} exited 0 after ${e.afterMs}ms leaving pid ${e.left.join(', ')} running${e.escaped ? ' outside its process group' : ''}: it looks like it daemonized itself`;
    case 'group-exited': {
      const entry = s.before.procs.get(e.pid);
      const how = entry?.leaderExit ? ` (its leader had exited ${exitWordsOf(entry.leaderExit)})` : '';
      return `${who} process group ${e.pid} is gone${how}`;
    }
    case 'timer-fired': {
      const t = e.timer;
      switch (t.kind) {
        case 'backoff':
          return `${t.name}: backoff over, restart as #${t.incarnation}`;
        case 'check-interval':
          return `${t.name}: interval elapsed, run ${t.run} due`;
        case 'check-timeout':
          return `${who}: deadline passed (pid ${t.pid})`;
        case 'stop-timeout':
          return `${who}: stop timeout over, SIGKILL to group ${t.pid}`;
      }
      return `${who}: timer fired`;
    }
    case 'stop-requested':
      return `${e.name}: ${e.target === 'check' ? 'pause' : 'stop'} requested (${e.source})`;
    case 'start-requested':
      return `${e.name}: ${e.target === 'check' ? 'resume' : 'start'} requested (${e.source})`;
    case 'restart-requested':
      return `${e.name}: restart requested (${e.source})`;
    case 'signal-requested':
      return `${e.name}: ${e.signal} requested (${e.source})`;
    case 'request-answered':
      return `request at seq ${e.ref} answered: ${e.outcome}, ${e.message}`;
    case 'log-gap':
      return `event log: seq ${e.fromSeq}-${e.toSeq} not in this file (${e.reason}${e.previous ? `; now ${e.previous}` : ''}); a snapshot follows`;
    case 'output-dropped':
      return `${droppedFrom(e.output)}: ${e.lines} line(s), ${e.bytes} bytes dropped while it did not drain`;
    case 'ship-gap':
      return `event log: seq ${e.fromSeq}-${e.toSeq} deleted before it was shipped (${e.bytes} bytes past ship.maxBacklog): not on the fleet's stream`;
    case 'segments-deleted':
      return `event log: retention deleted ${e.segments.map((x) => `${x.file} (seq ${x.firstSeq}-${x.lastSeq}, ${x.reason})`).join(', ')}`;
    case 'orphan-reaped':
      return `${who === 'procreg' ? `pid ${e.pid}` : `${who} (pid ${e.pid})`} of the previous procreg: ${ORPHAN_OUTCOME[e.outcome] ?? e.outcome}${e.detail ? ` (${e.detail})` : ''}`;
    case 'signal-sent':
      return `${e.signal} sent to ${who === 'procreg' ? 'group' : `${who}'s group`} ${e.pid}${e.error ? `: failed, ${e.error}` : ''}`;
    case 'pidfile-written':
      return `${who}: PID file ${e.path} ${e.error ? `not written: ${e.error}` : `written (${e.pid})`}`;
    case 'pidfile-removed': {
      const what: Record<string, string> = {
        removed: 'removed',
        'not-owner': 'kept: it names another PID',
        absent: 'already absent',
        error: `not removed: ${e.error ?? 'error'}`,
      };
      return `${who}: PID file ${e.path} ${what[e.outcome] ?? e.outcome}`;
    }
    case 'spawn-requested': {
      const why: Record<string, string> = {
        start: 'to start',
        restart: 'to start (restart)',
        reload: `to start (reload, gen ${e.gen})`,
        requested: 'to start (requested)',
        dependency: 'to start (a dependency was restarted)',
      };
      return `${e.name} #${e.incarnation} ${why[e.reason] ?? e.reason}`;
    }
    case 'restart-scheduled': {
      const svc = s.after.services.get(e.name);
      const window = svc
        ? `; ${svc.recentRestarts.length} of ${svc.def.maxRestarts.count} restarts within ${configDuration(svc.def.maxRestarts.withinMs)}`
        : '';
      return `${e.name}: restart as #${e.incarnation} in ${duration(e.delayMs)} (restart ${e.restarts}${window})`;
    }
    case 'service-given-up':
      return `${e.name} given up: more than ${s.after.services.get(e.name)?.def.maxRestarts.count ?? '?'} restarts within ${configDuration(e.withinMs)} (${e.restarts} restarts in all)`;
    case 'service-failed':
      return `${e.name} failed: ${e.reason}`;
    case 'stop-begun':
      return `${e.signal} to ${who}, pid ${e.pid}: ${STOP_REASON[e.reason] ?? e.reason}`;
    case 'check-run-requested':
      return `${who} requested (gen ${e.gen})`;
    case 'check-skipped':
      return `${who} skipped: ${e.reason}`;
    case 'check-timed-out': {
      const entry = s.after.procs.get(e.pid);
      const killAfter = entry?.kind === 'check' ? `, SIGKILL after ${configDuration(entry.killAfterMs)}` : '';
      return `${who} timed out: SIGTERM to its group${killAfter}`;
    }
    case 'check-finished':
      return describeCheckFinished(s, e);
    case 'check-health-changed': {
      const chk = s.after.checks.get(e.name);
      const streak = chk
        ? e.healthy
          ? ` (${chk.successes} success${chk.successes === 1 ? '' : 'es'} in a row, rise ${chk.def.rise})`
          : ` (${chk.failures} failure${chk.failures === 1 ? '' : 's'} in a row, fall ${chk.def.fall})`
        : '';
      const target = !e.healthy && chk?.def.restartsService ? `; restarts ${chk.def.restartsService}` : '';
      return `${e.name} turned ${e.healthy ? 'healthy' : 'unhealthy'}${streak}${target}`;
    }
    case 'reload-applied': {
      const parts: string[] = [];
      const say = (
        kind: string,
        d: { added: readonly string[]; removed: readonly string[]; changed: readonly string[] },
      ) => {
        if (d.added.length) parts.push(`${kind} added ${d.added.join(', ')}`);
        if (d.changed.length) parts.push(`${kind} changed ${d.changed.join(', ')}`);
        if (d.removed.length) parts.push(`${kind} removed ${d.removed.join(', ')}`);
      };
      say('services', e.services);
      say('checks', e.checks);
      return `generation ${e.gen} applied: ${parts.length ? parts.join('; ') : 'nothing changed'}`;
    }
    case 'reload-coalesced':
      return `reload request (${e.source}) folded into the load under way`;
    case 'reload-signalled':
      return `${e.name}: ${e.signal} sent to process group ${e.pid}, to re-read its own config (reload --services)`;
    case 'orphan-found':
      return `${e.name} pid ${e.pid} was left running by the previous procreg: to be reaped`;
    case 'orphan-forgotten':
      return `${e.name} pid ${e.pid} forgotten: ${e.reason}`;
    case 'event-ignored':
      return `seq ${e.ref} ignored: ${e.reason}`;
    case 'snapshot':
      return `snapshot of the registry (generation ${s.after.gen}, ${s.after.procs.size} process(es))`;
  }
}

function exitWordsOf(x: { code: number | null; signal: string | null }): string {
  return x.signal !== null ? `on ${x.signal}` : `with code ${x.code}`;
}

function describeExit(s: Step, e: Extract<Event, { type: 'exited' }>): string {
  const who = subjectOf(s);
  const entry = s.before.procs.get(e.pid);
  const how = e.signal !== null ? `killed by ${e.signal}` : `exited code ${e.code}`;
  if (!entry) return `pid ${e.pid} ${how} (not registered)`;
  let ran = '';
  if (entry.kind === 'check') ran = ` after ${duration(e.mono - entry.startedMono)}`;
  else {
    const svc = s.before.services.get(entry.name);
    if (svc?.pid === e.pid && svc.startedMono !== null) ran = ` after ${duration(e.mono - svc.startedMono)}`;
  }
  const stop = s.before.stopping.get(e.pid);
  const asked = stop ? ` (stopped with ${stop.signal})` : '';
  const orphan = entry.gen < s.before.instanceGen ? ' (a process of the previous procreg)' : '';
  const group = e.groupAlive && !orphan ? '; its group lives on and is being stopped' : '';
  const lw = lastWordsOf(e);
  return `${who} ${how}${ran}${asked}${orphan}${group}${lw ? ` (${lastWordsText(lw)})` : ''}`;
}

/** `stderr: "Error: listen EADDRINUSE :8080"`, or where the output file holds them. */
export function lastWordsText(lw: LastWords): string {
  if ('lines' in lw) {
    const lines = lw.lines.filter((l) => l.trim() !== '');
    if (lines.length === 0) return 'no last words';
    return `last words: ${quote(lines[lines.length - 1] as string)}${lines.length > 1 ? ` (+${lines.length - 1} line${lines.length > 2 ? 's' : ''} before)` : ''}`;
  }
  return `last words in ${lw.file} at byte ${lw.offset}`;
}

function describeCheckFinished(s: Step, e: Extract<Event, { type: 'check-finished' }>): string {
  const who = subjectOf(s);
  const took = `in ${duration(e.durationMs)}`;
  if (e.stale)
    return `${who} finished ${exitShort(e)} ${took}: stale (its definition was reloaded), not counted`;
  if (e.ok) return `${who} ok ${took}`;
  const chk = s.after.checks.get(e.name);
  const streak = chk
    ? ` (${chk.failures} failure${chk.failures === 1 ? '' : 's'} in a row, fall ${chk.def.fall})`
    : '';
  return `${who} ${e.timedOut ? 'timed out' : 'failed'}: ${exitShort(e)} ${took}${streak}`;
}

function exitShort(e: { code: number | null; signal: string | null; pid: number | null }): string {
  if (e.pid === null) return 'not started';
  return e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
}

export interface RenderOptions extends TimeStyle {
  /** Put `seq N` at the end of each line. */
  readonly seqs?: boolean;
}

/** `03:12:04.117 web #7 exited code 1 after 0.4s` (and its seq with `seqs`). */
export function renderEventLine(l: EventLine, opts: RenderOptions = {}): string {
  return `${clockTime(l.time, opts)} ${l.text}${opts.seqs ? `  [seq ${l.seq}]` : ''}`;
}

/** Whose output an output-dropped event is about. */
function droppedFrom(output: string): string {
  return output === 'procreg' ? "procreg's own log" : `${output}'s log file`;
}
