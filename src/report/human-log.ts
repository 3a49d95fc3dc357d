import { assertNever } from '../events/assert-never.js';
import type { EventBody, LogGap, OrphanReaped } from '../events/types.js';
import { daemonAdvice } from '../core/daemonized.js';
import type { State } from '../core/state.js';

export type LogLevel = 'info' | 'warn' | 'error';

/** One line of procreg's own log: level, the fields JSON consumers filter on, and the words. */
export interface LogLine {
  readonly level: LogLevel;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg: string;
}

const line = (level: LogLevel, fields: Record<string, unknown>, msg: string): LogLine => ({
  level,
  fields,
  msg,
});

function requestWords(
  e: Extract<
    EventBody,
    { type: 'stop-requested' | 'start-requested' | 'restart-requested' | 'signal-requested' }
  >,
): string {
  switch (e.type) {
    case 'stop-requested':
      return e.target === 'check' ? 'pause requested' : 'stop requested';
    case 'start-requested':
      return e.target === 'check' ? 'resume requested' : 'start requested';
    case 'restart-requested':
      return 'restart requested';
    case 'signal-requested':
      return `${e.signal} requested`;
    default:
      return assertNever(e);
  }
}

const ORPHAN_OUTCOME: Record<OrphanReaped['outcome'], string> = {
  signalled: 'left running by a previous procreg, sent its stop signal',
  gone: 'already gone',
  'not-ours': 'not the process procreg started, left alone',
  killed: 'killed',
  'pid-reused': 'PID reused by another process, left alone',
};

const RETENTION_REASON: Record<'segments' | 'maxBytes' | 'maxAge', string> = {
  segments: 'more segments than retain.segments',
  maxBytes: 'over retain.maxBytes',
  maxAge: 'older than retain.maxAge',
};

const GAP_REASON: Record<LogGap['reason'], string> = {
  'queue-overflow': 'lost: the log could not be written for longer than the in-memory queue holds',
  'log-replaced': 'are in the previous log file, which was moved away or deleted',
  'run-dir-removed': 'are in the previous log file: the runDir was removed and procreg re-created it',
};

/**
 * `cannot start: <why>`, said once: the shell's reasons already begin `cannot start node: ...`
 * when they name the program (never `cannot start: cannot start node: ...`).
 */
function startFailure(verb: string, error: string): string {
  return /^cannot (start|run)\b/.test(error) ? error : `${verb}: ${error}`;
}

/**
 * What a person watching the supervisor is told about an event, or null for nothing: each
 * start, exit, restart decision, give-up, health change, reload and failed reload. `before`
 * is the registry before the event was folded (an exit is described by what had exited).
 * Every event type is listed, so a new one makes the compiler ask whether people see it.
 */
