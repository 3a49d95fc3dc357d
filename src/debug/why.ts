/**
 * `procreg why`: the causal chain of one decision, as data the fold already knows — which
 * input triggered it, which rule and config value chose the outcome, with the numbers, back
 * to the root cause (an exit caused by a check kill points to the check's failures; a stop
 * points to the reload that removed the service). Without a target: why a service or check
 * is in its current state, including why nothing is happening.
 */
import { nextBackoffDelay } from '../core/backoff.js';
import type { ServiceStatus } from '../core/state.js';
import { EVENT_KINDS } from '../events/types.js';
import { describeStep, lastWordsText } from './describe.js';
import { KnownNames } from './filter.js';
import { clockTime, configDuration, duration, listWords, ordinal, type TimeStyle } from './format.js';
import {
  type EndCause,
  type Ending,
  type FieldChange,
  type HealthRef,
  type Incarnation,
  type ReloadRef,
  type RunResult,
  type StopRef,
  Story,
} from './story.js';
import { batchesOf, type EventInput, type Step } from './walk.js';

export interface WhyLink {
  readonly seq: number | null;
  readonly time: number | null;
  /**
   * decision: what the fold decided; rule: the rule and config values that chose it, with the
   * numbers; input: what happened that the fold reacted to; state: how things stand.
   */
  readonly role: 'decision' | 'rule' | 'input' | 'state';
  readonly text: string;
}

export interface WhyAnswer {
  readonly subject: { readonly kind: 'service' | 'check'; readonly name: string };
  /** What was asked: `the end of web #1`, `seq 115`, `the current state`. */
  readonly question: string;
  /** The answer in one line. */
  readonly answer: string;
  /** From the decision back to the root cause. */
  readonly chain: readonly WhyLink[];
  /** The root cause in words. */
  readonly root: string;
  /** Where the log (as read) ends. */
  readonly logEnd: { readonly seq: number; readonly time: number };
}

export type WhyTarget =
  | { readonly kind: 'current' }
  | { readonly kind: 'incarnation'; readonly incarnation: number }
  | { readonly kind: 'seq'; readonly seq: number };

/** `#7`, `@120`, or nothing (the current state). */
export function parseWhyTarget(
  text: string | undefined,
): { ok: true; value: WhyTarget } | { ok: false; error: string } {
  if (text === undefined || text === '') return { ok: true, value: { kind: 'current' } };
  const inc = /^#(\d+)$/.exec(text);
  if (inc) return { ok: true, value: { kind: 'incarnation', incarnation: Number(inc[1]) } };
  const at = /^@(\d+)$/.exec(text);
  if (at) return { ok: true, value: { kind: 'seq', seq: Number(at[1]) } };
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not a target: give #<incarnation> (#7) or @<seq> (@120)`,
  };
}

const link = (
  role: WhyLink['role'],
  text: string,
  at: { seq: number; time: number } | null = null,
): WhyLink => ({
  seq: at?.seq ?? null,
  time: at?.time ?? null,
  role,
  text,
});

// ----- an incarnation's end ---------------------------------------------------------------------

