// A reload asked over the control socket, answered by the supervisor's own events.
import type { Event } from '../../events/types.js';
import type { Observable } from '../rx.js';
import type { ReloadAnswer } from './server.js';

/** What a reload needs of the supervisor: its event stream, its phase, a way to push the request. */
export interface ReloadTarget {
  readonly events: Observable<Event>;
  phase(): string;
  request(source: string, services: readonly string[]): void;
}

/**
 * Push a `reload-requested` from `source` and resolve with its verdict, read from the events
 * the supervisor logs (no log file is polled): the generation `reload-applied` installs, or
 * the reason of `reload-failed`. A request that coalesces with a load already under way gets
 * the verdict of the load after that one (the one that reads the config as it is now). A
 * request the fold ignores, or one overtaken by a stop, is answered as refused or stopping;
 * no verdict within `timeoutMs` is said too.
 */
export function reloadVerdict(
  target: ReloadTarget,
  source: string,
  timeoutMs: number,
  services: readonly string[] = [],
): Promise<ReloadAnswer> {
  const phase = target.phase();
  if (phase !== 'running')
    return Promise.resolve({ ok: false, stopping: `procreg is ${phase}; the reload was not applied` });
  return new Promise((resolve) => {
    let mine: number | null = null;
    /** Verdicts that belong to loads under way before this request. */
    let skip = 0;
    let justAfter = false;
    let settled = false;
    const done = (a: ReloadAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(a);
    };
    const timer = setTimeout(
      () => done({ ok: false, error: `no verdict within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const sub = target.events.subscribe((e) => {
      if (mine === null) {
        if (e.type === 'reload-requested' && e.source === source) {
          mine = e.seq;
          justAfter = true;
        }
        return;
      }
      const first = justAfter;
      justAfter = false;
      // Only these events bear on the verdict; everything else the supervisor does meanwhile is not ours.
      if (e.type === 'reload-coalesced') {
        if (first) skip++;
      } else if (e.type === 'event-ignored') {
        if (e.ref === mine) done({ ok: false, refused: e.reason });
      } else if (e.type === 'supervisor-stopping') {
        done({ ok: false, stopping: `procreg began to stop (${e.reason}); the reload was not applied` });
      } else if (e.type === 'reload-applied' || e.type === 'reload-failed') {
        if (skip > 0) skip--;
        else done(e.type === 'reload-applied' ? { ok: true, gen: e.gen } : { ok: false, refused: e.reason });
      }
    });
    target.request(source, services);
  });
}
