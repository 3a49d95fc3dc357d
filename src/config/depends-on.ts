/**
 * Start order: `dependsOn` as people know it from docker compose. A list of names (each
 * `started`), or a map of name → `started` | `healthy` | `{ condition, restart }`. Pure: the
 * normal form, and the problems of a graph (unknown names, a `healthy` dependency nothing
 * reports the health of, cycles — each cycle named).
 */
import { type ConfigProblem, problem } from './schema.js';

export const DEPENDENCY_CONDITIONS = ['started', 'healthy'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

export interface Dependency {
  /** started: its process runs; healthy: every check that reports its health is healthy. */
  readonly condition: DependencyCondition;
  /** Restart this service whenever the dependency is restarted. */
  readonly restart: boolean;
}

const CONDITION_MESSAGE =
  'must be started, healthy, or { condition: started | healthy, restart: true | false }';

/** The user form of one service's dependsOn, normalized (names sorted), or undefined after recording problems. */
export function normalizeDependsOn(
  raw: unknown,
  path: string,
  problems: ConfigProblem[],
): Record<string, Dependency> | undefined {
  if (raw === undefined) return {};
  const out: Record<string, Dependency> = {};
  let ok = true;
  if (Array.isArray(raw)) {
    raw.forEach((name, i) => {
      if (typeof name !== 'string' || name === '') {
        problem(problems, `${path}[${i}]`, name, 'must be a service name');
        ok = false;
      } else out[name] = { condition: 'started', restart: false };
    });
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
      const at = `${path}.${name}`;
      if (v === 'started' || v === 'healthy') out[name] = { condition: v, restart: false };
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const extra = Object.keys(o).filter((k) => k !== 'condition' && k !== 'restart');
        const condition = o.condition ?? 'started';
        const restart = o.restart ?? false;
        if (extra.length > 0) {
          problem(
            problems,
            `${at}.${extra[0]}`,
            o[extra[0] as string],
            'unknown key; allowed: condition, restart',
          );
          ok = false;
        } else if (condition !== 'started' && condition !== 'healthy') {
          problem(problems, `${at}.condition`, condition, 'must be one of started | healthy');
          ok = false;
        } else if (typeof restart !== 'boolean') {
          problem(problems, `${at}.restart`, restart, 'must be true or false');
          ok = false;
        } else out[name] = { condition, restart };
      } else {
        problem(problems, at, v, CONDITION_MESSAGE);
        ok = false;
      }
    }
  } else {
    problem(problems, path, raw, 'must be a list of service names or a mapping of name to condition');
    return undefined;
  }
  if (!ok) return undefined;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * What is wrong with a whole graph: a dependency that is not a service of the config, a
 * `healthy` one no check reports the health of (`restarts: db` or `service: db`), a cycle.
 */
export function dependencyProblems(
  graph: Readonly<Record<string, Readonly<Record<string, Dependency>>>>,
  healthReported: ReadonlySet<string>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = Object.keys(graph).sort();
  for (const name of names) {
    for (const [dep, d] of Object.entries(graph[name] ?? {})) {
      const at = `services.${name}.dependsOn.${dep}`;
      if (!Object.hasOwn(graph, dep))
        problem(problems, at, dep, `must name a service of this config (${names.join(', ')})`);
      else if (d.condition === 'healthy' && !healthReported.has(dep))
        problem(
          problems,
          at,
          'healthy',
          `needs a check that reports the health of ${dep} (a check with restarts: ${dep} or service: ${dep})`,
        );
    }
  }
  for (const cycle of cycles(graph)) {
    const first = cycle[0] as string;
    problems.push({
      path: `services.${first}.dependsOn`,
      message: `is part of a cycle: ${[...cycle, first].join(' → ')}`,
    });
  }
  return problems;
}

/**
 * One cycle per strongly connected component that has one (Tarjan's algorithm: linear in the
 * graph), each written from its smallest name, following dependencies inside the component.
 */
function cycles(graph: Readonly<Record<string, Readonly<Record<string, Dependency>>>>): string[][] {
  const deps = (n: string) =>
    Object.keys(graph[n] ?? {})
      .filter((d) => Object.hasOwn(graph, d))
      .sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of deps(v)) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); ; w = stack.pop()) {
      onStack.delete(w as string);
      component.push(w as string);
      if (w === v) break;
    }
    components.push(component);
  };
  for (const name of Object.keys(graph).sort()) if (!index.has(name)) strong(name);
  const out: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0] as string;
    if (component.length === 1 && !deps(start).includes(start)) continue;
    // Walk from the smallest name to a member already on the path: that is a cycle.
    const path = [start];
    for (;;) {
      const here = path[path.length - 1] as string;
      const step = deps(here).find((d) => members.has(d)) as string;
      const seen = path.indexOf(step);
      if (seen >= 0) {
        out.push(path.slice(seen));
        break;
      }
      path.push(step);
    }
  }
  return out.sort((a, b) => (a.join() < b.join() ? -1 : 1));
}
