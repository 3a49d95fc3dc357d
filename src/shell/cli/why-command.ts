/**
 * `procreg why <log> <name> [#N | N | @seq]`: the causal chain of one decision, or why a
 * service or check is in its current state (a `#` starts a shell comment: quote it, '#7', or
 * give the number alone).
 */
import { parseWhyTarget, renderWhy, why, type WhyAnswer } from '../../debug/why.js';
import {
  CommandFailure,
  finishReport,
  openLog,
  runCommand,
  timeStyle,
  unknownNames,
  usageError,
} from '../debug/command-kit.js';
import { isNatsTarget } from '../fleet/nats.js';
import type { CommandIO } from './io.js';

export interface WhyCommandOptions {
  readonly json?: boolean;
  readonly utc?: boolean;
}

/** `why --json`: one object. */
export interface WhyJson extends WhyAnswer {
  readonly log: string;
}

export async function whyCommand(
  log: string,
  name: string,
  target: string | undefined,
  opts: WhyCommandOptions & { readonly host?: readonly string[] },
  io: CommandIO,
): Promise<number> {
  if (isNatsTarget(log))
    return (await import('./fleet-command.js')).fleetPerHostCommand(
      'why',
      log,
      opts,
      name,
      io,
      (path, hostIo) => whyCommand(path, name, target, opts, hostIo),
    );
  return runCommand('why', io, async () => {
    const t = parseWhyTarget(target !== undefined && /^\d+$/.test(target) ? `#${target}` : target);
    if (!t.ok) throw usageError(t.error);
    const style = timeStyle(opts);
    const open = openLog(log, io);
    const res = await why(open.events(), name, t.value, style);
    if (!res.ok)
      throw new CommandFailure(res.known ? unknownNames('service or check', [name], res.known) : res.error);
    if (opts.json) {
      const j: WhyJson = { log: open.source.path, ...res.answer };
      io.out(JSON.stringify(j, null, 2));
    } else io.out(renderWhy(res.answer, style));
    return finishReport(open, 'procreg why');
  });
}
