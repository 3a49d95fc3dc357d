import type { NormalizedConfig, ServiceDef } from '../config/types.js';
import type { Pid } from '../events/types.js';
import { isOrphan, type State } from './state.js';

// What may hold a service back from starting: a predecessor's process of it still being
// stopped (crash recovery), or a dependency (dependsOn) not yet started or healthy.

/** A predecessor's process of this service still in the tree, or null. */
export function predecessorOf(state: State, name: string): Pid | null {
  if (state.orphans === 0) return null;
  for (const [pid, e] of state.procs.entries())
    if (e.kind === 'service' && e.name === name && isOrphan(state, e)) return pid;
  return null;
}

/** The first dependency that is not met now, in name order, or null when all are. */
export function unmetDependency(state: State, def: ServiceDef): { name: string; condition: string } | null {
  const deps = def.dependsOn;
  // for-in, not Object.entries: no array per spawn (most services depend on nothing).
  for (const name in deps) {
    const dep = deps[name] as (typeof deps)[string];
    const s = state.services.get(name);
    const started = s !== undefined && s.desired !== 'removed' && s.phase === 'running';
    if (!started || (dep.condition === 'healthy' && !healthy(state, name)))
      return { name, condition: dep.condition };
  }
  return null;
}

/** Every check that reports the service's health is healthy (and there is one). */
export function healthy(state: State, service: string): boolean {
  let any = false;
  for (const c of state.checks.values()) {
    if (c.removed || (c.def.service ?? c.def.restartsService) !== service) continue;
    if (c.healthy !== true) return false;
    any = true;
  }
  return any;
}

/** Why a service cannot start now, in the words its status shows, or null. */
export function holdBack(state: State, name: string, def: ServiceDef): string | null {
  const predecessor = predecessorOf(state, name);
  if (predecessor !== null) return `waiting for pid ${predecessor} of the previous procreg to exit`;
  const unmet = unmetDependency(state, def);
  return unmet ? `waiting for ${unmet.name} (${unmet.condition})` : null;
}

const NONE: readonly string[] = [];

const DEPENDENTS = new WeakMap<NormalizedConfig, ReadonlyMap<string, readonly string[]>>();

/**
 * The services that depend on `name` in `config`, sorted. Computed once per config object (a
 * cache of a pure function of it: the fold stays replayable).
 */
export function dependentsOf(config: NormalizedConfig | null, name: string): readonly string[] {
  if (config === null) return [];
  let index = DEPENDENTS.get(config);
  if (!index) {
    const m = new Map<string, string[]>();
    for (const [svc, def] of Object.entries(config.services))
      for (const dep of Object.keys(def.dependsOn)) m.set(dep, [...(m.get(dep) ?? []), svc].sort());
    index = m;
    DEPENDENTS.set(config, index);
  }
  return index.get(name) ?? NONE;
}
