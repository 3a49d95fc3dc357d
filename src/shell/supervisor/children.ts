// Starting child processes: each in its own process group, its output to files or to lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { LineSplitter } from '../../events/line-splitter.js';
import { openOutputFile } from '../files/output-file.js';

/** Longest line of child output logged as one entry; longer ones are logged in pieces. */
export const OUTPUT_LINE_MAX = 64 * 1024;

export interface ChildSpec {
  readonly command: readonly string[];
  readonly cwd: string | null;
  /** Added to procreg's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Files the child's stdout / stderr are appended to; null: its lines go to `onLine`. */
  readonly stdout: string | null;
  readonly stderr: string | null;
}

export interface ChildHooks {
  /** A line of the child's output (stdout or stderr) that does not go to a file. */
  readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  readonly onExit: (code: number | null, signal: string | null) => void;
}

/**
 * Spawn in its own process group (so stops reach grandchildren). Returns the PID, or why
 * the child could not be started. Output files go to the child as its own descriptors: no
 * copying through procreg, and nothing lost if procreg itself goes away.
 */
export function spawnChild(spec: ChildSpec, hooks: ChildHooks): { pid: number } | { error: string } {
  const fds: number[] = [];
  const open = (path: string | null): number | 'pipe' => {
    if (path === null) return 'pipe';
    const fd = openOutputFile(path);
    fds.push(fd);
    return fd;
  };
  let child: ChildProcess;
  try {
    const out = open(spec.stdout);
    const err = spec.stderr !== null && spec.stderr === spec.stdout ? out : open(spec.stderr);
    child = spawn(spec.command[0] as string, spec.command.slice(1), {
      cwd: spec.cwd ?? undefined,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out, err],
    });
  } catch (e) {
    return { error: (e as Error).message }; // an output file refused, or spawn's own synchronous error
  } finally {
    for (const fd of fds) closeSync(fd); // the child holds its own copies
  }
  if (child.pid === undefined) {
    child.on('error', () => {}); // the error event follows; the failure is reported as an event
    return { error: `cannot start ${spec.command[0]}: spawn failed (not found or not executable)` };
  }
  forwardLines(child.stdout, (line) => hooks.onLine('stdout', line));
  forwardLines(child.stderr, (line) => hooks.onLine('stderr', line));
  child.on('exit', (code, signal) => hooks.onExit(code, signal));
  return { pid: child.pid };
}

/** Line by line; a last line without a newline is passed on at the end, a longer one in pieces. */
function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  const lines = new LineSplitter(onLine, OUTPUT_LINE_MAX);
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => lines.push(chunk));
  stream.on('end', () => {
    const rest = lines.end();
    if (rest !== null) onLine(rest);
  });
}