/** The chain of an incarnation's end: what followed, by which rule, the exit, and who caused it. */
export function explainEnding(
  end: Ending,
  style: TimeStyle = {},
): { chain: WhyLink[]; root: string; answer: string } {
  const inc = end.incarnation;
  const name = inc.service;
  const chain: WhyLink[] = [];
  const n = end.next;
  const ran = end.uptimeMs !== null ? ` ${duration(end.uptimeMs)}` : '';
  let answer: string;
  switch (n.kind) {
    case 'restart': {
      const b = n.backoff;
      answer = `restarted after ${duration(n.delayMs)}`;
      chain.push(
        link(
          'decision',
          `${name} restart as #${inc.incarnation + 1} scheduled in ${duration(n.delayMs)} (restart ${n.restarts})`,
          n.at,
        ),
      );
      if (n.reset)
        chain.push(
          link(
            'rule',
            `#${inc.incarnation} ran${ran} ≥ backoff.resetAfter ${configDuration(b.resetAfterMs)}: a stable run, so the backoff starts over at backoff.initial ${configDuration(b.initialMs)}`,
          ),
        );
      else if (n.quickFailures === 0)
        chain.push(
          link(
            'rule',
            `first exit before backoff.resetAfter ${configDuration(b.resetAfterMs)} (it ran${ran || ' not at all'}): delay = backoff.initial ${configDuration(b.initialMs)}`,
          ),
        );
      else {
        const raw = b.initialMs * b.factor ** n.quickFailures;
        const capped = nextBackoffDelay(b, n.quickFailures) < raw;
        chain.push(
          link(
            'rule',
            `${ordinal(n.quickFailures + 1)} consecutive exit before backoff.resetAfter ${configDuration(b.resetAfterMs)} → ${configDuration(b.initialMs)} × ${b.factor}^${n.quickFailures} = ${duration(raw)}${capped ? `, capped at backoff.max ${configDuration(b.maxMs)}` : ''}`,
          ),
        );
      }
      chain.push(
        link(
          'rule',
          `restarts in the last ${configDuration(n.intensity.withinMs)}: ${n.inWindow} of maxRestarts ${n.intensity.count}`,
        ),
      );
      break;
    }
    case 'restart-now':
      answer = 'restarted at once';
      chain.push(
        link(
          'decision',
          `${name} restarted at once as #${inc.incarnation + 1} (restart ${n.restarts})`,
          n.at,
        ),
      );
      chain.push(
        link(
          'rule',
          `a restart a failed check asks for waits for the exit, not for a backoff; it counts: restarts in the last ${configDuration(n.intensity.withinMs)}: ${n.inWindow} of maxRestarts ${n.intensity.count}`,
        ),
      );
      break;
    case 'respawn':
      answer = `started again at once (${n.cause})`;
      chain.push(link('decision', `${name} started again at once as #${inc.incarnation + 1}`, n.at));
      chain.push(
        link(
          'rule',
          `the ${n.cause === 'reload' ? 'reload' : 'start request'} was waiting for this exit to start the new incarnation; not counted as a restart`,
        ),
      );
      break;
    case 'given-up': {
      answer = `given up: ${n.inWindow} restarts within ${configDuration(n.intensity.withinMs)} already, maxRestarts ${n.intensity.count}`;
      chain.push(
        link(
          'decision',
          `${name} given up at ${clockTime(end.at.time, style)} (reached_max_restart_intensity, as OTP says)`,
          n.at,
        ),
      );
      const ages = n.windowAgesMs.map((a) => duration(a));
      chain.push(
        link(
          'rule',
          `one more restart would make ${n.inWindow + 1} within ${configDuration(n.intensity.withinMs)} > maxRestarts ${n.intensity.count}${ages.length ? `: the restarts that count were ${listWords(ages)} before this exit` : ''}`,
        ),
      );
      break;
    }
    case 'failed':
      answer = `failed: exit code ${n.code} is fatal`;
      chain.push(link('decision', `${name} failed: no restart`, n.at));
      chain.push(link('rule', `exit code ${n.code} is listed in fatalExitCodes`));
      break;
    case 'stay-down':
      answer = `stays down: ${n.reason}`;
      chain.push(link('decision', `${name} stays down: ${n.reason}`));
      if (n.reason.includes('restart:'))
        chain.push(
          link(
            'rule',
            `restart: ${n.policy} — ${n.policy === 'never' ? 'never restarted' : 'restarted only after a failure (a non-zero code, a signal or a failed spawn)'}`,
          ),
        );
      break;
    case 'removed':
      answer = 'removed from the registry';
      chain.push(link('decision', `${name} removed from the registry: the config in force no longer has it`));
      break;
    case 'successor':
      answer = `the new procreg's ${name} started`;
      chain.push(
        link('decision', `the new procreg started its own ${name} once this process was gone`, n.at),
      );
      break;
    case 'none':
      answer = 'nothing followed: it was not the service’s current incarnation';
      break;
  }
  chain.push(exitLink(end));
  if (end.lastWords) chain.push(link('input', lastWordsText(end.lastWords)));
  const { links, root } = causeChain(end.cause, name, inc, end, style);
  chain.push(...links);
  return { chain, root, answer };
}

function exitLink(end: Ending): WhyLink {
  const inc = end.incarnation;
  const who = `${inc.service} #${inc.incarnation}${inc.pid !== null ? ` (pid ${inc.pid})` : ''}`;
  const uptime = end.uptimeMs !== null ? ` after ${duration(end.uptimeMs)}` : '';
  let what: string;
  if (end.error !== null) what = `could not start: ${end.error}`;
  else if (end.inputType === 'orphan-reaped' || (end.code === null && end.signal === null))
    what = `was gone${uptime}`;
  else if (end.signal !== null) what = `was killed by ${end.signal}${uptime}`;
  else what = `exited code ${end.code}${uptime}`;
  return link('input', `${who} ${what}`, end.at);
}

