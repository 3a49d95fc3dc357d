import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dependencyProblems, normalizeDependsOn } from '../../src/config/depends-on.js';
import { normalizeConfig } from '../../src/config/normalize.js';
import { type ConfigProblem, formatProblem } from '../../src/config/schema.js';

const norm = (raw: unknown) => normalizeConfig(raw, { baseDir: '/etc/app' });
const problemsOf = (raw: unknown) => {
  const res = norm(raw);
  return res.ok ? [] : res.problems.map((p) => formatProblem(p));
};
const svc = (dependsOn?: unknown) => ({
  command: ['true'],
  ...(dependsOn === undefined ? {} : { dependsOn }),
});

describe('dependsOn, as docker compose writes it', () => {
  it('takes a list of names (each started) or a map of name to condition, normalized and sorted', () => {
    const res = norm({
      services: {
        db: svc(),
        queue: svc(),
        worker: svc({ queue: 'started', db: { condition: 'healthy', restart: true } }),
        web: svc(['queue', 'db']),
      },
      checks: { db_ready: { command: ['true'], service: 'db' } },
    });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    expect(res.config.services.web?.dependsOn).toEqual({
      db: { condition: 'started', restart: false },
      queue: { condition: 'started', restart: false },
    });
    expect(res.config.services.worker?.dependsOn).toEqual({
      db: { condition: 'healthy', restart: true },
      queue: { condition: 'started', restart: false },
    });
    expect(res.config.services.db?.dependsOn).toEqual({});
    expect(res.config.checks.db_ready).toMatchObject({ service: 'db', restartsService: null });
  });

  it('refuses unknown names, a healthy dependency nothing reports the health of, and bad forms, naming each', () => {
    expect(
      problemsOf({
        services: {
          db: svc(),
          web: svc({ ghost: 'started', db: 'healthy' }),
          a: svc({ db: 'ready' }),
          b: svc({ db: { condition: 'up' } }),
          c: svc({ db: { restart: 'yes' } }),
          d: svc([1]),
          e: svc('db'),
        },
      }),
    ).toEqual([
      'services.a.dependsOn.db: must be started, healthy, or { condition: started | healthy, restart: true | false }, got "ready" (string)',
      'services.b.dependsOn.db.condition: must be one of started | healthy, got "up" (string)',
      'services.c.dependsOn.db.restart: must be true or false, got "yes" (string)',
      'services.d.dependsOn[0]: must be a service name, got 1 (number)',
      'services.e.dependsOn: must be a list of service names or a mapping of name to condition, got "db" (string)',
    ]);
    expect(problemsOf({ services: { db: svc(), web: svc({ ghost: 'started', db: 'healthy' }) } })).toEqual([
      'services.web.dependsOn.db: needs a check that reports the health of db (a check with restarts: db or service: db), got "healthy" (string)',
      'services.web.dependsOn.ghost: must name a service of this config (db, web), got "ghost" (string)',
    ]);
    expect(
      problemsOf({ services: { db: svc() }, checks: { x: { command: ['true'], service: 'nope' } } }),
    ).toEqual(['checks.x.service: must name a service of this config (db), got "nope" (string)']);
  });

  it('refuses cycles, naming each cycle once', () => {
    expect(
      problemsOf({
        services: {
          a: svc(['b']),
          b: svc(['c']),
          c: svc(['a']),
          self: svc(['self']),
          x: svc(['y']),
          y: svc(['x']),
          free: svc(['a']),
        },
      }),
    ).toEqual([
      'services.a.dependsOn: is part of a cycle: a → b → c → a',
      'services.self.dependsOn: is part of a cycle: self → self',
      'services.x.dependsOn: is part of a cycle: x → y → x',
    ]);
  });

  it('finds a cycle whenever there is one, and reports none for a graph without (property)', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)), { maxLength: 12 }),
        (edges) => {
          const graph: Record<string, Record<string, { condition: 'started'; restart: false }>> = {};
          for (const n of names) graph[n] = {};
          for (const [from, to] of edges)
            (graph[from] as Record<string, unknown>)[to] = { condition: 'started', restart: false };
          const found = dependencyProblems(graph, new Set()).map((p: ConfigProblem) => p.message);
          // Reachability says whether there is a cycle at all.
          const reach = (from: string, to: string, seen = new Set<string>()): boolean =>
            Object.keys(graph[from] ?? {}).some(
              (n) => n === to || (!seen.has(n) && (seen.add(n), reach(n, to, seen))),
            );
          const cyclic = names.some((n) => reach(n, n));
          expect(found.length > 0).toBe(cyclic);
          // Every reported cycle is a real one: each step an edge of the graph.
          for (const m of found) {
            const path = m.replace('is part of a cycle: ', '').split(' → ');
            for (let i = 0; i + 1 < path.length; i++)
              expect(Object.hasOwn(graph[path[i] as string] ?? {}, path[i + 1] as string)).toBe(true);
          }
        },
      ),
    );
  });

  it('reads an empty or missing dependsOn as none', () => {
    expect(normalizeDependsOn(undefined, 'x', [])).toEqual({});
    expect(normalizeDependsOn([], 'x', [])).toEqual({});
    expect(normalizeDependsOn({}, 'x', [])).toEqual({});
  });
});