export function describeEvent(e: EventBody, before: State): LogLine | null {
  switch (e.type) {
    case 'spawned':
      return line('info', { service: e.name, pid: e.pid }, `${e.name}: started, pid ${e.pid}`);
    case 'spawn-failed':
      return line('error', { service: e.name }, `${e.name}: ${startFailure('cannot start', e.error)}`);
    case 'check-start-failed':
      return line('error', { check: e.name }, `${e.name}: ${startFailure('cannot run', e.error)}`);
    case 'exited': {
      const entry = before.procs.get(e.pid);
      if (entry?.kind !== 'service') return null; // check runs end every interval: their verdicts are logged
      const how = e.signal !== null ? `killed by ${e.signal}` : `exited with code ${e.code}`;
      const expected = e.code === 0 || before.stopping.has(e.pid); // we asked it to stop
      return line(
        expected ? 'info' : 'warn',
        { service: entry.name, pid: e.pid, code: e.code, signal: e.signal },
        `${entry.name}: pid ${e.pid} ${how}`,
      );
    }
    case 'daemon-suspected': {
      const entry = before.procs.get(e.pid);
      if (entry?.kind !== 'service') return null;
      return line(
        'warn',
        { service: entry.name, pid: e.pid, left: e.left, escaped: e.escaped },
        `${entry.name}: ${daemonAdvice(e, e.left)}`,
      );
    }
    case 'reload-requested':
      return line('info', {}, `reload requested (${e.source})`);
    case 'reload-failed':
      return line('error', { reason: e.reason }, `reload failed, the running generation stays: ${e.reason}`);
    case 'orphan-reaped':
      return line(
        'warn',
        { pid: e.pid, outcome: e.outcome, detail: e.detail },
        `orphan pid ${e.pid}: ${ORPHAN_OUTCOME[e.outcome]}${e.detail ? ` (${e.detail})` : ''}`,
      );
    case 'orphan-forgotten':
      return line('warn', { pid: e.pid, name: e.name }, `${e.name}: pid ${e.pid} forgotten, ${e.reason}`);
    case 'restart-scheduled':
      return line(
        'info',
        { service: e.name, delayMs: e.delayMs, restarts: e.restarts },
        `${e.name}: restart in ${e.delayMs} ms`,
      );
    case 'service-given-up':
      return line(
        'error',
        { service: e.name, restarts: e.restarts },
        `${e.name}: given up after ${e.restarts} restarts`,
      );
    case 'service-failed':
      return line('error', { service: e.name, code: e.code }, `${e.name}: ${e.reason}`);
    case 'check-health-changed':
      return line(
        e.healthy ? 'info' : 'warn',
        { check: e.name },
        `${e.name}: ${e.healthy ? 'healthy' : 'unhealthy'}`,
      );
    case 'check-timed-out':
      return line('warn', { check: e.name, pid: e.pid }, `${e.name}: run ${e.run} timed out`);
    case 'stop-begun':
      return line(
        'info',
        { service: e.name, pid: e.pid, signal: e.signal },
        `${e.name}: ${e.signal} (${e.reason})`,
      );
    case 'reload-signalled':
      return line(
        'info',
        { service: e.name, pid: e.pid, signal: e.signal },
        `${e.name}: ${e.signal} sent to re-read its own config (reload --services)`,
      );
    case 'reload-applied':
      return line(
        'info',
        { gen: e.gen, services: e.services, checks: e.checks },
        `config generation ${e.gen} applied`,
      );
    case 'ship-gap':
      return line(
        'warn',
        { fromSeq: e.fromSeq, toSeq: e.toSeq, bytes: e.bytes },
        `event log: seq ${e.fromSeq}-${e.toSeq} (${e.bytes} bytes) deleted before the shipper shipped it (unshipped segments past ship.maxBacklog); they are not on the fleet's stream`,
      );
    case 'segments-deleted': {
      const n = e.segments.length;
      const bytes = e.segments.reduce((a, x) => a + x.bytes, 0);
      const first = e.segments[0];
      const last = e.segments[n - 1];
      return {
        level: 'info',
        fields: { segments: e.segments.map((x) => x.file) },
        msg: `event log: retention deleted ${n} old segment(s), seq ${first?.firstSeq}-${last?.lastSeq}, ${bytes} bytes (${[...new Set(e.segments.map((x) => RETENTION_REASON[x.reason]))].join(', ')})`,
      };
    }
    case 'output-dropped':
      return line(
        'warn',
        { output: e.output, dropped: e.lines, bytes: e.bytes, since: e.since },
        `${e.output === 'procreg' ? "procreg's own log" : `the log file of ${e.output}`}: ${e.lines} line(s) (${e.bytes} bytes) dropped since ${new Date(e.since).toISOString()} while it did not drain; supervision went on`,
      );
    case 'log-gap':
      return line(
        'warn',
        { fromSeq: e.fromSeq, toSeq: e.toSeq, reason: e.reason, previous: e.previous },
        `event log: seq ${e.fromSeq}-${e.toSeq} ${GAP_REASON[e.reason]}${e.previous ? ` (now ${e.previous})` : ''}; a snapshot of the registry follows`,
      );
    case 'orphan-found':
      return line(
        'warn',
        { pid: e.pid, name: e.name },
        `${e.name}: pid ${e.pid} left running by a previous procreg`,
      );
    case 'stop-requested':
    case 'start-requested':
      return line(
        'info',
        { [e.target]: e.name, source: e.source },
        `${e.name}: ${requestWords(e)} (${e.source})`,
      );
    case 'restart-requested':
    case 'signal-requested':
      return line(
        'info',
        { service: e.name, source: e.source },
        `${e.name}: ${requestWords(e)} (${e.source})`,
      );
    case 'request-answered':
      if (e.outcome === 'done') return null; // what it set under way says so itself
      return line(e.outcome === 'already' ? 'info' : 'warn', { ref: e.ref, outcome: e.outcome }, e.message);
    // Said by other lines already, or too frequent to be worth a line each.
    case 'supervisor-started':
    case 'supervisor-stopping':
    case 'supervisor-stopped':
    case 'config-loaded':
    case 'group-exited':
    case 'check-started':
    case 'timer-fired':
    case 'signal-sent':
    case 'pidfile-written':
    case 'pidfile-removed':
    case 'spawn-requested':
    case 'check-run-requested':
    case 'check-skipped':
    case 'check-finished':
    case 'reload-coalesced':
    case 'event-ignored':
    case 'snapshot':
      return null;
    default:
      return assertNever(e);
  }
}