function causeChain(
  c: EndCause,
  name: string,
  inc: Incarnation,
  end: Ending | null,
  style: TimeStyle,
): { links: WhyLink[]; root: string } {
  const links: WhyLink[] = [];
  const how = end
    ? end.signal !== null
      ? `was killed by ${end.signal}`
      : `exited with code ${end.code}`
    : '';
  switch (c.kind) {
    case 'crash':
      return {
        links,
        root: `${name} ${how} on its own: nobody had asked it to stop${end?.lastWords ? ` (${lastWordsText(end.lastWords)})` : ''}`,
      };
    case 'exit':
      return { links, root: `${name} exited on its own with code 0: nobody had asked it to stop` };
    case 'spawn-failed':
      return { links, root: `the spawn failed: ${c.error}` };
    case 'check': {
      links.push(
        stopLink(c.stop, name, inc, `check ${c.health?.check ?? '?'} turned unhealthy and restarts ${name}`),
      );
      if (!c.health) return { links, root: 'a check turned unhealthy' };
      links.push(...healthLinks(c.health));
      return { links, root: healthRoot(c.health) };
    }
    case 'reload': {
      links.push(
        stopLink(c.stop, name, inc, c.removed ? 'a reload removed it' : 'a reload changed its definition'),
      );
      if (c.reload) links.push(...reloadLinks(c.reload, name, c.fields, style));
      const changes = c.fields.length ? ` (${fieldsText(c.fields)})` : '';
      const via = c.reload?.requested
        ? ` and a reload (${c.reload.requested.source}) applied it`
        : c.reload
          ? ' and a reload applied it'
          : '';
      return {
        links,
        root: c.removed
          ? `the config no longer has ${name}${via}${c.reload ? ` as generation ${c.reload.gen}` : ''}`
          : `the config changed ${name}${changes}${via}${c.reload ? ` as generation ${c.reload.gen}` : ''}`,
      };
    }
    case 'operator':
      links.push(stopLink(c.stop, name, inc, 'stop requested'));
      if (c.request) links.push(link('input', `${name}: stop requested (control socket or API)`, c.request));
      return { links, root: `an operator asked procreg to stop ${name}` };
    case 'procreg-stop':
      if (c.stop) links.push(stopLink(c.stop, name, inc, 'procreg is stopping'));
      if (c.stopping) links.push(link('input', `procreg stopping (${c.stopping.reason})`, c.stopping));
      return {
        links,
        root: `procreg was told to stop${c.stopping ? ` (${c.stopping.reason})` : ''}: it stops every service and restarts none`,
      };
    case 'orphan-reaping':
      if (c.reaped)
        links.push(
          link(
            'input',
            `procreg pid ${c.successor.pid} found ${name} #${inc.incarnation} (pid ${inc.pid}) left running: ${c.reaped.outcome === 'signalled' ? 'proven its predecessor’s and sent its stop signal' : c.reaped.outcome}${c.reaped.detail ? ` (${c.reaped.detail})` : ''}`,
            c.reaped,
          ),
        );
      links.push(
        link(
          'input',
          `procreg started again (pid ${c.successor.pid}, instance ${c.successor.instance}) and found the processes of the previous one still registered`,
          c.successor,
        ),
      );
      if (c.predecessorLast)
        links.push(
          link(
            'state',
            `the previous procreg’s last event was seq ${c.predecessorLast.seq} at ${clockTime(c.predecessorLast.time, style)}: it ended there without stopping its services`,
            c.predecessorLast,
          ),
        );
      return {
        links,
        root: `the procreg that started ${name} #${inc.incarnation} ended without stopping it (it crashed or was killed); the next procreg reaped it`,
      };
    case 'forgotten':
      return {
        links,
        root: `${name} #${inc.incarnation} was ${c.reason}: it cannot be running, so it was forgotten, not reaped`,
      };
    case 'unwanted':
      if (c.stop) links.push(stopLink(c.stop, name, inc, 'not the incarnation the registry waited for'));
      return {
        links,
        root: `the process was not the incarnation the registry waited for (a late or duplicate spawn)`,
      };
    case 'unknown':
      return { links, root: 'the log does not say' };
  }
}

function stopLink(stop: StopRef, name: string, inc: Incarnation, why: string): WhyLink {
  return link('input', `${stop.signal} sent to ${name} #${inc.incarnation}'s process group: ${why}`, stop);
}

function runText(check: string, r: RunResult): string {
  const how = r.timedOut
    ? `timed out after ${duration(r.durationMs)}`
    : r.ok
      ? `ok in ${duration(r.durationMs)}`
      : `failed: ${r.signal !== null ? `signal ${r.signal}` : `code ${r.code}`} after ${duration(r.durationMs)}`;
  return `${check} run ${r.run} ${how}`;
}

function healthLinks(h: HealthRef): WhyLink[] {
  const word = h.healthy ? 'successes' : 'failures';
  const limit = h.healthy ? `rise ${h.rise}` : `fall ${h.fall}`;
  const links = [
    link(
      'input',
      `${h.check} turned ${h.healthy ? 'healthy' : 'unhealthy'}: ${h.runs.length} ${word} in a row reached ${limit}`,
      h,
    ),
  ];
  const shown = h.runs.slice(-Math.max(h.healthy ? h.rise : h.fall, 1));
  for (const r of [...shown].reverse()) links.push(link('input', runText(h.check, r), r));
  return links;
}

