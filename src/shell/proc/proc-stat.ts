import { closeSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';

/** What procreg needs from /proc/<pid>/stat: state (field 3), parent (4), group (5), session (6), start time (22). */
export interface ProcStat {
  /** R, S, D, Z (zombie: exited, not yet reaped), T, ... */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  /** Clock ticks since boot. */
  readonly startTime: number;
}

/** /proc/<pid>/stat, or null when there is no such process or no /proc. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  const stat = readSmallFile(`${procRoot}/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
  const [ppid, pgrp, session, startTime] = [fields[1], fields[2], fields[3], fields[19]].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const ints = [ppid, pgrp, session, startTime].every((n) => Number.isSafeInteger(n) && n >= 0);
  if (!fields[0] || !ints) return null;
  return { state: fields[0], ppid, pgrp, session, startTime };
}

/** One read(2) into a kept buffer serves a /proc/<pid>/stat (at most ~1 KiB); a longer file is read whole. */
const small = Buffer.alloc(4096);

/**
 * A file's text (latin1), or null when it cannot be read. readFileSync took an fstat and a
 * second read besides the open, the read and the close, on the path of every spawn (the
 * child's start time is part of its `spawned` event: issue 15).
 */
function readSmallFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, small, 0, small.length, null);
    if (n < small.length) return small.toString('latin1', 0, n);
    // As long as the buffer, or longer: read what is left (from where the first read ended).
    const rest = readFileSync(fd);
    return Buffer.concat([small, rest]).toString('latin1');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * A process's start time in clock ticks since boot, or null when there is no such process.
 * With the PID it names one process across PID reuse: crash recovery touches a predecessor's
 * child only if both still match.
 */
export function readProcStartTime(pid: number, procRoot = '/proc'): number | null {
  return readProcStat(pid, procRoot)?.startTime ?? null;
}

/**
 * The executable a process runs (/proc/<pid>/exe), or null when unreadable. A binary replaced
 * on disk while it runs reads as `<path> (deleted)`; that suffix is dropped, so an upgraded
 * program is still recognised as the one started.
 */
export function readProcExe(pid: number, procRoot = '/proc'): string | null {
  try {
    return readlinkSync(`${procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}

let bootId: string | null | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), or null where the kernel has none. */
export function readBootId(procRoot = '/proc'): string | null {
  if (bootId !== undefined && procRoot === '/proc') return bootId;
  let id: string | null;
  try {
    id = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'latin1').trim() || null;
  } catch {
    id = null;
  }
  if (procRoot === '/proc') bootId = id;
  return id;
}

/** CLOCK_MONOTONIC in whole milliseconds (since boot on Linux): what the fold measures durations by. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}
