// Starting child processes: each in its own process group, its output to files or to lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { LastWordsDef } from '../../config/types.js';
import { LineSplitter } from '../../events/line-splitter.js';
import type { LastWords } from '../../events/types.js';
import { openOutputFile } from '../files/output-file.js';
import { LastLines } from './last-words.js';
import { ownChildren } from '../proc/own-children.js';
import { closePipes, type PipeEnds, takePipes } from './pipes.js';

/** Longest line of child output logged as one entry; longer ones are logged in pieces. */
export const OUTPUT_LINE_MAX = 64 * 1024;

export interface ChildSpec {
  readonly command: readonly string[];
  readonly cwd: string | null;
  /** Added to procreg's own environment; with `inheritEnv: false`, the whole environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly inheritEnv?: boolean;
  /** Helpers that exec the command after setting what spawn cannot (./run-as.ts). */
  readonly wrapper?: readonly string[];
  /** Files the child's stdout / stderr are appended to; null: its lines go to `onLine`. */
  readonly stdout: string | null;
  readonly stderr: string | null;
  /** How much of its last output its exit reports (default none). */
  readonly lastWords?: LastWordsDef;
}

export interface ChildHooks {
  /** A line of the child's output (stdout or stderr) that does not go to a file. */
  readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Its exit, with its last words: its last lines, or where its output file stood. */
  readonly onExit: (code: number | null, signal: string | null, lastWords: LastWords | null) => void;
}

/** A child started (its PID), or why it could not be. */
export type SpawnOutcome = { readonly pid: number } | { readonly error: string };

/**
 * Spawn in its own process group and session (so stops reach grandchildren). `onStarted`
 * hears the PID in this same turn as the fork — or why it could not start: at once for an
 * output file refused, on the next tick for what the kernel refused (Node reports those as
 * an event). Output files go to the child as its own descriptors: no copying through
 * procreg, and nothing lost if procreg itself goes away. Output that comes to procreg comes
 * through real pipes (./pipes.ts), not libuv's sockets: a program may open /dev/stdout.
 */