function healthRoot(h: HealthRef): string {
  const shown = h.runs.slice(-Math.max(h.fall, 1));
  const timeouts = shown.filter((r) => r.timedOut).length;
  const codes = [
    ...new Set(
      shown
        .filter((r) => !r.timedOut)
        .map((r) => (r.signal !== null ? `signal ${r.signal}` : `code ${r.code}`)),
    ),
  ];
  const parts = [
    ...(codes.length ? [`failed with ${listWords(codes)}`] : []),
    ...(timeouts ? [`timed out ${timeouts} time${timeouts > 1 ? 's' : ''}`] : []),
  ];
  return `${h.check}'s script ${parts.join(' and ') || 'failed'}: ${shown.length} time${shown.length === 1 ? '' : 's'} in a row (fall ${h.fall})`;
}

function fieldsText(fields: readonly FieldChange[]): string {
  const show = (v: unknown) => {
    const t = JSON.stringify(v);
    return t.length > 60 ? `${t.slice(0, 57)}...` : t;
  };
  const shown = fields.slice(0, 4).map((f) => `${f.path}: ${show(f.from)} → ${show(f.to)}`);
  return `${shown.join(', ')}${fields.length > 4 ? `, and ${fields.length - 4} more` : ''}`;
}

function reloadLinks(
  r: ReloadRef,
  name: string,
  fields: readonly FieldChange[],
  _style: TimeStyle,
): WhyLink[] {
  const links: WhyLink[] = [];
  const what = r.removed.includes(name)
    ? `removes ${name}`
    : r.added.includes(name)
      ? `adds ${name}`
      : `changes ${name}${fields.length ? ` (${fieldsText(fields)})` : ''}`;
  links.push(link('input', `generation ${r.gen} applied: it ${what}`, r));
  links.push(link('input', `config loaded from ${r.loaded.source}`, r.loaded));
  if (r.requested) links.push(link('input', `reload requested (${r.requested.source})`, r.requested));
  return links;
}

// ----- a start ---------------------------------------------------------------------------------

function explainStart(
  inc: Incarnation,
  story: Story,
  prev: Ending | null,
  style: TimeStyle,
): { chain: WhyLink[]; root: string } {
  const chain: WhyLink[] = [];
  const name = inc.service;
  const pid = inc.pid !== null ? `, pid ${inc.pid}` : '';
  const startedLink = link(
    'input',
    `${name} #${inc.incarnation} started${pid} (gen ${inc.gen})`,
    inc.started,
  );
  switch (inc.reason) {
    case 'start': {
      chain.push(startedLink);
      const req = inc.requested;
      chain.push(
        link(
          'decision',
          `${name} #${inc.incarnation} requested: the config of generation ${inc.gen} has ${name}`,
          req,
        ),
      );
      return { chain, root: `procreg started with a config that has ${name}` };
    }
    case 'restart':
      chain.push(startedLink);
      chain.push(link('decision', `${name} #${inc.incarnation} requested as a restart`, inc.requested));
      if (prev && prev.incarnation.incarnation === inc.incarnation - 1) {
        const sub = explainEnding(prev, style);
        chain.push(...sub.chain);
        return { chain, root: sub.root };
      }
      return {
        chain,
        root: inc.after ? `#${inc.after.incarnation} ended (${inc.after.summary})` : 'its predecessor ended',
      };
    case 'reload': {
      chain.push(startedLink);
      const r = story.reloadFor(name);
      if (r) chain.push(...reloadLinks(r, name, [], style));
      return {
        chain,
        root: `a reload${inc.reloadGen !== null ? ` (generation ${inc.reloadGen})` : ''} added or changed ${name}`,
      };
    }
    case 'requested': {
      chain.push(startedLink);
      const req = story.startRequest(name);
      if (req) chain.push(link('input', `${name}: start requested (control socket or API)`, req));
      return { chain, root: `an operator asked procreg to start ${name}` };
    }
    case 'dependency': {
      chain.push(startedLink);
      chain.push(
        link(
          'decision',
          `${name} #${inc.incarnation} requested: a dependency (restart: true) was restarted`,
          inc.requested,
        ),
      );
      const deps = Object.keys(story.state.services.get(name)?.def.dependsOn ?? {});
      return { chain, root: `a dependency of ${name} (${deps.join(', ') || 'see dependsOn'}) was restarted` };
    }
    case null:
      chain.push(startedLink);
      return { chain, root: 'its start is before the part of the log read (a snapshot)' };
  }
}

// ----- the current state -----------------------------------------------------------------------

