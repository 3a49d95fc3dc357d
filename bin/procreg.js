#!/usr/bin/env node
// `procreg run` must survive signals from its very first moment (a SIGHUP or SIGTERM during
// start-up is applied once the supervisor exists, never lost and never fatal), so they are
// caught here, before any module is loaded, and handed over to the run command.
const early = [];
if (process.argv[2] === 'run') {
  for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT']) process.on(s, () => early.push(s));
}
globalThis.procregEarlySignals = early;

const { main } = await import('../dist/cli/main.js');
main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`procreg: ${err?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
