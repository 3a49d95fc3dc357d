import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { LogFormat } from '../logger.js';
import { processIO, writeTo } from './io.js';

// Each command loads its own modules when it runs: the long-lived `run` keeps none it does
// not use resident (and the short ones start faster).

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** `--timeout`: a whole number of milliseconds, at least 1. */
function parseTimeout(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(
      `must be a whole number of milliseconds, at least 1, got ${JSON.stringify(value)}`,
    );
  return n;
}

const timeoutOption = () =>
  new Option('--timeout <ms>', 'how long to wait for each answer of the supervisor')
    .argParser(parseTimeout)
    .default(10_000);
const runDirOption = () =>
  new Option('--run-dir <dir>', 'the runDir of the supervisor, instead of a config file');

/**
 * Exit codes, for every command: 0 ok; 1 the operation failed or was refused; 2 usage or
 * config error (never with a stack trace); 3 no supervisor running (status, stop, reload);
 * 70 internal error (bin/procreg.js prints the stack: a bug to report).
 */
export async function main(argv: string[]): Promise<number> {
  const io = processIO();
  let code = 0;
  const program = new Command('procreg')
    .description('Event-sourced process registry and supervisor')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => writeTo(process.stdout, s),
      writeErr: (s) => writeTo(process.stderr, s),
    });
  program
    .command('replay')
    .description('rebuild the registry at the end of an event log, without executing anything')
    .argument(
      '<log>',
      'event log: its live segment, one of its closed segments, the directory holding them, or a config (its event log); every kept segment is read, in order',
    )
    .option('--json', 'print the registry as JSON (same shape as status --json)')
    .option('--from-snapshot', 'start at the newest snapshot instead of the oldest kept segment (fast)')
    .option(
      '--check',
      're-verify every invariant after every event and every logged decision; exit 1 on the first violations',
    )
    .option(
      '--until <point>',
      'the registry as it was at a seq, gen:N, or a time (ISO 8601, or relative: -90s)',
    )
    .option(
      '--at <time>',
      'the registry as it was at a time (ISO 8601, or relative: -10m); or a seq or gen:N',
    )
    .option('--utc', 'show times in UTC')
    .action(
      async (
        log: string,
        opts: {
          json?: boolean;
          check?: boolean;
          until?: string;
          at?: string;
          utc?: boolean;
          fromSnapshot?: boolean;
        },
      ) => {
        code = await (await import('./replay-command.js')).replayCommand(log, opts, io);
      },
    );
  program
    .command('run')
    .description(
      'run the supervisor in the foreground: SIGHUP reloads, SIGTERM/SIGINT stop everything and exit 0',
    )
    .argument('<config>', 'config file (YAML or JSON)')
    .addOption(
      new Option(
        '--log-format <format>',
        'human log on stdout: pretty when stdout is a terminal, else JSON lines',
      )
        .choices(['auto', 'json', 'pretty'])
        .default('auto'),
    )
    .action(async (config: string, opts: { logFormat: LogFormat }) => {
      code = await (await import('./run-command.js')).runCommand(config, pkg.version, io, opts.logFormat);
    });
  program
    .command('status')
    .description(
      'the live registry, asked of the running supervisor over <runDir>/procreg.sock; exit 3 if none runs',
    )
    .argument('[config]', 'config file of the running supervisor (only its runDir is read)')
    .addOption(runDirOption())
    .option('--json', 'one JSON object: seq, generation, services, checks, processes')
    .addOption(timeoutOption())
    .action(
      async (config: string | undefined, opts: { json?: boolean; runDir?: string; timeout: number }) => {
        code = await (
          await import('./control-commands.js')
        ).statusCommand({ config, runDir: opts.runDir }, opts.json ?? false, io, { timeoutMs: opts.timeout });
      },
    );
  program
    .command('reload')
    .description(
      'make the running supervisor re-read its config: exit 0 with the new generation, 1 with the reason it was refused, 3 if none runs',
    )
    .argument(
      '[config]',
      'config file of the running supervisor (validated first: an invalid one is not sent)',
    )
    .addOption(runDirOption())
    .addOption(timeoutOption())
    .option(
      '--services <names>',
      'also send these services (comma-separated) their reloadSignal once the config is applied, so they re-read their own config',
    )
    .action(
      async (config: string | undefined, opts: { runDir?: string; timeout: number; services?: string }) => {
        const services = (opts.services ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        code = await (
          await import('./control-commands.js')
        ).reloadCommand({ config, runDir: opts.runDir }, io, { timeoutMs: opts.timeout, services });
      },
    );
  program
    .command('stop')
    .description(
      'stop the running supervisor and everything it runs; waits until it has exited; exit 3 if none runs',
    )
    .argument('[config]', 'config file of the running supervisor (only its runDir is read)')
    .addOption(runDirOption())
    .addOption(timeoutOption())
    .action(async (config: string | undefined, opts: { runDir?: string; timeout: number }) => {
      code = await (
        await import('./control-commands.js')
      ).stopCommand({ config, runDir: opts.runDir }, io, { timeoutMs: opts.timeout });
    });
  program
    .command('validate')
    .description('check a config file; exit 0, or exit 2 listing every error found')
    .argument('<config>', 'config file (YAML or JSON)')
    .action(async (config: string) => {
      code = (await import('./validate-command.js')).validateCommand(config, io);
    });
  program
    .command('logs')
    .description(
      "a service's log file (its `log:`): the last lines, then with -f what it appends, across rotations",
    )
    .argument('<config>', 'config file (YAML or JSON)')
    .argument('<service>', 'service name')
    .option('-n, --lines <n>', 'how many of the last lines to print', '100')
    .option('-f, --follow', 'keep printing what is appended, until Ctrl-C')
    .action(async (config: string, service: string, opts: { lines: string; follow?: boolean }) => {
      const lines = Number(opts.lines);
      if (!Number.isSafeInteger(lines) || lines < 0) {
        io.err(`procreg logs: -n must be a non-negative integer, got ${JSON.stringify(opts.lines)}`);
        code = 2;
        return;
      }
      code = await (
        await import('./logs-command.js')
      ).logsCommand(config, service, io, { lines, follow: opts.follow ?? false });
    });
  // Debugging from the event log: events, history, why, diff, timeline.
  const many = (v: string, prev: string[]) => [...prev, v];
  const LOG = 'event log (JSONL), a directory holding events.jsonl, or a config (its event log)';
  program
    .command('events')
    .description('the events of a log, one line each in plain words, filtered; crash loops collapsed')
    .argument('<log>', LOG)
    .option('--service <name>', 'events about this service (repeatable)', many, [])
    .option('--check <name>', 'events about this check (repeatable)', many, [])
    .option(
      '--type <types>',
      'event types or kinds (input, decision, outcome), comma-separated (repeatable)',
      many,
      [],
    )
    .option('--since <time>', 'from this time (ISO 8601, or relative: -10m)')
    .option('--until <time>', 'up to this time')
    .option('--gen <n>', 'only while generation N was in force')
    .option('-f, --follow', 'keep printing events as the supervisor appends them (Ctrl-C ends)')
    .option(
      '--cursor-file <file>',
      'resume after the last event the previous call printed, and store it again',
    )
    .option('--all', 'print every event of a crash loop instead of one line for it')
    .option('--json', 'one JSON object per event per line')
    .option('--seq', 'end each line with its seq')
    .option('--utc', 'show times in UTC')
    .action(async (log: string, opts: Record<string, unknown>) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        code = await (
          await import('./events-command.js')
        ).eventsCommand(log, { ...opts, signal: stop.signal }, io);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  program
    .command('history')
    .description('one row per incarnation of a service: how each ended, who caused it, what followed')
    .argument('<log>', LOG)
    .argument('<service>', 'service name')
    .option('--last <n>', 'only the last N incarnations')
    .option('--json', 'one JSON object')
    .option('--utc', 'show times in UTC')
    .action(async (log: string, service: string, opts: { json?: boolean; utc?: boolean; last?: string }) => {
      code = await (await import('./history-command.js')).historyCommand(log, service, opts, io);
    });
  program
    .command('why')
    .description(
      "why a service or check is as it is now, or why incarnation #N ended ('#N' or N) or seq @S was decided",
    )
    .argument('<log>', LOG)
    .argument('<name>', 'service or check name')
    .argument('[target]', "'#N' or N: an incarnation; @S: the decision at seq S; none: the current state")
    .option('--json', 'one JSON object')
    .option('--utc', 'show times in UTC')
    .action(
      async (
        log: string,
        name: string,
        target: string | undefined,
        opts: { json?: boolean; utc?: boolean },
      ) => {
        code = await (await import('./why-command.js')).whyCommand(log, name, target, opts, io);
      },
    );
  program
    .command('diff')
    .description('what changed between two points of a log (seqs, times, or gen:N)')
    .argument('<log>', LOG)
    .argument('<from>', 'a seq, gen:N, or a time')
    .argument('<to>', 'a seq, gen:N, or a time')
    .option('--json', 'one JSON object')
    .option('--utc', 'show times in UTC')
    .action(async (log: string, from: string, to: string, opts: { json?: boolean; utc?: boolean }) => {
      code = await (await import('./diff-command.js')).diffCommand(log, from, to, opts, io);
    });
  program
    .command('timeline')
    .description(
      'the log as one self-contained HTML page: lanes, incarnations, reloads, checks; zoom, pan, click for why',
    )
    .argument('<log>', LOG)
    .option('-o, --output <file>', "where to write the page ('-': stdout)", 'timeline.html')
    .option('--since <time>', 'from this time (ISO 8601, or relative: -10m)')
    .option('--until <time>', 'up to this time')
    .option('--title <text>', 'the page title')
    .option('--utc', 'show times in UTC')
    .action(
      async (
        log: string,
        opts: { output?: string; since?: string; until?: string; title?: string; utc?: boolean },
      ) => {
        code = await (await import('./timeline-command.js')).timelineCommand(log, opts, io);
      },
    );
  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (e) {
    // commander has already printed its usage error; help and --version are not errors.
    // Anything else is a failure of the command itself and must not be hidden.
    if (!(e instanceof CommanderError)) throw e;
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
  }
  return code;
}