function explainService(
  story: Story,
  name: string,
  style: TimeStyle,
): Omit<WhyAnswer, 'subject' | 'logEnd' | 'question'> {
  const state = story.state;
  const svc = state.services.get(name);
  const last = story.lastEvent;
  const chain: WhyLink[] = [];
  const prev = story.lastEnding(name);
  const sup = supervisorLinks(story, style);
  if (!svc) {
    const r = story.reloadFor(name);
    if (r && r.removed.includes(name)) {
      chain.push(...reloadLinks(r, name, [], style));
      if (prev) chain.push(...explainEnding(prev, style).chain);
      return {
        answer: `${name} is no longer in the registry: generation ${r.gen} removed it at ${clockTime(r.time, style)}`,
        chain,
        root: `the config no longer has ${name}`,
      };
    }
    chain.push(...sup.links);
    return { answer: `${name} is not in the registry (${sup.phrase})`, chain, root: sup.phrase };
  }
  const endChain = prev ? explainEnding(prev, style) : null;
  switch (svc.phase) {
    case 'running': {
      const inc = story.current(name);
      const since = svc.startedAt !== null ? ` since ${clockTime(svc.startedAt, style)}` : '';
      const up =
        svc.startedMono !== null && last
          ? ` (up ${duration(last.mono - svc.startedMono)} at the end of the log)`
          : '';
      chain.push(
        link(
          'state',
          `${name} #${svc.incarnation} is running, pid ${svc.pid}${since}${up}; nothing is pending for it`,
        ),
      );
      chain.push(...checkLinks(story, name));
      if (inc) {
        const s = explainStart(inc, story, prev, style);
        chain.push(...s.chain);
        return {
          answer: `running as #${svc.incarnation} (pid ${svc.pid})${since}`,
          chain: [...chain, ...sup.links],
          root: s.root,
        };
      }
      return {
        answer: `running as #${svc.incarnation} (pid ${svc.pid})`,
        chain: [...chain, ...sup.links],
        root: 'its start is before the log read',
      };
    }
    case 'backoff': {
      const t = svc.timer;
      const restart = prev?.next.kind === 'restart' ? prev.next : null;
      const due = restart?.at ? restart.at.time + restart.delayMs : null;
      const dueText = due !== null ? ` until ${clockTime(due, style)}` : '';
      const after =
        due !== null && last
          ? last.time < due
            ? ` (the log ends ${duration(due - last.time)} before then)`
            : ` (due ${duration(last.time - due)} before the log ends: the timer has not been reported to fire)`
          : '';
      chain.push(
        link(
          'state',
          `${name} is waiting${restart ? ` ${duration(restart.delayMs)}` : ''} backoff${dueText}, then starts #${t?.kind === 'backoff' ? t.incarnation : svc.incarnation + 1}${after}`,
        ),
      );
      if (endChain) chain.push(...endChain.chain);
      return {
        answer: `waiting ${restart ? `${duration(restart.delayMs)} ` : ''}backoff${dueText}`,
        chain: [...chain, ...sup.links],
        root: endChain?.root ?? 'its last incarnation ended',
      };
    }
    case 'given-up': {
      const g = prev?.next.kind === 'given-up' ? prev.next : null;
      const at = prev ? ` at ${clockTime(prev.at.time, style)}` : '';
      const numbers = g
        ? `: ${g.inWindow + 1} restarts within ${configDuration(g.intensity.withinMs)} > maxRestarts ${g.intensity.count}`
        : '';
      chain.push(
        link('state', `${name} is given up${at}${numbers}; nothing restarts it until a start request`),
      );
      if (endChain) chain.push(...endChain.chain);
      return {
        answer: `given up${at}${numbers}`,
        chain: [...chain, ...sup.links],
        root: endChain?.root ?? svc.reason ?? 'given up',
      };
    }
    case 'failed':
      chain.push(
        link('state', `${name} has failed (${svc.reason}); nothing restarts it until a start request`),
      );
      if (endChain) chain.push(...endChain.chain);
      return {
        answer: `failed: ${svc.reason}`,
        chain: [...chain, ...sup.links],
        root: endChain?.root ?? svc.reason ?? 'failed',
      };
    case 'stopped': {
      const reason = svc.reason ?? 'stopped';
      chain.push(
        link(
          'state',
          `${name} is stopped (${reason}); nothing starts it ${state.phase === 'running' ? 'until a start request' : `while procreg is ${state.phase}`}`,
        ),
      );
      if (reason === 'stop requested') {
        const req = story.stopRequest(name);
        if (req) chain.push(link('input', `${name}: stop requested (control socket or API)`, req));
      }
      if (endChain) chain.push(...endChain.chain);
      chain.push(...sup.links);
      const root =
        reason === 'stop requested'
          ? `an operator asked procreg to stop ${name}`
          : reason === 'supervisor stopping' || reason.startsWith('supervisor')
            ? `procreg was told to stop${story.supervisorStopping ? ` (${story.supervisorStopping.reason})` : ''}`
            : (endChain?.root ?? reason);
      return {
        answer: `stopped: ${reason === 'stop requested' ? 'stopped by operator' : reason}`,
        chain,
        root,
      };
    }
    case 'stopping': {
      const stop = svc.pid !== null ? story.stopOf(svc.pid) : null;
      const sd = svc.pid !== null ? state.stopping.get(svc.pid) : undefined;
      chain.push(
        link(
          'state',
          `${name} #${svc.incarnation} (pid ${svc.pid}) is being stopped${sd ? ` with ${sd.signal}; SIGKILL after ${configDuration(sd.killAt - sd.since)}` : ''}${svc.restartAfterExit ? `; it restarts once it has exited (${svc.restartAfterExit})` : ''}`,
        ),
      );
      if (stop) {
        const inc = story.current(name);
        const c = causeChain(story.stopCause(stop, name), name, inc ?? placeholder(name, svc), null, style);
        chain.push(...c.links);
        return { answer: `being stopped: ${stop.reason}`, chain: [...chain, ...sup.links], root: c.root };
      }
      return { answer: 'being stopped', chain: [...chain, ...sup.links], root: 'a stop' };
    }
    case 'starting':
      chain.push(
        link(
          'state',
          `${name} #${svc.incarnation} has been requested and procreg waits for its process to start`,
        ),
      );
      if (endChain) chain.push(...endChain.chain);
      return {
        answer: `starting #${svc.incarnation}`,
        chain: [...chain, ...sup.links],
        root: endChain?.root ?? 'a start',
      };
    case 'waiting':
      chain.push(
        link('state', `${name}: ${svc.reason ?? 'waiting for the previous procreg’s process to exit'}`),
      );
      chain.push(...sup.links);
      return {
        answer: `waiting: ${svc.reason ?? ''}`,
        chain,
        root: 'the previous procreg left a process of it running; two copies never run at once',
      };
  }
}

