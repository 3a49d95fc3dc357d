import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { stamp } from '../../../src/events/codec.js';
import type { Event, EventBody } from '../../../src/events/types.js';
import { reloadVerdict } from '../../../src/shell/control/reload-verdict.js';
import { makeConfig } from '../../support/configs.js';

const applied = (gen: number): EventBody => ({
  type: 'reload-applied',
  gen,
  services: { added: [], removed: [], changed: [], unchanged: [] },
  checks: { added: [], removed: [], changed: [], unchanged: [] },
});

/** A supervisor stand-in: its events are what `script` emits when the request is pushed. */
function target(script: (emit: (b: EventBody) => void, source: string) => void, phase = 'running') {
  const events = new Subject<Event>();
  let seq = 10;
  const emit = (b: EventBody) => events.next(stamp(b, ++seq, 0, 0));
  return { events, phase: () => phase, request: (source: string) => script(emit, source), emit };
}

describe('reloadVerdict', () => {
  it('part 3: answers with the generation the reload applied, read from the supervisor events', async () => {
    const t = target((emit, source) => {
      emit({ type: 'reload-requested', source });
      emit({ type: 'config-loaded', source: '/etc/app.yaml', config: makeConfig({ services: {} }) });
      emit(applied(3));
    });
    await expect(reloadVerdict(t, 'procreg reload', 1000)).resolves.toEqual({ ok: true, gen: 3 });
  });

  it('part 3: answers with the reason a config was refused', async () => {
    const t = target((emit, source) => {
      emit({ type: 'reload-requested', source });
      emit({ type: 'reload-failed', reason: 'app.yaml: services.web.restart: must be one of ...' });
    });
    await expect(reloadVerdict(t, 'procreg reload', 1000)).resolves.toEqual({
      ok: false,
      refused: 'app.yaml: services.web.restart: must be one of ...',
    });
  });

  it('skips verdicts of requests made before it, and of the load under way when it coalesced', async () => {
    let later: () => void = () => {};
    const t = target((emit, source) => {
      emit({ type: 'reload-failed', reason: 'an earlier verdict' }); // before this request
      emit({ type: 'reload-requested', source });
      emit({ type: 'reload-coalesced', source });
      emit({ type: 'reload-failed', reason: 'the load under way, of the file as it was' });
      later = () => emit(applied(5)); // the load this request is answered by
    });
    const verdict = reloadVerdict(t, 'procreg reload', 1000);
    let settled = false;
    void verdict.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    later();
    await expect(verdict).resolves.toEqual({ ok: true, gen: 5 });
  });

  it('part 4: says at once that procreg is stopping, and also when a stop overtakes the reload', async () => {
    let asked = 0;
    const stopping = target(() => asked++, 'stopping');
    await expect(reloadVerdict(stopping, 'procreg reload', 1000)).resolves.toEqual({
      ok: false,
      stopping: 'procreg is stopping; the reload was not applied',
    });
    expect(asked).toBe(0); // nothing was pushed
    const overtaken = target((emit, source) => {
      emit({ type: 'reload-requested', source });
      emit({ type: 'supervisor-stopping', reason: 'SIGTERM' });
    });
    await expect(reloadVerdict(overtaken, 'procreg reload', 1000)).resolves.toEqual({
      ok: false,
      stopping: 'procreg began to stop (SIGTERM); the reload was not applied',
    });
  });

  it('answers a request the fold ignored with its reason, and no verdict with the timeout', async () => {
    const ignored = target((emit, source) => {
      emit({ type: 'reload-requested', source });
      emit({ type: 'event-ignored', ref: 11, reason: 'reload requested while the supervisor is idle' });
    });
    await expect(reloadVerdict(ignored, 'procreg reload', 1000)).resolves.toEqual({
      ok: false,
      refused: 'reload requested while the supervisor is idle',
    });
    const silent = target((emit, source) => emit({ type: 'reload-requested', source }));
    await expect(reloadVerdict(silent, 'procreg reload', 30)).resolves.toEqual({
      ok: false,
      error: 'no verdict within 30 ms',
    });
  });
});
