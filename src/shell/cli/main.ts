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
    .argument('<log>', 'event log (JSONL)')
    .option('--json', 'print the registry as JSON (same shape as status --json)')
    .option(
      '--check',
      're-verify every invariant after every event and every logged decision; exit 1 on the first violations',
    )
    .action(async (log: string, opts: { json?: boolean; check?: boolean }) => {
      code = await (await import('./replay-command.js')).replayCommand(log, opts, io);
    });
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
    .action(async (config: string | undefined, opts: { runDir?: string; timeout: number }) => {
      code = await (
        await import('./control-commands.js')
      ).reloadCommand({ config, runDir: opts.runDir }, io, { timeoutMs: opts.timeout });
    });
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