function placeholder(name: string, svc: ServiceStatus): Incarnation {
  return {
    service: name,
    incarnation: svc.incarnation,
    instance: 0,
    gen: svc.spawnGen,
    pid: svc.pid,
    started: { seq: 0, time: svc.startedAt ?? 0 },
    startedMono: svc.startedMono ?? 0,
    reason: null,
    requested: null,
    after: null,
    reloadGen: null,
  };
}

function checkLinks(story: Story, service: string): WhyLink[] {
  const out: WhyLink[] = [];
  for (const c of story.state.checks.values()) {
    if (c.def.restartsService !== service || c.removed) continue;
    const h = c.healthy === null ? 'not yet known' : c.healthy ? 'healthy' : 'unhealthy';
    out.push(
      link('state', `its check ${c.name} is ${h} (${c.failures} failure(s) in a row of fall ${c.def.fall})`),
    );
  }
  return out;
}

function supervisorLinks(story: Story, style: TimeStyle): { links: WhyLink[]; phrase: string } {
  const s = story.state;
  const last = story.lastEvent;
  if (!last) return { links: [], phrase: 'the log is empty' };
  const end = `the log ends at seq ${last.seq} (${clockTime(last.time, style)})`;
  switch (s.phase) {
    case 'stopped':
      return { links: [link('state', `procreg stopped; ${end}`, last)], phrase: 'procreg has stopped' };
    case 'stopping':
      return { links: [link('state', `procreg is stopping; ${end}`, last)], phrase: 'procreg is stopping' };
    case 'running':
    case 'starting':
      return {
        links: [
          link(
            'state',
            `${end} while procreg was ${s.phase}: it is still running (a live log) or it died there without a word`,
            last,
          ),
        ],
        phrase: `procreg was ${s.phase}`,
      };
    case 'idle':
      return {
        links: [link('state', `no procreg has started; ${end}`, last)],
        phrase: 'no procreg has started',
      };
  }
}

