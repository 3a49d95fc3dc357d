#!/usr/bin/env node
const early = (globalThis.procregSignals = { queue: [], deliver: null });
for (const s of process.argv[2] === 'run'
  ? [
      'SIGTERM',
      'SIGINT',
      'SIGQUIT',
      'SIGPWR',
      'SIGHUP',
      'SIGUSR1',
      'SIGUSR2',
      'SIGALRM',
      'SIGVTALRM',
      // V8's CPU profiler samples with SIGPROF: under `node --cpu-prof` it is V8's, not ours.
      ...(process.execArgv.some((a) => a.startsWith('--cpu-prof') || a === '--prof') ? [] : ['SIGPROF']),
      'SIGXCPU',
      'SIGXFSZ',
      'SIGIO',
      'SIGSTKFLT',
      'SIGTRAP',
      'SIGSYS',
      'SIGABRT',
    ]
  : ['SIGUSR1', 'SIGUSR2'])
  process.on(s, () => (early.deliver ? early.deliver(s) : early.queue.length < 256 && early.queue.push(s)));
// Those first lines catch signals before anything else runs: before any module is loaded.
// - SIGUSR1 would otherwise open Node's inspector on 127.0.0.1:9229, a debugger port into a
//   process that runs as root; with a handler installed, Node never opens it. Every command
//   catches SIGUSR1 and SIGUSR2 (ignored outside `run`).
// - `procreg run` catches every signal whose default would kill it (src/shell/cli/signals.ts
//   lists them and what each means): one arriving while procreg starts up is queued here and
//   handed to the run command, which applies it as soon as it can — a stop abandons the
//   start-up — never lost and never fatal. The handlers stay installed until the exit.

if (process.argv[2] === 'run') {
  // The supervisor is long-lived and allocates little once running: keep V8's young
  // generation at its initial size instead of letting the start-up burst grow it for good.
  // About 5 MB less resident memory, and a smaller process is also faster to fork a child
  // from. (V8 reads this flag each time it would grow the space, so setting it now works.)
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // No optimizing compiler (TurboFan) during the start-up burst: what it compiles there (the
  // config's parse and validation, the first spawns) runs once, but its compile jobs leave
  // 4-8 MB in malloc arenas of V8's threads and page in the compiler's code, for good. The
  // run command turns it back on once procreg runs (src/shell/cli/run-command.ts).
  v8.setFlagsFromString('--no-turbofan');
  // And what ran only at start-up (the config's parse and validation, the command line's
  // parser) is dropped by the next full GCs: V8 flushes the bytecode and baseline code of a
  // function not run since the last full GC (default: 5 GCs, which an idle procreg never
  // reaches). Such a function is compiled again if it runs again (a reload). About 2-6 MB.
  v8.setFlagsFromString('--bytecode-old-age=1');
  v8.setFlagsFromString('--flush-baseline-code');
}

// A closed stdout or stderr (`procreg status ... | head -1`) is no error of procreg's: what
// would have been written is dropped, and the command ends with its own exit code.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

// `run` loads the supervisor as one bundled file (scripts/bundle-run.js, made by `npm run
// build`) instead of its ~140 modules one by one: no module records, no CommonJS loader, and
// its source one-byte text (BENCHMARKS.md, "Supervisor memory (rss helper)"). A bundle older
// than dist/ (tsc run alone since) would run stale code: then the modules themselves load.
let entry = '../dist/shell/cli/main.js';
if (process.argv[2] === 'run') {
  const { statSync } = await import('node:fs');
  const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime('../dist/shell/cli/run.bundle.js') >= mtime(entry)) entry = '../dist/shell/cli/run.bundle.js';
}
const { main } = await import(entry);
const code = await main(process.argv).catch((err) => {
  try {
    process.stderr.write(`procreg: internal error: ${err?.stack ?? err}\n`);
  } catch {
    // stderr is gone too
  }
  return 70;
});
process.exitCode = code;
if (process.argv[2] === 'run') {
  // Everything is closed by now and the process ends by itself. Should anything still be
  // open (a bug), the supervisor has stopped everything it ran: end anyway, and say so.
  setTimeout(() => {
    try {
      process.stderr.write('procreg: handles still open after the stop; exiting anyway\n');
    } catch {
      // stderr is gone
    }
    process.exit(code);
  }, 2000).unref();
}
