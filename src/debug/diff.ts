/**
 * `procreg diff`: what changed between two points of a log (seqs, times or `gen:N`):
 * services and checks added, removed and changed (with the config fields), processes
 * started and ended and how, health changes, the supervisor's phase and generation.
 */
import { registryView, type RegistryView } from '../core/view.js';
import type { State } from '../core/state.js';
import type { NormalizedConfig } from '../config/types.js';
import { clockTime, configDuration, type TimeStyle } from './format.js';
import { describePoint, type Point, PointSeeker } from './point.js';
import { endedByText } from './history.js';
import { type EndKind, type FieldChange, fieldChanges, Story } from './story.js';
import { type EventInput, batchesOf } from './walk.js';

export interface PointInfo {
  /** The point as asked (`seq 120`, `gen:2`, a time). */
  readonly point: string;
  /** The last event at or before it. */
  readonly seq: number;
  readonly time: number;
  readonly generation: number;
  readonly phase: State['phase'];
}

export interface DefChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { readonly name: string; readonly fields: readonly FieldChange[] }[];
}

type ServiceView = RegistryView['services'][number];

export interface ServiceDiff {
  readonly name: string;
  readonly from: Pick<ServiceView, 'state' | 'pid' | 'incarnation' | 'restarts' | 'generation'> | null;
  readonly to: Pick<ServiceView, 'state' | 'pid' | 'incarnation' | 'restarts' | 'generation'> | null;
  /** Incarnations started and ended in between, and how they ended. */
  readonly started: number;
  readonly ended: number;
  readonly endedBy: Readonly<Partial<Record<EndKind, number>>>;
  /** The first few, for a person. */
  readonly starts: readonly {
    readonly incarnation: number;
    readonly pid: number | null;
    readonly seq: number;
    readonly time: number;
  }[];
  readonly ends: readonly {
    readonly incarnation: number;
    readonly pid: number | null;
    readonly seq: number;
    readonly time: number;
    readonly how: string;
  }[];
}

export interface CheckDiff {
  readonly name: string;
  readonly from: { readonly healthy: boolean | null } | null;
  readonly to: { readonly healthy: boolean | null } | null;
  readonly runs: number;
  readonly failures: number;
  readonly healthChanges: readonly {
    readonly healthy: boolean;
    readonly seq: number;
    readonly time: number;
  }[];
}

export interface LogDiff {
  readonly from: PointInfo;
  readonly to: PointInfo;
  /** procreg restarts (supervisor-started) in between. */
  readonly supervisorStarts: number;
  readonly reloads: readonly { readonly gen: number; readonly seq: number; readonly time: number }[];
  readonly config: { readonly services: DefChanges; readonly checks: DefChanges };
  /** Services whose state changed or that started or ended processes, by name. */
  readonly services: readonly ServiceDiff[];
  readonly checks: readonly CheckDiff[];
}

export type DiffResult =
  { readonly ok: true; readonly diff: LogDiff } | { readonly ok: false; readonly error: string };

/** Items listed per service or check (the counts are always complete). */
const LISTED = 10;

interface Captured {
  state: State;
  seq: number;
  time: number;
}

