/**
 * The registry as plain data, and back: what a `snapshot` record in the log carries, so a
 * reader (or a supervisor starting up) can continue the fold from it exactly as if it had
 * folded everything before. The schema below checks a snapshot read back from a log, and the
 * compile-time assignments at the end tie it to the state's own types.
 */
import {
  arrayOf,
  boolean,
  type ConfigProblem,
  INVALID,
  integer,
  nullable,
  object,
  oneOf,
  recordOf,
  type Schema,
  string,
  validate,
  withDefault,
} from '../config/schema.js';
import {
  type CheckDef,
  checkDefSchema,
  type NormalizedConfig,
  normalizedConfigSchema,
  type ServiceDef,
  serviceDefSchema,
} from '../config/types.js';
import type { LastWords, TimerKey } from '../events/types.js';
import { HashMap } from '../tree/hash-map.js';
import { emptyPidTree, type PidTree } from '../tree/pid-tree.js';
import {
  type CheckEntry,
  type CheckStatus,
  copyCheck,
  copyService,
  type Entry,
  type ServiceEntry,
  type ServiceStatus,
  type State,
  type Stopping,
} from './state.js';

const nat = integer(0, Number.MAX_SAFE_INTEGER);
const pid = integer(1, Number.MAX_SAFE_INTEGER);
const text: Schema<string> = (raw, path, problems) =>
  typeof raw === 'string' ? raw : string('must be a string')(raw, path, problems);
const nats = arrayOf(nat, 'must be a list of non-negative integers');

const timerKeySchema: Schema<TimerKey> = (raw, path, problems) => {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case 'backoff':
      return object({ kind: oneOf(['backoff'] as const), name: string(), gen: nat, incarnation: nat })(
        raw,
        path,
        problems,
      );
    case 'check-interval':
      return object({ kind: oneOf(['check-interval'] as const), name: string(), gen: nat, run: nat })(
        raw,
        path,
        problems,
      );
    case 'check-timeout':
      return object({
        kind: oneOf(['check-timeout'] as const),
        name: string(),
        gen: nat,
        run: nat,
        pid,
      })(raw, path, problems);
    case 'stop-timeout':
      return object({
        kind: oneOf(['stop-timeout'] as const),
        pid,
        name: string(),
        gen: nat,
        serial: nat,
      })(raw, path, problems);
    default:
      problems.push({
        path,
        value: raw,
        message: 'must be a timer key whose kind is backoff | check-interval | check-timeout | stop-timeout',
      });
      return INVALID;
  }
};

const lastWordsSchema: Schema<LastWords> = (raw, path, problems) =>
  typeof raw === 'object' && raw !== null && 'file' in raw
    ? object({ file: string(), offset: nat })(raw, path, problems)
    : object({ lines: arrayOf(text, 'must be a list of lines') })(raw, path, problems);

const leaderExitSchema = nullable(
  object({ code: nullable(nat), signal: nullable(string()), lastWords: nullable(lastWordsSchema) }),
);

/** A definition is written out only where it differs from the config in force (a draining old one). */
const defOrSame = <T>(s: Schema<T>) => nullable(s);

const serviceEntrySchema = object({
  kind: oneOf(['service'] as const),
  name: string(),
  gen: nat,
  incarnation: nat,
  startTime: nullable(nat),
  exe: nullable(string()),
  /** null: the process was unwanted; "same": the config's; else the definition it runs. */
  def: (raw: unknown, path: string, problems: ConfigProblem[]) =>
    raw === 'same' ? ('same' as const) : nullable(serviceDefSchema)(raw, path, problems),
  leaderExit: leaderExitSchema,
});

const checkEntrySchema = object({
  kind: oneOf(['check'] as const),
  name: string(),
  gen: nat,
  run: nat,
  startedMono: nat,
  startTime: nullable(nat),
  exe: nullable(string()),
  deadline: nat,
  killAfterMs: nat,
  timedOut: boolean,
  leaderExit: leaderExitSchema,
});

const exitInfoSchema = object({
  pid: nullable(pid),
  code: nullable(nat),
  signal: nullable(string()),
  error: nullable(text),
  time: nat,
  mono: nat,
  lastWords: nullable(lastWordsSchema),
  // Snapshots written before it was recorded do not say.
  uptimeMs: withDefault(nullable(nat), null),
});