function explainCheck(
  story: Story,
  name: string,
  style: TimeStyle,
): Omit<WhyAnswer, 'subject' | 'logEnd' | 'question'> {
  const c = story.state.checks.get(name);
  const sup = supervisorLinks(story, style);
  if (!c) {
    const r = story.reloadFor(name);
    if (r && r.removed.includes(name))
      return {
        answer: `${name} is no longer in the registry: generation ${r.gen} removed it`,
        chain: reloadLinks(r, name, [], style),
        root: `the config no longer has ${name}`,
      };
    return { answer: `${name} is not in the registry (${sup.phrase})`, chain: sup.links, root: sup.phrase };
  }
  const chain: WhyLink[] = [];
  const h = story.health(name);
  const status = c.healthy === null ? 'not yet healthy or unhealthy' : c.healthy ? 'healthy' : 'unhealthy';
  const last = c.lastResult;
  chain.push(
    link(
      'state',
      `${name} is ${status}: ${c.successes} success(es) and ${c.failures} failure(s) in a row (rise ${c.def.rise}, fall ${c.def.fall}); every ${configDuration(c.def.intervalMs)}, timeout ${configDuration(c.def.timeoutMs)}${c.inFlight ? `; run ${c.inFlight.run} in flight` : ''}${last ? `; last run ${last.run} ${last.ok ? 'ok' : last.timedOut ? 'timed out' : 'failed'}` : ''}`,
    ),
  );
  if (c.def.restartsService) chain.push(link('rule', `turning unhealthy restarts ${c.def.restartsService}`));
  if (h) chain.push(...healthLinks(h));
  chain.push(...sup.links);
  return {
    answer: `${status}${h ? ` since ${clockTime(h.time, style)}` : ''}`,
    chain,
    root: h
      ? h.healthy
        ? `${h.runs.length} successful run(s) in a row reached rise ${h.rise}`
        : healthRoot(h)
      : 'no verdict yet: not enough runs',
  };
}

// ----- at a seq --------------------------------------------------------------------------------

function explainStep(
  s: Step,
  story: Story,
  style: TimeStyle,
): { answer: string; chain: WhyLink[]; root: string } {
  const e = s.event;
  const at = { seq: e.seq, time: e.time };
  const what = describeStep(s);
  const name = s.service ?? s.check ?? '';
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only these events matter here; the rest change nothing it tracks
  switch (e.type) {
    case 'spawn-requested':
    case 'spawned':
    case 'timer-fired': {
      const inc = s.service !== null ? (story.current(s.service) ?? null) : null;
      if (inc && s.service !== null) {
        const r = explainStart(inc, story, story.lastEnding(s.service), style);
        return { answer: what, chain: [link('input', what, at), ...r.chain], root: r.root };
      }
      break;
    }
    case 'stop-begun': {
      if (s.service === null) break;
      const stop = story.stopOf(e.pid);
      const inc = story.current(s.service);
      if (stop && inc) {
        const c = causeChain(story.stopCause(stop, s.service), s.service, inc, null, style);
        return { answer: what, chain: c.links, root: c.root };
      }
      break;
    }
    case 'check-health-changed':
    case 'check-finished':
    case 'check-timed-out': {
      if (s.check === null) break;
      const h = story.health(s.check);
      const chain = [link(e.type === 'check-health-changed' ? 'decision' : 'input', what, at)];
      if (e.type === 'check-timed-out') {
        const def = story.state.checks.get(s.check)?.def;
        if (def)
          chain.push(
            link(
              'rule',
              `a run may take timeout ${configDuration(def.timeoutMs)}; then SIGTERM to its group and SIGKILL after killAfter ${configDuration(def.killAfterMs)}`,
            ),
          );
      }
      if (e.type === 'check-health-changed' && h && h.seq === e.seq) {
        chain.push(...healthLinks(h).slice(1));
        return {
          answer: what,
          chain,
          root: h.healthy ? `${h.runs.length} successful run(s) reached rise ${h.rise}` : healthRoot(h),
        };
      }
      return { answer: what, chain, root: what };
    }
    case 'reload-applied':
    case 'config-loaded': {
      const r = story.reload;
      if (r && (r.seq === e.seq || r.loaded.seq === e.seq)) {
        const chain = [link('decision', what, at), ...reloadLinks(r, name, [], style).slice(1)];
        return {
          answer: what,
          chain,
          root: r.requested ? `a reload request (${r.requested.source})` : 'a config load',
        };
      }
      break;
    }
    case 'event-ignored':
      return {
        answer: what,
        chain: [
          link('decision', what, at),
          link('rule', `the fold records an input that changes nothing as ignored, with the reason`),
        ],
        root: e.reason,
      };
    default:
      break;
  }
  return {
    answer: what,
    chain: [link('input', what, at)],
    root: `${what}: an event the fold records; it decides nothing by itself`,
  };
}

// ----- the driver ------------------------------------------------------------------------------

export type WhyResult =
  | { readonly ok: true; readonly answer: WhyAnswer }
  | { readonly ok: false; readonly error: string; readonly known?: { services: string[]; checks: string[] } };

/**
 * Why `name` (a service or a check) is as it is, or why one of its decisions was made:
 * reads events until it can answer (to the end, for the current state).
 */
