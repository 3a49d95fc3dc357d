// procreg start|stop|restart|signal: one service (or check) at a time, over the control socket.
import { statSync } from 'node:fs';
import { SIGNALS, type SignalName } from '../../config/types.js';
import type { OperateOp, OperateResult } from '../control/operate.js';
import { locateSupervisor } from '../control/client.js';
import {
  ask,
  type ControlCommandOptions,
  EXIT,
  notReachable,
  runDirFor,
  type Target,
} from './control-commands.js';
import type { CommandIO } from './io.js';

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The positional words of `procreg <op> [config] <name>...`: with `--run-dir`, every word is
 * a name — unless the first is plainly a config file (it exists as a file, or ends in .yaml,
 * .yml or .json): then it is kept as the config, and runDirFor says to give one or the other.
 */
export function splitTarget(
  words: readonly string[],
  runDir: string | undefined,
): { target: Target; names: string[] } {
  const [first, ...rest] = words;
  if (runDir !== undefined && first !== undefined && looksLikeConfig(first))
    return { target: { config: first, runDir }, names: rest };
  if (runDir !== undefined) return { target: { runDir }, names: [...words] };
  const [config, ...names] = words;
  return { target: { config }, names };
}

function looksLikeConfig(word: string): boolean {
  if (/\.(ya?ml|json)$/i.test(word)) return true;
  try {
    return statSync(word).isFile();
  } catch {
    return false;
  }
}

/** `USR2`, `sigusr2`, `SIGUSR2` → `SIGUSR2`; null for anything that is not a signal procreg sends. */
export function parseSignal(word: string): SignalName | null {
  const up = word.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  return (SIGNALS as readonly string[]).includes(name) ? (name as SignalName) : null;
}

/**
 * `procreg start|stop|restart <config> <name>...` and `procreg signal <config> <service>
 * <SIGNAL>`: asks the running supervisor, waits for each outcome, says it per name. Exit 0
 * when each is done or already so; 2 for a name that does not exist (the message lists those
 * that do) or a bad signal; 1 when one was refused, failed or timed out; 3 when no procreg runs.
 */
export async function operateCommand(
  op: OperateOp,
  target: Target,
  names: readonly string[],
  signal: string | null,
  io: CommandIO,
  options: ControlCommandOptions = {},
): Promise<number> {
  const say = (t: string) => io.err(`procreg ${op}: ${t}`);
  if (names.length === 0) {
    say(
      op === 'signal'
        ? 'give a service name and a signal: procreg signal <config> <service> <SIGNAL>'
        : `give at least one service or check name: procreg ${op} <config> <name>...`,
    );
    return EXIT.usage;
  }
  let sig: SignalName | null = null;
  if (op === 'signal') {
    if (signal === null || names.length !== 1) {
      say('give one service name and a signal: procreg signal <config> <service> <SIGNAL>');
      return EXIT.usage;
    }
    sig = parseSignal(signal);
    if (sig === null) {
      say(`${JSON.stringify(signal)} is not a signal procreg sends; one of ${SIGNALS.join(', ')}`);
      return EXIT.usage;
    }
  }
  const runDir = runDirFor(op, target, io);
  if (typeof runDir === 'number') return runDir;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const found = await locateSupervisor(runDir, timeoutMs);
  if (found.kind !== 'control') return notReachable(found, say);
  const { session } = found;
  const pid = found.lock.pid;
  // The supervisor answers once each outcome is known: a stop may take the longest stopTimeout.
  const ans = await ask(session, op, found.lock.stopWithinMs + timeoutMs, {
    names,
    ...(sig ? { signal: sig } : {}),
  });
  session.close();
  if (typeof ans === 'string') {
    say(`procreg pid ${pid} ${ans}`);
    return EXIT.failed;
  }
  if (!ans.ok || !Array.isArray(ans.results)) {
    say(`procreg pid ${pid}: ${ans.error ?? 'no results in its answer'}`);
    return EXIT.failed;
  }
  let code: number = EXIT.ok;
  for (const r of ans.results as OperateResult[]) {
    switch (r.outcome) {
      case 'done':
        io.out(`procreg ${op}: ${r.message}`);
        break;
      case 'already':
        io.out(`procreg ${op}: ${r.message}; nothing to do`);
        break;
      case 'unknown':
        say(r.message);
        code = EXIT.usage;
        break;
      case 'refused':
      case 'failed':
      case 'timeout':
        say(r.message);
        if (code === EXIT.ok) code = EXIT.failed;
        break;
    }
  }
  return code;
}
