/**
 * `procreg ship <log|config> --to nats://… [--stream S] [--host H] [--once]`: ship an event
 * log to a NATS JetStream stream. procreg runs it as the built-in service procreg-ship when
 * the config has `ship:`; by hand it ships any log (`--once`: what is there now).
 */
import { hostname } from 'node:os';
import { DEFAULT_SHIP_STREAM, natsUrlProblem, streamNameProblem } from '../../config/ship.js';
import { CommandFailure, runCommand, usageError } from '../debug/command-kit.js';
import { resolveLog } from '../debug/log-source.js';
import { JetStreamSink } from '../fleet/jetstream-sink.js';
import { loadNats, NatsMissing } from '../fleet/nats.js';
import { ShipFailure, shipLog } from '../fleet/shipper.js';
import type { CommandIO } from './io.js';

export interface ShipCommandOptions {
  readonly to?: string;
  readonly stream?: string;
  readonly host?: string;
  readonly once?: boolean;
  readonly signal?: AbortSignal;
}

export function shipCommand(given: string, opts: ShipCommandOptions, io: CommandIO): Promise<number> {
  return runCommand('ship', io, async () => {
    const { to, stream, host } = await settings(given, opts);
    const nats = await loadNats().catch((e: unknown) => {
      throw e instanceof NatsMissing ? new CommandFailure(e.message, 2) : e;
    });
    const r = resolveLog(given);
    // A log procreg has not written yet is waited for; a config names it.
    const live = r.ok ? r.source.path : await logOfConfig(given);
    try {
      return await shipLog({
        live,
        host,
        to,
        stream,
        once: opts.once ?? false,
        signal: opts.signal ?? new AbortController().signal,
        openSink: () => JetStreamSink.open(nats, to, stream),
        io,
      });
    } catch (e) {
      if (e instanceof ShipFailure) throw new CommandFailure(e.message, e.exitCode);
      throw e;
    }
  });
}

/** --to, --stream, --host; from the config's `ship:` and `host:` when the argument is a config. */
async function settings(given: string, opts: ShipCommandOptions) {
  let to = opts.to;
  let stream = opts.stream;
  let host = opts.host;
  if (to === undefined || host === undefined) {
    const { loadConfigFile } = await import('../config/load-config.js');
    const loaded = /\.(ya?ml|json)$/i.test(given) ? loadConfigFile(given) : null;
    if (loaded?.ok) {
      to ??= loaded.config.ship?.to;
      stream ??= loaded.config.ship?.stream;
      host ??= loaded.config.host ?? undefined;
    }
  }
  if (to === undefined) throw usageError('--to: give the NATS server, e.g. --to nats://127.0.0.1:4222');
  const bad = natsUrlProblem(to);
  if (bad) throw usageError(`--to: ${JSON.stringify(to)}: ${bad}`);
  stream ??= DEFAULT_SHIP_STREAM;
  const badStream = streamNameProblem(stream);
  if (badStream) throw usageError(`--stream: ${JSON.stringify(stream)}: ${badStream}`);
  host ??= hostname();
  if (!/^[\x21-\x7e]{1,253}$/.test(host))
    throw usageError(`--host: ${JSON.stringify(host)}: a host name is 1-253 printable characters, no spaces`);
  return { to, stream, host };
}

async function logOfConfig(given: string): Promise<string> {
  const { loadConfigFile } = await import('../config/load-config.js');
  const loaded = loadConfigFile(given);
  if (loaded.ok) return loaded.config.eventLog;
  if (!/\.(ya?ml|json)$/i.test(given)) return given; // an event log still to be written
  throw new CommandFailure(`${given}: not a config procreg can read`, 2);
}