export async function why(
  events: EventInput,
  name: string,
  target: WhyTarget,
  style: TimeStyle = {},
): Promise<WhyResult> {
  const story = new Story();
  const known = new KnownNames();
  const want = target.kind === 'incarnation' ? target.incarnation : null;
  let found: Ending | null = null;
  let foundAt: Step | null = null;
  let foundEnding: Ending | null = null;
  let startedInc: Incarnation | null = null;
  const incs = new Set<number>();
  story.listen({
    onStart: (inc) => {
      if (inc.service !== name) return;
      incs.add(inc.incarnation);
      if (inc.incarnation === want) {
        startedInc = inc;
        found = null; // a later incarnation with this number (a later procreg) replaces an earlier one
      }
    },
    onEnding: (end) => {
      if (end.incarnation.service !== name) return;
      if (end.incarnation.incarnation === want && end.incarnation === startedInc) found = end;
      if (
        target.kind === 'seq' &&
        (end.at.seq === target.seq || ('at' in end.next && end.next.at?.seq === target.seq))
      )
        foundEnding = end;
    },
  });
  let stopAfterNextInput = false;
  reading: for await (const batch of batchesOf(events))
    for (const e of batch) {
      // Past the target, read on only for the decisions logged with its step (they settle its ending).
      if (stopAfterNextInput && (EVENT_KINDS[e.type] === 'input' || EVENT_KINDS[e.type] === 'snapshot'))
        break reading;
      known.see(e);
      const s = story.push(e);
      if (target.kind === 'seq' && e.seq === target.seq) {
        foundAt = s;
        stopAfterNextInput = true;
      }
    }
  story.finish();
  const last = story.lastEvent;
  const logEnd = { seq: last?.seq ?? 0, time: last?.time ?? 0 };
  const isService = known.hasService(name);
  const isCheck = known.hasCheck(name);
  if (!isService && !isCheck)
    return {
      ok: false,
      error: `no service or check named ${JSON.stringify(name)} in this log`,
      known: { services: known.services, checks: known.checks },
    };
  const subject = { kind: isService ? ('service' as const) : ('check' as const), name };
  if (target.kind === 'current') {
    const r = isService ? explainService(story, name, style) : explainCheck(story, name, style);
    return { ok: true, answer: { subject, question: `why is ${name} in its current state?`, logEnd, ...r } };
  }
  if (target.kind === 'incarnation') {
    if (!isService)
      return { ok: false, error: `${name} is a check: a check has runs, not incarnations; ask with @<seq>` };
    const end = found as Ending | null;
    if (end) {
      const r = explainEnding(end, style);
      return {
        ok: true,
        answer: {
          subject,
          question: `why did ${name} #${want} end, and what followed?`,
          logEnd,
          answer: r.answer,
          chain: r.chain,
          root: r.root,
        },
      };
    }
    const inc = startedInc as Incarnation | null;
    if (inc) {
      const r = explainStart(inc, story, null, style);
      return {
        ok: true,
        answer: {
          subject,
          question: `why is ${name} #${want} running?`,
          logEnd,
          answer: `running (it has not ended in this log)`,
          chain: r.chain,
          root: r.root,
        },
      };
    }
    const range = [...incs].sort((a, b) => a - b);
    return {
      ok: false,
      error: `${name} has no incarnation #${want} in this log${range.length ? ` (it has #${range[0]}–#${range[range.length - 1]})` : ' (it never started)'}`,
    };
  }
  if (foundAt === null)
    return {
      ok: false,
      error: `seq ${target.seq} is past the end of the log (its last event is seq ${logEnd.seq})`,
    };
  const step = foundAt as Step;
  const fe = foundEnding as Ending | null;
  if (fe) {
    const r = explainEnding(fe, style);
    return {
      ok: true,
      answer: {
        subject,
        question: `why seq ${target.seq}?`,
        logEnd,
        answer: r.answer,
        chain: r.chain,
        root: r.root,
      },
    };
  }
  if (
    step.service !== name &&
    step.check !== name &&
    !step.touches.includes(name) &&
    !step.touchesChecks.includes(name)
  )
    return { ok: false, error: `seq ${target.seq} is not about ${name}: it is "${describeStep(step)}"` };
  const r = explainStep(step, story, style);
  return { ok: true, answer: { subject, question: `why seq ${target.seq}?`, logEnd, ...r } };
}

// ----- text --------------------------------------------------------------------------------------

/** The answer for a person, top to bottom: the question, the answer, the chain, the root cause. */
export function renderWhy(a: WhyAnswer, style: TimeStyle = {}): string {
  const lines = [`${a.question}`, `  ${a.answer}`, ''];
  let first = true;
  for (const l of a.chain) {
    const when = l.time !== null ? clockTime(l.time, style) : ' '.repeat(12);
    const seq = l.seq !== null ? `  [seq ${l.seq}]` : '';
    const mark = l.role === 'rule' ? '  rule: ' : l.role === 'state' ? '  now: ' : first ? '  ' : '  ← ';
    if (l.role !== 'rule' && l.role !== 'state') first = false;
    lines.push(`${when}${mark}${l.text}${seq}`);
  }
  lines.push('', `root cause: ${a.root}`);
  return lines.join('\n');
}
