/**
 * The NATS client, loaded only when a command talks to a fleet's stream: the packages are
 * optional dependencies, so the core library (and `procreg run` without `ship:`) never loads
 * them, and a machine without them is told how to install them.
 */
import type * as Jetstream from '@nats-io/jetstream';
import type * as Transport from '@nats-io/transport-node';

export interface NatsModules {
  readonly transport: typeof Transport;
  readonly jetstream: typeof Jetstream;
}

export const NATS_INSTALL = 'npm i @nats-io/transport-node@3.3.1 @nats-io/jetstream@3.3.1';

export class NatsMissing extends Error {}

let loaded: Promise<NatsModules> | null = null;

export function loadNats(): Promise<NatsModules> {
  loaded ??= (async () => {
    try {
      const [transport, jetstream] = await Promise.all([
        import('@nats-io/transport-node'),
        import('@nats-io/jetstream'),
      ]);
      return { transport, jetstream };
    } catch (e) {
      loaded = null;
      throw new NatsMissing(
        `the NATS client is not installed (${(e as Error).message.split('\n')[0]}): install it with ${NATS_INSTALL}`,
      );
    }
  })();
  return loaded;
}

/** `nats://host:port[/stream]` → the server and the stream named in the path (null: the default). */
export function parseNatsTarget(given: string): { server: string; stream: string | null } | null {
  const m = /^(nats:\/\/[^/\s]+)(?:\/([^/\s]*))?$/.exec(given);
  if (!m) return null;
  return { server: m[1] as string, stream: m[2] ? (m[2] as string) : null };
}

export const isNatsTarget = (given: string): boolean => given.startsWith('nats://');
