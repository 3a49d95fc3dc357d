// `procreg logs <config> <service> [-f] [-n N]`: read and follow a service's log file.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { loadConfigFile } from '../config/load-config.js';
import { formatProblem } from '../../config/schema.js';
import type { CommandIO } from './io.js';

export interface LogsOptions {
  readonly lines: number;
  readonly follow: boolean;
  /** Follow polls the file this often (ms). */
  readonly pollMs?: number;
  /** Ends following (tests; Ctrl-C ends the process). */
  readonly signal?: AbortSignal;
}

/**
 * The last `lines` lines of the service's log file (from its rotations too when it holds
 * fewer), then with `follow` what is appended, across rotations, like `tail -F`. Exit codes:
 * 0 done, 2 an invalid config, an unknown service or one without `log`.
 */
export async function logsCommand(
  config: string,
  service: string,
  io: CommandIO,
  options: LogsOptions,
): Promise<number> {
  const res = loadConfigFile(config);
  if (!res.ok) {
    for (const p of res.problems) io.err(formatProblem(p));
    return 2;
  }
  const def = res.config.services[service];
  if (!def) {
    const known = Object.keys(res.config.services).join(', ') || 'none';
    io.err(`procreg logs: ${config} has no service ${service} (its services: ${known})`);
    return 2;
  }
  if (!def.log) {
    io.err(
      `procreg logs: service ${service} has no log file: its output goes to procreg's own log${def.stdout ? ` (stdout to ${def.stdout})` : ''}; set log: true in ${config}`,
    );
    return 2;
  }
  const path = def.log.path;
  for (const line of lastLines(path, def.log.keep, options.lines)) io.out(line);
  if (options.follow) await follow(path, io, options);
  return 0;
}

/** The last `n` lines of `path`, reaching back into path.1 … path.<keep> when it holds fewer. */
function lastLines(path: string, keep: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i <= keep && out.length < n; i++) {
    const file = i === 0 ? path : `${path}.${i}`;
    if (!existsSync(file)) continue;
    const text = readTail(file, 64 * 1024 * Math.max(1, Math.ceil(n / 100)));
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    out.unshift(...lines.slice(Math.max(0, lines.length - (n - out.length))));
  }
  return out;
}

/** At most the last `max` bytes of a file, from a line start. */
function readTail(file: string, max: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    closeSync(fd);
  }
}

/** What is appended from now on; a rotation (a new file at `path`) is followed from its start. */
async function follow(path: string, io: CommandIO, options: LogsOptions): Promise<void> {
  let ino = existsSync(path) ? statSync(path).ino : -1;
  let pos = ino === -1 ? 0 : statSync(path).size;
  let partial = '';
  const pollMs = options.pollMs ?? 200;
  while (!options.signal?.aborted) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (!existsSync(path)) continue;
    const st = statSync(path);
    if (st.ino !== ino || st.size < pos) {
      ino = st.ino; // rotated or truncated: the new file from its start
      pos = 0;
      partial = '';
    }
    if (st.size === pos) continue;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(st.size - pos);
      const got = readSync(fd, buf, 0, buf.length, pos);
      pos += got;
      const lines = (partial + buf.subarray(0, got).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) io.out(l);
    } finally {
      closeSync(fd);
    }
  }
}
