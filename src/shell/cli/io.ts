/** Where a command writes: stdout for its result, stderr for everything else. */
export interface CommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}
