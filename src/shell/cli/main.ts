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
    .option(
      '--host <name>',
      'on a stream (nats://host:port[/stream]): only this host (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
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
          host?: string[];
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
      'with no names: stop the running supervisor and everything it runs, waiting until it has exited; with names: stop those services (they stay down until started) or pause those checks; exit 3 if none runs',
    )
    .argument('[config]', 'config file of the running supervisor (only its runDir is read)')
    .argument('[names...]', 'services to stop or checks to pause (none: the supervisor itself)')
    .addOption(runDirOption())
    .addOption(timeoutOption())
    .action(
      async (config: string | undefined, rest: string[], opts: { runDir?: string; timeout: number }) => {
        const { target, names } = (await import('./operate-command.js')).splitTarget(
          [config, ...rest].filter((w): w is string => w !== undefined),
          opts.runDir,
        );
        if (names.length > 0) {
          code = await (
            await import('./operate-command.js')
          ).operateCommand('stop', target, names, null, io, { timeoutMs: opts.timeout });
          return;
        }
        code = await (
          await import('./control-commands.js')
        ).stopCommand(target, io, { timeoutMs: opts.timeout });
      },
    );
  for (const [op, what] of [
    [
      'start',
      'start stopped, failed or given-up services (their restart window and backoff reset) or resume paused checks; waits until each runs',
    ],
    [
      'restart',
      'stop then start services (not counted towards maxRestarts); waits until each new incarnation runs',
    ],
  ] as const)
    program
      .command(op)
      .description(`${what}; exit 2 for an unknown name, 3 if no supervisor runs`)
      .argument('[config]', 'config file of the running supervisor (only its runDir is read)')
      .argument('[names...]', op === 'start' ? 'services or checks' : 'services')
      .addOption(runDirOption())
      .addOption(timeoutOption())
      .action(
        async (config: string | undefined, rest: string[], opts: { runDir?: string; timeout: number }) => {
          const m = await import('./operate-command.js');
          const { target, names } = m.splitTarget(
            [config, ...rest].filter((w): w is string => w !== undefined),
            opts.runDir,
          );
          code = await m.operateCommand(op, target, names, null, io, { timeoutMs: opts.timeout });
        },
      );
  program
    .command('signal')
    .description(
      "send a signal to a running service's process group (e.g. SIGUSR2 to reopen its logs); exit 3 if no supervisor runs",
    )
    .argument('[config]', 'config file of the running supervisor (only its runDir is read)')
    .argument('[words...]', '<service> <SIGNAL>: the service, and a signal name (SIGUSR2, USR2)')
    .addOption(runDirOption())
    .addOption(timeoutOption())
    .action(
      async (config: string | undefined, rest: string[], opts: { runDir?: string; timeout: number }) => {
        const m = await import('./operate-command.js');
        const { target, names } = m.splitTarget(
          [config, ...rest].filter((w): w is string => w !== undefined),
          opts.runDir,
        );
        const signal = names.length >= 2 ? (names.pop() as string) : null;
        code = await m.operateCommand('signal', target, names, signal, io, { timeoutMs: opts.timeout });
      },
    );
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
    .option('--host <name>', 'on a stream (nats://host:port[/stream]): only this host (repeatable)', many, [])
    .action(async (log: string, opts: Record<string, unknown>) => {
      code = await untilSignalled(async (signal) =>
        (await import('./events-command.js')).eventsCommand(log, { ...opts, signal }, io),
      );
    });
  program
    .command('history')
    .description('one row per incarnation of a service: how each ended, who caused it, what followed')
    .argument('<log>', LOG)
    .argument('<service>', 'service name')
    .option('--last <n>', 'only the last N incarnations')
    .option('--json', 'one JSON object')
    .option('--utc', 'show times in UTC')
    .option('--host <name>', 'on a stream (nats://host:port[/stream]): only this host (repeatable)', many, [])
    .action(
      async (
        log: string,
        service: string,
        opts: { json?: boolean; utc?: boolean; last?: string; host?: string[] },
      ) => {
        code = await (await import('./history-command.js')).historyCommand(log, service, opts, io);
      },
    );
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
    .option('--host <name>', 'on a stream (nats://host:port[/stream]): only this host (repeatable)', many, [])
    .action(
      async (
        log: string,
        name: string,
        target: string | undefined,
        opts: { json?: boolean; utc?: boolean; host?: string[] },
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
    .option(
      '--host <name>',
      'on a stream (nats://host:port[/stream]): only this host (repeatable); one page per host',
      many,
      [],
    )
    .action(
      async (
        log: string,
        opts: {
          output?: string;
          since?: string;
          until?: string;
          title?: string;
          utc?: boolean;
          host?: string[];
        },
      ) => {
        code = await (await import('./timeline-command.js')).timelineCommand(log, opts, io);
      },
    );
  // Listed in --help; its words are parsed by src/shell/bench/args.ts (shared with npm run bench).
  program
    .command('bench')
    .description(
      'the PID tree under PID-shaped workloads, side by side with its peers and your own (--impl); procreg bench --help',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments();
  const fleet = program.command('fleet').description("a fleet's event logs on a NATS JetStream stream");
  fleet
    .command('status')
    .description(
      'one row per host: last event, generation, services running / backing off / given up, shipping lag',
    )
    .argument('<stream>', 'nats://host:port[/stream] (default stream PROCREG)')
    .option('--host <name>', 'only this host (repeatable)', many, [])
    .option('--json', 'one JSON object')
    .action(async (stream: string, opts: { host?: string[]; json?: boolean }) => {
      code = await (await import('./fleet-command.js')).fleetStatusCommand(stream, opts, io);
    });
  program
    .command('ship')
    .description('ship an event log to a NATS JetStream stream (procreg runs it as procreg-ship for ship:)')
    .argument('<log>', LOG)
    .option('--to <url>', "the NATS server: nats://host:port (default: the config's ship.to)")
    .option('--stream <name>', 'the JetStream stream (default PROCREG; created when missing)')
    .option(
      '--host <name>',
      "this log's host name in the fleet (default: the config's host, else the machine's)",
    )
    .option('--once', 'ship what the log holds now and exit, instead of following it')
    .action(async (log: string, opts: { to?: string; stream?: string; host?: string; once?: boolean }) => {
      code = await untilSignalled(async (signal) =>
        (await import('./ship-command.js')).shipCommand(log, { ...opts, signal }, io),
      );
    });
  // `procreg help <command>` is `procreg <command> --help`: an unknown one gets "did you mean".
  const [, , first, second, ...more] = argv;
  const known = (name: string) => program.commands.some((c) => c.name() === name);
  const args =
    first === 'help' && second !== undefined && more.length === 0
      ? [...argv.slice(0, 2), second, ...(known(second) ? ['--help'] : [])]
      : argv;
  if (args[2] === 'bench') return (await import('./bench-command.js')).benchCommand(args.slice(3), io);
  try {
    await program.parseAsync(args, { from: 'node' });
  } catch (e) {
    // commander has already printed its usage error; help and --version are not errors.
    // Anything else is a failure of the command itself and must not be hidden.
    if (!(e instanceof CommanderError)) throw e;
    // Help (`help`, `--help`, `<command> --help`) and --version exit 0, the rest is usage: 2.
    return e.exitCode === 0 ? 0 : 2;
  }
  return code;
}

/** Runs a command that follows something until SIGINT or SIGTERM aborts the signal it is given. */
async function untilSignalled(run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