const serviceStatusSchema = object({
  name: string(),
  def: defOrSame(serviceDefSchema),
  defGen: nat,
  desired: oneOf(['up', 'down', 'removed'] as const),
  phase: oneOf([
    'waiting',
    'starting',
    'running',
    'stopping',
    'backoff',
    'stopped',
    'given-up',
    'failed',
  ] as const),
  pid: nullable(pid),
  incarnation: nat,
  spawnGen: nat,
  restartAfterExit: nullable(oneOf(['reload', 'check-failed', 'requested', 'dependency'] as const)),
  restarts: nat,
  recentRestarts: nats,
  quickFailures: nat,
  startedAt: nullable(nat),
  startedMono: nullable(nat),
  lastExit: nullable(exitInfoSchema),
  pidFile: nullable(object({ path: string(), pid })),
  timer: nullable(timerKeySchema),
  reason: nullable(text),
  phaseSince: nat,
  daemonized: withDefault(nullable(string()), null),
});

const checkStatusSchema = object({
  name: string(),
  def: defOrSame(checkDefSchema),
  defGen: nat,
  removed: boolean,
  run: nat,
  inFlight: nullable(object({ run: nat, gen: nat, pid: nullable(pid), timeoutMs: nat, killAfterMs: nat })),
  healthy: nullable(boolean),
  successes: nat,
  failures: nat,
  lastResult: nullable(
    object({
      run: nat,
      ok: boolean,
      code: nullable(nat),
      signal: nullable(string()),
      timedOut: boolean,
      durationMs: nat,
      time: nat,
    }),
  ),
  timer: nullable(timerKeySchema),
  paused: boolean,
  startPeriodFrom: withDefault(nullable(integer(-1, Number.MAX_SAFE_INTEGER)), null),
});

const procSchema: Schema<readonly [number, SnapshotEntry]> = (raw, path, problems) => {
  if (!Array.isArray(raw) || raw.length !== 2) {
    problems.push({ path, value: raw, message: 'must be a [pid, entry] pair' });
    return INVALID;
  }
  const p = pid(raw[0], `${path}[0]`, problems);
  const kind = (raw[1] as { kind?: unknown } | null)?.kind;
  const e = (kind === 'check' ? checkEntrySchema : serviceEntrySchema)(raw[1], `${path}[1]`, problems);
  return p === INVALID || e === INVALID ? INVALID : ([p, e] as const);
};

const stoppingSchema: Schema<readonly [number, Stopping]> = (raw, path, problems) => {
  if (!Array.isArray(raw) || raw.length !== 2) {
    problems.push({ path, value: raw, message: 'must be a [pid, stop] pair' });
    return INVALID;
  }
  const p = pid(raw[0], `${path}[0]`, problems);
  const s = object({ signal: string(), since: nat, killAt: nat })(raw[1], `${path}[1]`, problems);
  return p === INVALID || s === INVALID ? INVALID : ([p, s] as const);
};

export const snapshotSchema = object({
  seq: nat,
  bootId: nullable(string()),
  instance: nat,
  instanceGen: nat,
  phase: oneOf(['idle', 'starting', 'running', 'stopping', 'stopped'] as const),
  gen: nat,
  config: nullable(normalizedConfigSchema),
  reload: oneOf(['idle', 'loading', 'loading-again'] as const),
  reloadSignals: withDefault(arrayOf(string(), 'must be a list of service names'), [] as readonly string[]),
  procs: arrayOf(procSchema, 'must be a list of [pid, entry] pairs'),
  stopping: arrayOf(stoppingSchema, 'must be a list of [pid, stop] pairs'),
  services: recordOf(serviceStatusSchema),
  checks: recordOf(checkStatusSchema),
});

type SnapshotEntry = (Omit<ServiceEntry, 'def'> & { readonly def: ServiceDef | 'same' | null }) | CheckEntry;

/** The registry as JSON-ready data: the `state` of a `snapshot` record. */
export interface Snapshot {
  readonly seq: number;
  readonly bootId: string | null;
  readonly instance: number;
  readonly instanceGen: number;
  readonly phase: State['phase'];
  readonly gen: number;
  readonly config: NormalizedConfig | null;
  readonly reload: State['reload'];
  readonly reloadSignals: readonly string[];
  readonly procs: readonly (readonly [number, SnapshotEntry])[];
  readonly stopping: readonly (readonly [number, Stopping])[];
  readonly services: Readonly<
    Record<string, Omit<ServiceStatus, 'def'> & { readonly def: ServiceDef | null }>
  >;
  readonly checks: Readonly<Record<string, Omit<CheckStatus, 'def'> & { readonly def: CheckDef | null }>>;
}

