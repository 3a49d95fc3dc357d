/** Where a command writes: stdout for its result, stderr for everything else. */
export interface CommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const closed = new WeakSet<NodeJS.WritableStream>();
function markClosed(this: NodeJS.WritableStream): void {
  closed.add(this);
}

/** Write to `stream`, unless its reader has gone; never throws, never emits an unhandled error. */
export function writeTo(stream: NodeJS.WriteStream, text: string): void {
  if (!stream.listeners('error').includes(markClosed)) stream.on('error', markClosed);
  if (closed.has(stream) || stream.destroyed) return;
  try {
    stream.write(text);
  } catch {
    closed.add(stream);
  }
}

/**
 * stdout and stderr, one line per call. A stream closed by its reader (`procreg status | head
 * -1`: EPIPE) is no failure of the command: what is left to write is dropped, silently, and
 * the command ends with the exit code it would have had.
 */
export function processIO(): CommandIO {
  return { out: (t) => writeTo(process.stdout, `${t}\n`), err: (t) => writeTo(process.stderr, `${t}\n`) };
}
