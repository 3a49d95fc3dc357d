// What each signal means to `procreg run`, and the hand-over from bin/procreg.js's first line.

/**
 * stop: a clean stop (every service and check stopped, PID files removed, exit 0).
 * reload: re-read the config.
 * reserved: logged and otherwise ignored now; SIGUSR1 will reopen procreg-managed log files.
 * ignored: logged and ignored — their default action would kill procreg.
 */
export type SignalMeaning = 'stop' | 'reload' | 'reserved' | 'ignored';

/**
 * Every signal `procreg run` catches, from the first line of bin/procreg.js on (which holds
 * the same list: test/shell/cli/signals.test.ts reads SigCgt of a running procreg against
 * it). Not here, on purpose: SIGKILL and SIGSTOP (cannot be caught); SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL (a fault: Node's own handling); SIGPIPE (Node ignores it: a write to a closed pipe
 * fails with EPIPE instead); SIGCHLD, SIGCONT, SIGURG, SIGWINCH (ignored by default);
 * SIGTSTP, SIGTTIN, SIGTTOU (they stop, not kill: job control). The real-time signals 34-64
 * cannot be named to Node at all, and keep their default (terminate). Under `node --cpu-prof`
 * (or `--prof`) the bin leaves SIGPROF to V8's sampling profiler.
 */
export const RUN_SIGNALS = {
  SIGTERM: 'stop',
  SIGINT: 'stop',
  SIGQUIT: 'stop',
  SIGPWR: 'stop',
  SIGHUP: 'reload',
  SIGUSR1: 'reserved',
  SIGUSR2: 'reserved',
  SIGALRM: 'ignored',
  SIGVTALRM: 'ignored',
  SIGPROF: 'ignored',
  SIGXCPU: 'ignored',
  SIGXFSZ: 'ignored',
  SIGIO: 'ignored', // also SIGPOLL: the same signal
  SIGSTKFLT: 'ignored',
  SIGTRAP: 'ignored',
  SIGSYS: 'ignored',
  SIGABRT: 'ignored', // also SIGIOT; procreg's own abort() still aborts (abort restores the default)
} as const satisfies Record<string, SignalMeaning>;

export type RunSignal = keyof typeof RUN_SIGNALS;

/** Every other command catches only these, so that SIGUSR1 never opens Node's inspector. */
export const CLI_SIGNALS = ['SIGUSR1', 'SIGUSR2'] as const;

/** What bin/procreg.js puts on globalThis: signals queued until someone takes them over. */
interface EarlySignals {
  queue: string[];
  deliver: ((signal: string) => void) | null;
}

/**
 * From now on `deliver` handles every signal in RUN_SIGNALS; the ones caught since the first
 * line of bin/procreg.js come first, in order. Handlers are never removed: a signal between
 * the end of `procreg run` and the exit meets a handler, not the default action. Without
 * the bin (procreg used as a library), the handlers are installed here.
 */
export function takeOverSignals(deliver: (signal: RunSignal) => void): void {
  const g = globalThis as { procregSignals?: EarlySignals };
  let early = g.procregSignals;
  if (!early) {
    const router: EarlySignals = { queue: [], deliver: null };
    for (const s of Object.keys(RUN_SIGNALS))
      process.on(s, () => (router.deliver ? router.deliver(s) : router.queue.push(s)));
    g.procregSignals = router;
    early = router;
  }
  early.deliver = (s) => {
    if (Object.hasOwn(RUN_SIGNALS, s)) deliver(s as RunSignal);
  };
  for (const s of early.queue.splice(0)) early.deliver(s);
}