export function spawnChild(spec: ChildSpec, hooks: ChildHooks, onStarted: (o: SpawnOutcome) => void): void {
  const fds: number[] = [];
  const pipes: PipeEnds[] = [];
  const open = (path: string | null): { fd: number; read: number | null } => {
    if (path === null) {
      const [p] = takePipes(1) as [PipeEnds];
      pipes.push(p);
      return { fd: p.write, read: p.read };
    }
    const fd = openOutputFile(path);
    fds.push(fd);
    return { fd, read: null };
  };
  let child: ChildProcess;
  let out: { fd: number; read: number | null } | null = null;
  let err: { fd: number; read: number | null } | null = null;
  try {
    out = open(spec.stdout);
    err = spec.stderr !== null && spec.stderr === spec.stdout ? out : open(spec.stderr);
    const argv = [...(spec.wrapper ?? []), ...spec.command];
    child = spawn(argv[0] as string, argv.slice(1), {
      cwd: spec.cwd ?? undefined,
      env: spec.inheritEnv === false ? spec.env : { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
  } catch (e) {
    closePipes(pipes);
    onStarted({ error: whyNotStarted(spec, e) }); // an output file refused, or spawn's own synchronous error
    return;
  } finally {
    for (const fd of fds) closeSync(fd); // the child holds its own copies
  }
  if (child.pid === undefined) {
    closePipes(pipes);
    child.once('error', (e) => onStarted({ error: whyNotStarted(spec, e) }));
    return;
  }
  const pid = child.pid;
  ownChildren.add(pid); // before the event loop turns: the orphan reaper leaves it to Node
  const last = spec.lastWords ? new LastLines(spec.lastWords) : null;
  const outputs = [
    { read: out.read, name: 'stdout' },
    { read: err === out ? null : err.read, name: 'stderr' },
  ] as const;
  let drained: Promise<void>[] = [];
  // procreg's ends of the pipes are set up once the work of this turn is done: after the
  // events this spawn leads to are logged and its PID file is written (issue 15: restart
  // latency). Nothing is lost meanwhile: the output waits in the pipes, and the exit comes
  // from the event loop, later than any microtask.
  queueMicrotask(() => {
    for (const p of pipes) closeQuietly(p.write); // the child holds its own copies: EOF at its last writer's exit
    const streams: Socket[] = [];
    for (const { read, name } of outputs) {
      if (read === null) continue;
      const stream = pipeReader(read);
      if (stream === null) continue;
      streams.push(stream);
      forwardLines(stream, (line) => {
        last?.push(line);
        hooks.onLine(name, line);
      });
    }
    drained = streams.map((s) => new Promise<void>((resolve) => s.once('close', resolve)));
  });
  child.on('exit', (code, signal) => {
    ownChildren.delete(pid);
    const report = () => hooks.onExit(code, signal, lastWordsOf(spec, last));
    if (drained.length === 0) return report();
    // Its last lines may still be in the pipes: read them first, but never wait on a pipe
    // that a process left in its group holds open (that group is stopped next).
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(grace);
      report();
    };
    const grace = setTimeout(once, PIPE_GRACE_MS);
    void Promise.all(drained).then(once);
  });
  onStarted({ pid });
}

/**
 * procreg's end of a child's pipe, as a stream (libuv reads it without blocking); null, and
 * the descriptor closed, if it cannot be one (its output is then not read: the child gets
 * EPIPE, as if procreg had closed it).
 */
function pipeReader(fd: number): Socket | null {
  try {
    const s = new Socket({ fd, readable: true, writable: false });
    s.on('error', () => s.destroy()); // a read error ends the stream like EOF
    return s;
  } catch {
    closeQuietly(fd);
    return null;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** What a person needs to fix it: the program, the directory, or procreg's own limits. */
export function whyNotStarted(spec: Pick<ChildSpec, 'command' | 'cwd'>, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const cmd = spec.command[0] as string;
  switch (err.code) {
    case 'ENOENT':
      if (spec.cwd !== null && !existsSync(spec.cwd))
        return `cannot start ${cmd}: its working directory ${spec.cwd} does not exist`;
      return `cannot start ${cmd}: not found (ENOENT)`;
    case 'EACCES':
      return `cannot start ${cmd}: permission denied, not executable or a directory on its path is not searchable (EACCES)`;
    case 'EMFILE':
    case 'ENFILE':
      return `cannot start ${cmd}: procreg has run out of file descriptors (${err.code}); raise its limit (ulimit -n, LimitNOFILE=)`;
    case 'EAGAIN':
      return `cannot start ${cmd}: the process limit is reached (EAGAIN; ulimit -u, pids.max)`;
    case undefined:
      if (err.message.startsWith('cannot make a pipe')) return `cannot start ${cmd}: ${err.message}`;
      return err.message; // one of procreg's own (an output file refused) says it all
    default:
      return `cannot start ${cmd}: ${err.message}`;
  }
}

/** How long an exit waits for the last output still in the pipes before it is reported. */
const PIPE_GRACE_MS = 50;

function lastWordsOf(spec: ChildSpec, last: LastLines | null): LastWords | null {
  const file = spec.stderr ?? spec.stdout;
  if (file !== null && spec.lastWords && spec.lastWords.lines > 0) {
    try {
      return { file, offset: statSync(file).size };
    } catch {
      return null; // moved away or removed meanwhile: nothing to point at
    }
  }
  return last && last.lines().length > 0 ? { lines: last.lines() } : null;
}

/** Line by line; a last line without a newline is passed on at the end, a longer one in pieces. */
function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const lines = new LineSplitter(onLine, OUTPUT_LINE_MAX);
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => lines.push(chunk));
  stream.on('end', () => {
    const rest = lines.end();
    if (rest !== null) onLine(rest);
  });
}