export async function diffPoints(
  events: EventInput,
  fromPoint: Point,
  toPoint: Point,
  style: TimeStyle = {},
): Promise<DiffResult> {
  const story = new Story();
  const A = new PointSeeker(fromPoint);
  const B = new PointSeeker(toPoint);
  let a: Captured | null = null;
  let b: Captured | null = null;
  let inside = false;
  const svc = new Map<
    string,
    {
      started: number;
      ended: number;
      endedBy: Partial<Record<EndKind, number>>;
      starts: ServiceDiff['starts'][number][];
      ends: ServiceDiff['ends'][number][];
    }
  >();
  const chk = new Map<
    string,
    { runs: number; failures: number; changes: CheckDiff['healthChanges'][number][] }
  >();
  let supervisorStarts = 0;
  const reloads: LogDiff['reloads'][number][] = [];
  const svcOf = (n: string) => {
    let x = svc.get(n);
    if (!x) svc.set(n, (x = { started: 0, ended: 0, endedBy: {}, starts: [], ends: [] }));
    return x;
  };
  const chkOf = (n: string) => {
    let x = chk.get(n);
    if (!x) chk.set(n, (x = { runs: 0, failures: 0, changes: [] }));
    return x;
  };
  story.listen({
    onStart: (inc) => {
      if (!inside) return;
      const x = svcOf(inc.service);
      x.started++;
      if (x.starts.length < LISTED)
        x.starts.push({
          incarnation: inc.incarnation,
          pid: inc.pid,
          seq: inc.started.seq,
          time: inc.started.time,
        });
    },
    onEnding: (end) => {
      if (!inside) return;
      const x = svcOf(end.incarnation.service);
      x.ended++;
      x.endedBy[end.cause.kind] = (x.endedBy[end.cause.kind] ?? 0) + 1;
      if (x.ends.length < LISTED)
        x.ends.push({
          incarnation: end.incarnation.incarnation,
          pid: end.incarnation.pid,
          seq: end.at.seq,
          time: end.at.time,
          how: endedByText(end),
        });
    },
    onStep: (s) => {
      if (!inside) return;
      const e = s.event;
      if (e.type === 'supervisor-started') supervisorStarts++;
      else if (e.type === 'reload-applied') reloads.push({ gen: e.gen, seq: e.seq, time: e.time });
      else if (e.type === 'check-finished' && !e.stale) {
        const x = chkOf(e.name);
        x.runs++;
        if (!e.ok) x.failures++;
      } else if (e.type === 'check-health-changed') {
        const x = chkOf(e.name);
        if (x.changes.length < LISTED) x.changes.push({ healthy: e.healthy, seq: e.seq, time: e.time });
      }
    },
  });
  const capture = (): Captured => ({
    state: story.state,
    seq: story.lastEvent?.seq ?? 0,
    time: story.lastEvent?.time ?? 0,
  });
  reading: for await (const batch of batchesOf(events))
    for (const e of batch) {
      const aPast = a === null && A.passes(e);
      const bPast = b === null && B.passes(e);
      if (aPast) a = capture();
      if (bPast) {
        if (a === null) return { ok: false, error: order(fromPoint, toPoint, style) };
        b = capture();
        break reading;
      }
      inside = a !== null;
      story.push(e);
      if (a === null && A.reached(e, story.state.gen)) {
        a = capture();
        inside = true;
      }
      if (b === null && B.reached(e, story.state.gen)) {
        if (a === null) return { ok: false, error: order(fromPoint, toPoint, style) };
        b = capture();
        break reading;
      }
      if (a !== null) inside = true;
    }
  // The endings of the last step read settle now; they count only if their input was inside.
  story.finish();
  const aErr = a === null ? A.verdict(style) : null;
  if (aErr) return { ok: false, error: `from ${describePoint(fromPoint, style)}: ${aErr}` };
  const bErr = b === null ? B.verdict(style) : null;
  if (bErr) return { ok: false, error: `to ${describePoint(toPoint, style)}: ${bErr}` };
  a ??= capture();
  b ??= capture();
  const info = (p: Point, c: Captured): PointInfo => ({
    point: describePoint(p, style),
    seq: c.seq,
    time: c.time,
    generation: c.state.gen,
    phase: c.state.phase,
  });
  const va = registryView(a.state);
  const vb = registryView(b.state);
  const pick = (s: ServiceView | undefined) =>
    s
      ? {
          state: s.state,
          pid: s.pid,
          incarnation: s.incarnation,
          restarts: s.restarts,
          generation: s.generation,
        }
      : null;
  const names = [
    ...new Set([...va.services.map((s) => s.name), ...vb.services.map((s) => s.name), ...svc.keys()]),
  ].sort();
  const services: ServiceDiff[] = [];
  for (const name of names) {
    const from = pick(va.services.find((s) => s.name === name));
    const to = pick(vb.services.find((s) => s.name === name));
    const x = svc.get(name);
    if (!x && JSON.stringify(from) === JSON.stringify(to)) continue;
    services.push({
      name,
      from,
      to,
      started: x?.started ?? 0,
      ended: x?.ended ?? 0,
      endedBy: x?.endedBy ?? {},
      starts: x?.starts ?? [],
      ends: x?.ends ?? [],
    });
  }
  const cnames = [
    ...new Set([...va.checks.map((c) => c.name), ...vb.checks.map((c) => c.name), ...chk.keys()]),
  ].sort();
  const checks: CheckDiff[] = [];
  for (const name of cnames) {
    const ca = va.checks.find((c) => c.name === name);
    const cb = vb.checks.find((c) => c.name === name);
    const x = chk.get(name);
    const from = ca ? { healthy: ca.healthy } : null;
    const to = cb ? { healthy: cb.healthy } : null;
    if (!x && JSON.stringify(from) === JSON.stringify(to)) continue;
    checks.push({
      name,
      from,
      to,
      runs: x?.runs ?? 0,
      failures: x?.failures ?? 0,
      healthChanges: x?.changes ?? [],
    });
  }
  return {
    ok: true,
    diff: {
      from: info(fromPoint, a),
      to: info(toPoint, b),
      supervisorStarts,
      reloads,
      config: {
        services: defChanges(a.state.config, b.state.config, 'services'),
        checks: defChanges(a.state.config, b.state.config, 'checks'),
      },
      services,
      checks,
    },
  };
}

