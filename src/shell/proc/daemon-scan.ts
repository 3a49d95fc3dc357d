// What a main process that just exited left running: the members of its process group, or
// copies of its program that escaped into a session of their own (a daemon's double fork).
import { readdirSync } from 'node:fs';
import { readProcExe, readProcStat } from './proc-stat.js';

/** Listed at most: a hint needs a few PIDs, not a census. */
const MAX_LEFT = 8;

export interface LeftBehind {
  readonly left: readonly number[];
  readonly escaped: boolean;
}

/**
 * The processes `leader` (exited, started at tick `startTime`, running `exe`) left running:
 * members of its process group; else processes of the same executable, started since it was,
 * that lead a session of their own and were re-parented (to init, or to procreg as PID 1) —
 * what `daemon(3)` leaves. Null when there are none. Only looked for, never signalled: the
 * escaped ones are matched by program and time, which proves no ownership.
 */
export function leftBehind(leader: number, startTime: number | null, exe: string | null): LeftBehind | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const inGroup: number[] = [];
  const escaped: number[] = [];
  const reapers = new Set([1, process.pid]);
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const st = readProcStat(pid);
    if (st === null || st.state === 'Z') continue;
    if (st.pgrp === leader) {
      if (inGroup.length < MAX_LEFT) inGroup.push(pid);
      continue;
    }
    if (inGroup.length > 0 || exe === null || startTime === null) continue;
    if (st.session !== pid || !reapers.has(st.ppid) || st.startTime < startTime) continue;
    if (escaped.length < MAX_LEFT && readProcExe(pid) === exe) escaped.push(pid);
  }
  if (inGroup.length > 0) return { left: inGroup.sort((a, b) => a - b), escaped: false };
  return escaped.length > 0 ? { left: escaped.sort((a, b) => a - b), escaped: true } : null;
}
