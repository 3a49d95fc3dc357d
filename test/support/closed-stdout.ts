import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(process.cwd(), 'bin', 'procreg.js');

export interface ClosedStdoutRun {
  readonly proc: ChildProcess;
  /** Its exit code or signal and everything it wrote to stderr; killed by SIGKILL after 30 s. */
  readonly exit: Promise<{ code: number | null; signal: string | null; stderr: string }>;
}

/**
 * Start `procreg ...args` with a stdout whose reader is already gone, as `procreg ... | head
 * -1` leaves it once head has exited: every write to it fails with EPIPE. `fifoDir` holds the
 * FIFO that stands in for the pipe (a temp dir of the test).
 */
export function spawnClosedStdout(fifoDir: string, ...args: string[]): ClosedStdoutRun {
  const fifo = join(fifoDir, `stdout-${process.pid}-${Date.now()}-${Math.random()}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader); // nobody reads any more: writes get EPIPE
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', writer, 'pipe'] });
  } finally {
    closeSync(writer); // the child has its own copy
  }
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += String(d)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const exit = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    }),
  );
  return { proc, exit };
}

/** `procreg ...args` to the end with a closed stdout (see spawnClosedStdout). */
export function withClosedStdout(
  fifoDir: string,
  ...args: string[]
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return spawnClosedStdout(fifoDir, ...args).exit;
}