function order(from: Point, to: Point, style: TimeStyle): string {
  return `${describePoint(to, style)} comes before ${describePoint(from, style)}: give the earlier point first`;
}

function defChanges(
  a: NormalizedConfig | null,
  b: NormalizedConfig | null,
  key: 'services' | 'checks',
): DefChanges {
  const before: Record<string, unknown> = a?.[key] ?? {};
  const after: Record<string, unknown> = b?.[key] ?? {};
  const added = Object.keys(after)
    .filter((n) => !(n in before))
    .sort();
  const removed = Object.keys(before)
    .filter((n) => !(n in after))
    .sort();
  const changed = Object.keys(after)
    .filter((n) => n in before)
    .sort()
    .map((name) => ({ name, fields: fieldChanges(before[name], after[name]) }))
    .filter((c) => c.fields.length > 0);
  return { added, removed, changed };
}

// ----- text --------------------------------------------------------------------------------------

export function renderDiff(d: LogDiff, style: TimeStyle = {}): string {
  const at = (p: PointInfo) =>
    `seq ${p.seq} (${clockTime(p.time, style)}, generation ${p.generation}, procreg ${p.phase})`;
  const out: string[] = [
    `diff from ${d.from.point}: ${at(d.from)}`,
    `       to ${d.to.point}: ${at(d.to)}`,
    '',
  ];
  const between: string[] = [];
  if (d.from.phase !== d.to.phase) between.push(`procreg ${d.from.phase} → ${d.to.phase}`);
  if (d.supervisorStarts) between.push(`procreg started ${d.supervisorStarts} time(s)`);
  if (d.reloads.length)
    between.push(
      `${d.reloads.length} reload(s): ${d.reloads.map((r) => `generation ${r.gen} at ${clockTime(r.time, style)}`).join(', ')}`,
    );
  out.push(`supervisor: ${between.length ? between.join('; ') : 'no change'}`);
  const defs = (title: string, c: DefChanges) => {
    if (!c.added.length && !c.removed.length && !c.changed.length) return;
    out.push(`${title}:`);
    if (c.added.length) out.push(`  added: ${c.added.join(', ')}`);
    if (c.removed.length) out.push(`  removed: ${c.removed.join(', ')}`);
    for (const ch of c.changed) {
      out.push(`  changed: ${ch.name}`);
      for (const f of ch.fields) out.push(`    ${f.path}: ${show(f.from, f.path)} → ${show(f.to, f.path)}`);
    }
  };
  const before = out.length;
  defs('config services', d.config.services);
  defs('config checks', d.config.checks);
  if (out.length === before) out.push('config: no change');
  out.push('');
  if (d.services.length === 0) out.push('services: no change');
  for (const s of d.services) {
    const st = (x: ServiceDiff['from']) =>
      x
        ? `${x.state}${x.incarnation ? ` #${x.incarnation}` : ''}${x.pid !== null ? ` pid ${x.pid}` : ''}`
        : 'absent';
    out.push(`service ${s.name}: ${st(s.from)} → ${st(s.to)}`);
    if (s.started || s.ended) {
      const by = Object.entries(s.endedBy)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      out.push(`  ${s.started} started, ${s.ended} ended${by ? ` (${by})` : ''}`);
    }
    for (const x of s.starts)
      out.push(
        `  + #${x.incarnation}${x.pid !== null ? ` pid ${x.pid}` : ''} started ${clockTime(x.time, style)}  [seq ${x.seq}]`,
      );
    if (s.started > s.starts.length) out.push(`  + … ${s.started - s.starts.length} more`);
    for (const x of s.ends)
      out.push(
        `  - #${x.incarnation}${x.pid !== null ? ` pid ${x.pid}` : ''} ended ${clockTime(x.time, style)}: ${x.how}  [seq ${x.seq}]`,
      );
    if (s.ended > s.ends.length) out.push(`  - … ${s.ended - s.ends.length} more`);
  }
  out.push('');
  if (d.checks.length === 0) out.push('checks: no change');
  const h = (x: { healthy: boolean | null } | null) =>
    x === null ? 'absent' : x.healthy === null ? 'unknown' : x.healthy ? 'healthy' : 'unhealthy';
  for (const c of d.checks) {
    out.push(`check ${c.name}: ${h(c.from)} → ${h(c.to)}; ${c.runs} run(s), ${c.failures} failed`);
    for (const x of c.healthChanges)
      out.push(`  ${x.healthy ? 'healthy' : 'unhealthy'} at ${clockTime(x.time, style)}  [seq ${x.seq}]`);
  }
  return out.join('\n');
}

function show(v: unknown, path: string): string {
  if (typeof v === 'number' && /Ms$/.test(path)) return configDuration(v);
  const t = JSON.stringify(v);
  return t === undefined ? 'absent' : t.length > 80 ? `${t.slice(0, 77)}...` : t;
}
