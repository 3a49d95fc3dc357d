// What a main process that just exited left running: the members of its process group, or
// copies of its program that escaped into a session of their own (a daemon's double fork).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readProcExe, readProcStat } from './proc-stat.js';

/** Listed at most: a hint needs a few PIDs, not a census. */
const MAX_LEFT = 8;

export interface LeftBehind {
  readonly left: readonly number[];
  readonly escaped: boolean;
}

/**
 * The variable procreg puts in every service process's environment, a fresh value per
 * incarnation (as systemd's INVOCATION_ID): what the incarnation forks inherits it, so an
 * escaped copy of its program can be told from an unrelated one.
 */
export const INVOCATION_VAR = 'PROCREG_INVOCATION_ID';

/** A fresh invocation ID: 32 hex digits. */
export function newInvocationId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The processes `leader` (exited, started at tick `startTime`, running `exe`) left running:
 * members of its process group; else processes of the same executable, started since it was,
 * that lead a session of their own, were re-parented (to init, or to procreg as PID 1) — what
 * `daemon(3)` leaves — and carry the leader's `invocation` ID in their environment
 * (/proc/<pid>/environ: the environment a process was exec'd with) unless that cannot be told
 * (see `carries`). Without the ID an unrelated program that happened to start meanwhile in a
 * session of its own (another unit's `sleep`, a cron job's shell) passed for the daemon.
 * Null when there are none. Only looked for, never signalled.
 */
export function leftBehind(
  leader: number,
  startTime: number | null,
  exe: string | null,
  invocation: string | null,
): LeftBehind | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const inGroup: number[] = [];
  const escaped: number[] = [];
  const reapers = new Set([1, process.pid]);
  const since = startedSince(leader);
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !since(pid)) continue;
    const st = readProcStat(pid);
    if (st === null || st.state === 'Z') continue;
    if (st.pgrp === leader) {
      if (inGroup.length < MAX_LEFT) inGroup.push(pid);
      continue;
    }
    if (inGroup.length > 0 || exe === null || startTime === null || invocation === null) continue;
    if (st.session !== pid || !reapers.has(st.ppid) || st.startTime < startTime) continue;
    if (escaped.length < MAX_LEFT && readProcExe(pid) === exe && carries(pid, invocation) !== 'no')
      escaped.push(pid);
  }
  if (inGroup.length > 0) return { left: inGroup.sort((a, b) => a - b), escaped: false };
  return escaped.length > 0 ? { left: escaped.sort((a, b) => a - b), escaped: true } : null;
}

/**
 * Whether the environment `pid` was exec'd with holds INVOCATION_VAR=`invocation`: yes, no, or
 * unknown — unreadable (another user's, to a procreg that is not root), or written over: a
 * program that sets its process title (redis, nginx, postgres) overwrites the memory
 * /proc/<pid>/environ shows, and no `NAME=value` entry is left in it.
 */
function carries(pid: number, invocation: string): 'yes' | 'no' | 'unknown' {
  let env: string;
  try {
    env = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return 'unknown';
  }
  const entries = env.split('\0');
  if (entries.includes(`${INVOCATION_VAR}=${invocation}`)) return 'yes';
  return entries.some((e) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) ? 'no' : 'unknown';
}

/**
 * Whether `pid` can belong to a process created after `leader`'s: everything it left behind
 * (its group's members, its escaped copies) was forked after it. Linux hands out PIDs in
 * order, wrapping at pid_max, so those lie between the leader's PID and the last PID handed
 * out (ns_last_pid, of our PID namespace). The /proc census then reads the stat of the few
 * processes started since the leader, not of every process on the machine: in a crash storm
 * of services exiting 0 at once, that census was 43 % of procreg's CPU (issue 15). Without
 * ns_last_pid, every PID is a candidate, as before.
 */
function startedSince(leader: number): (pid: number) => boolean {
  let last: number;
  try {
    last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'latin1').trim());
  } catch {
    return () => true;
  }
  return forkedAfter(leader, last);
}

/**
 * The PIDs handed out after `leader`'s, when `last` is the last PID handed out: with no wrap
 * since the leader (leader, last]; after a wrap at pid_max, above the leader or up to last.
 * An unusable `last` admits every PID.
 */
export function forkedAfter(leader: number, last: number): (pid: number) => boolean {
  if (!Number.isSafeInteger(last) || last <= 0) return () => true;
  return last >= leader ? (pid) => pid > leader && pid <= last : (pid) => pid > leader || pid <= last;
}