const sameDef = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** The registry as data. Definitions equal to the config's are left out (`null`/`"same"`): a config is written once. */
export function toSnapshot(state: State): Snapshot {
  const config = state.config;
  const byName = <T extends { name: string }>(xs: Iterable<T>) =>
    [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const services: Record<string, Snapshot['services'][string]> = {};
  for (const s of byName(state.services.values()))
    services[s.name] = { ...s, def: sameDef(s.def, config?.services[s.name]) ? null : s.def };
  const checks: Record<string, Snapshot['checks'][string]> = {};
  for (const c of byName(state.checks.values()))
    checks[c.name] = { ...c, def: sameDef(c.def, config?.checks[c.name]) ? null : c.def };
  const procs = [...state.procs.entries()].map(([p, e]): readonly [number, SnapshotEntry] => {
    if (e.kind === 'check' || e.def === null) return [p, e];
    return [p, { ...e, def: sameDef(e.def, config?.services[e.name]) ? 'same' : e.def }];
  });
  return {
    seq: state.seq,
    bootId: state.bootId,
    instance: state.instance,
    instanceGen: state.instanceGen,
    phase: state.phase,
    gen: state.gen,
    config,
    reload: state.reload,
    reloadSignals: state.reloadSignals,
    procs,
    stopping: [...state.stopping.entries()],
    services,
    checks,
  };
}

export type SnapshotRead =
  | { readonly ok: true; readonly state: State }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** A snapshot read back from a log: validated, then the very state it was taken from. */
export function fromSnapshot(raw: unknown): SnapshotRead {
  const res = validate(snapshotSchema, raw);
  if (!res.ok) return res;
  const s = res.value;
  const problems: ConfigProblem[] = [];
  const defOf = <T>(def: T | null, fromConfig: T | undefined, path: string): T => {
    if (def !== null) return def;
    if (fromConfig === undefined)
      problems.push({ path, value: null, message: 'must be given: the config has none' });
    return fromConfig as T;
  };
  let procs = emptyPidTree<Entry>();
  for (const [p, e] of s.procs) {
    const entry: Entry =
      e.kind === 'service'
        ? {
            kind: 'service',
            name: e.name,
            gen: e.gen,
            incarnation: e.incarnation,
            startTime: e.startTime,
            exe: e.exe,
            def: e.def === 'same' ? defOf(null, s.config?.services[e.name], `procs[${p}].def`) : e.def,
            leaderExit: e.leaderExit,
          }
        : e;
    const ins = procs.insert(p, entry);
    if (!ins.ok) problems.push({ path: `procs`, value: p, message: 'must not hold a PID twice' });
    else procs = ins.map;
  }
  let stopping = emptyPidTree<Stopping>();
  for (const [p, st] of s.stopping) stopping = stopping.set(p, st);
  let services = HashMap.empty<ServiceStatus>();
  // Rebuilt through the state's own copies: every status gets the one shape the fold makes.
  for (const [name, st] of Object.entries(s.services)) {
    const def = defOf(st.def, s.config?.services[name], `services.${name}.def`);
    services = services.set(name, copyService({ ...st, def }));
  }
  let checks = HashMap.empty<CheckStatus>();
  for (const [name, c] of Object.entries(s.checks)) {
    const def = defOf(c.def, s.config?.checks[name], `checks.${name}.def`);
    checks = checks.set(name, copyCheck({ ...c, def }));
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    state: {
      seq: s.seq,
      bootId: s.bootId,
      instance: s.instance,
      instanceGen: s.instanceGen,
      phase: s.phase,
      gen: s.gen,
      config: s.config,
      reload: s.reload,
      reloadSignals: s.reloadSignals,
      procs,
      orphans: countOrphans(procs, s.instanceGen),
      stopping,
      services,
      checks,
    },
  };
}

// Compile-time ties: what the schema accepts is what the state holds.
const _service: Schema<Snapshot['services'][string]> = serviceStatusSchema;
const _check: Schema<Snapshot['checks'][string]> = checkStatusSchema;
const _whole: Schema<Snapshot> = snapshotSchema;
void _service;
void _check;
void _whole;

/**
 * A snapshot record's `state` for the registry `state` as it stands after the event `seq`
 * (the live supervisor folds only inputs, so its own count lags the log's: the log's seq is
 * the one a reader's fold will have reached).
 */
export function snapshotState(state: State, seq: number): Readonly<Record<string, unknown>> {
  return toSnapshot({ ...state, seq }) as unknown as Readonly<Record<string, unknown>>;
}

function countOrphans(procs: PidTree<Entry>, instanceGen: number): number {
  let n = 0;
  for (const [, e] of procs.entries()) if (e.gen < instanceGen) n++;
  return n;
}
