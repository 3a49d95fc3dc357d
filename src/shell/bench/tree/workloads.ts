/**
 * Operation sequences shaped like a supervisor's PID index, not only uniform random keys.
 * Every step is what the registry does on an exit and a respawn: look the PID up, remove it,
 * insert the new process's PID. Sequences are generated once, from a seed, and every
 * implementation replays the same one.
 */
import { mulberry32 } from '../../../sim/world.js';

export const GET = 0;
export const REMOVE = 1;
export const INSERT = 2;

/** Linux's first PID after a wrap (RESERVED_PIDS): lower ones are left to kernel threads. */
const FIRST_PID = 300;
/** The kernel's historical default pid_max: a supervisor's PIDs wrap here many times over. */
export const PID_MAX = 32_768;
/** The largest pid_max Linux allows (systemd's default on 64-bit): uniform keys spread over it. */
const PID_MAX_LIMIT = 4_194_304;
export const BURST = 1000;

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Live PIDs before the operations, in insertion order. */
  readonly initial: Int32Array;
  /** ops[i] is GET, REMOVE or INSERT of keys[i]. */
  readonly ops: Uint8Array;
  readonly keys: Int32Array;
}

export const WORKLOADS = ['pid-wrap', 'burst', 'crash-loop', 'uniform'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const DESCRIPTIONS: Record<WorkloadName, string> = {
  'pid-wrap': `any live process exits, its successor gets the next free PID, increasing, wrapping at pid_max ${PID_MAX} to ${FIRST_PID} (PIDs reused)`,
  burst: `a reload replaces ${BURST} services at once: ${BURST} exits, then ${BURST} spawns with consecutive PIDs`,
  'crash-loop':
    '90% long-lived processes never touched, 10% crash-looping: each exit respawns at the next free PID',
  uniform: `a uniformly random live PID exits, a uniformly random new PID (1..${PID_MAX_LIMIT}) is inserted`,
};

/** The `steps` exits-and-respawns of workload `name` at `size` live processes. */
export function workload(name: WorkloadName, size: number, steps: number, seed = size): Workload {
  const r = mulberry32(seed);
  const pick = (n: number) => Math.floor(r() * n);
  const live = new Set<number>();
  const slots: number[] = []; // the live PIDs, by service slot
  const ops = new Uint8Array(steps * 3);
  const keys = new Int32Array(steps * 3);
  let n = 0;
  const emit = (op: number, key: number) => {
    ops[n] = op;
    keys[n++] = key;
  };
  const exit = (slot: number) => {
    const pid = slots[slot] as number;
    emit(GET, pid);
    emit(REMOVE, pid);
    live.delete(pid);
  };
  const spawn = (slot: number, pid: number) => {
    emit(INSERT, pid);
    live.add(pid);
    slots[slot] = pid;
  };
  // The kernel's allocator: the next PID after the last one handed out that is free.
  let last = FIRST_PID - 1;
  const nextPid = () => {
    do last = last + 1 >= PID_MAX ? FIRST_PID : last + 1;
    while (live.has(last));
    return last;
  };
  const randomPid = () => {
    let pid: number;
    do pid = 1 + pick(PID_MAX_LIMIT);
    while (live.has(pid));
    return pid;
  };
  if (name !== 'uniform' && size > (PID_MAX - FIRST_PID) / 2)
    throw new RangeError(`${name}: ${size} live PIDs do not fit below pid_max ${PID_MAX} with room to churn`);
  for (let i = 0; i < size; i++) {
    const pid = name === 'uniform' ? randomPid() : nextPid();
    live.add(pid);
    slots.push(pid);
  }
  const initial = Int32Array.from(slots);

  switch (name) {
    case 'uniform':
      for (let s = 0; s < steps; s++) {
        const slot = pick(size);
        exit(slot);
        spawn(slot, randomPid());
      }
      break;
    case 'pid-wrap':
      for (let s = 0; s < steps; s++) {
        const slot = pick(size);
        exit(slot);
        spawn(slot, nextPid());
      }
      break;
    case 'burst': {
      const block = Math.min(BURST, size);
      for (let s = 0; s < steps;) {
        const n = Math.min(block, steps - s);
        const first = pick(size - n + 1); // the reloaded services: a block of slots
        for (let i = 0; i < n; i++) exit(first + i);
        for (let i = 0; i < n; i++) spawn(first + i, nextPid());
        s += n;
      }
      break;
    }
    case 'crash-loop': {
      const looping = Math.max(1, Math.floor(size / 10));
      for (let s = 0; s < steps; s++) {
        const slot = size - 1 - pick(looping); // the last-started tenth crash-loops
        exit(slot);
        spawn(slot, nextPid());
      }
      break;
    }
    default:
      name satisfies never;
  }
  return { name, description: DESCRIPTIONS[name], initial, ops, keys };
}
