/**
 * The processes this procreg spawned and Node still waits for (libuv reaps each by its PID
 * and reports its exit). The orphan reaper (reaper.ts) must never reap one of these, or Node
 * would never learn of its exit: children.ts adds a PID right after spawn() returns — before
 * the event loop turns again — and removes it once Node has reported the exit.
 */
const own = new Set<number>();

export const ownChildren = {
  add(pid: number): void {
    own.add(pid);
  },
  delete(pid: number): void {
    own.delete(pid);
  },
  has(pid: number): boolean {
    return own.has(pid);
  },
};
