import { formatConfigDuration } from '../config/duration.js';
import type { RegistryView } from '../core/view.js';
import { formatUptime } from './durations.js';

/**
 * What `procreg status` adds to the registry: per service, what it is waiting for, in words,
 * and the figures relative to now (uptime, restarts still in the window, time to the next
 * start). Pure: "now" is given — the supervisor's wall and monotonic clocks when it answered
 * (`status`), or the last event of a log (`replay`; its monotonic time may be unknown).
 */
export interface StatusAt {
  readonly time: number;
  readonly mono: number | null;
}

export interface TimeStyle {
  readonly utc?: boolean;
}

type ServiceView = RegistryView['services'][number];

export interface ExplainedService extends ServiceView {
  /** How long the current incarnation has run, or null without one. */
  readonly uptimeMs: number | null;
  /** Restarts within the maxRestarts window as of now. */
  readonly restartsInWindow: number;
  /** In backoff: how long until the next start (0 when overdue); null otherwise or when unknown. */
  readonly nextStartInMs: number | null;
  /** What it is waiting for or why it is down, in words; '' for a service that simply runs. */
  readonly why: string;
}

export interface ExplainedView extends Omit<RegistryView, 'services'> {
  readonly services: readonly ExplainedService[];
  readonly at: StatusAt;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `14:02:05`, local or UTC. */
export function clockSeconds(ms: number, style: TimeStyle = {}): string {
  const d = new Date(ms);
  const [h, m, s] = style.utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${two(h)}:${two(m)}:${two(s)}`;
}

export function explainView(v: RegistryView, at: StatusAt, style: TimeStyle = {}): ExplainedView {
  return { ...v, at, services: v.services.map((s) => explainService(s, at, style)) };
}

export function explainService(s: ServiceView, at: StatusAt, style: TimeStyle = {}): ExplainedService {
  const { recent, withinMs } = s.restartWindow;
  const restartsInWindow =
    at.mono === null ? recent.length : recent.filter((t) => t > (at.mono as number) - withinMs).length;
  const nextStartInMs =
    s.nextStartMono === null || at.mono === null ? null : Math.max(0, s.nextStartMono - at.mono);
  const uptimeMs = s.pid !== null && s.startedAt !== null ? Math.max(0, at.time - s.startedAt) : null;
  return { ...s, uptimeMs, restartsInWindow, nextStartInMs, why: whyOf(s, nextStartInMs, style) };
}

/** `backoff, next start in 4.0s`, `given up: 11 restarts within 60s`, `stopped by operator (socket) at 14:02:05`. */
function whyOf(s: ServiceView, nextStartInMs: number | null, style: TimeStyle): string {
  if (s.desired === 'removed') return 'removed by a reload';
  switch (s.state) {
    case 'backoff':
      return nextStartInMs === null ? 'backoff' : `backoff, next start in ${formatUptime(nextStartInMs)}`;
    case 'given-up': {
      const { max, withinMs } = s.restartWindow;
      return `given up: ${max + 1} restarts within ${formatConfigDuration(withinMs)}; procreg start revives it`;
    }
    case 'waiting':
      return s.reason ?? 'waiting';
    case 'stopped':
      if (s.desired === 'down')
        return `${s.reason ?? 'stopped by operator'} at ${clockSeconds(s.since, style)}`;
      return s.reason ?? '';
    case 'failed':
      return s.reason ?? '';
    case 'stopping':
      return s.desired === 'down' ? `stopping: ${s.reason ?? 'stop requested'}` : 'stopping';
    case 'starting':
    case 'running':
      return s.desired === 'down' ? 'stops once started' : '';
  }
}

/** `code 1 at 14:02:11 after 1.2s`, `SIGKILL at ...`, `cannot start nod: not found (ENOENT) at ...`. */
export function lastExitWords(x: ServiceView['lastExit'], style: TimeStyle = {}): string {
  if (!x) return '-';
  const when = `at ${clockSeconds(x.time, style)}`;
  if (x.error !== null) return `${x.error} ${when}`;
  const how = x.signal !== null ? x.signal : `code ${x.code}`;
  return x.uptimeMs === null ? `${how} ${when}` : `${how} ${when} after ${formatUptime(x.uptimeMs)}`;
}

/** `7 in 60s of 10`, with the total when it differs: `7 in 60s of 10 (12 in all)`. */
export function restartWords(s: ExplainedService): string {
  const { max, withinMs } = s.restartWindow;
  const window = `${s.restartsInWindow} in ${formatConfigDuration(withinMs)} of ${max}`;
  return s.restarts === s.restartsInWindow ? window : `${window} (${s.restarts} in all)`;
}
