import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * Leave a unix socket file at `path` that nobody listens on, as a supervisor killed by
 * SIGKILL leaves its control socket: a process listens there and is killed before it can
 * clean up. Resolves once it is gone.
 */
export async function staleSocket(path: string, ms = 10_000): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listener on ${path} within ${ms}ms`)), ms);
      child.stdout.on('data', (d) => {
        if (String(d).includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`the listener on ${path} exited before it was ready`));
      });
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Connect to `path`, send `text` (in the given pieces, each written as its own write), and
 * collect answer lines until `answers` have arrived or the server ends the connection.
 */
export function exchange(
  path: string,
  text: string | readonly string[],
  answers: number,
  ms = 10_000,
): Promise<{ lines: string[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    const lines: string[] = [];
    let buf = '';
    const done = (ended: boolean) => {
      clearTimeout(timer);
      conn.destroy();
      resolve({ lines, ended });
    };
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        new Error(
          `${lines.length} of ${answers} answer(s) from ${path} within ${ms}ms: ${lines.join(' | ')}`,
        ),
      );
    }, ms);
    conn.setEncoding('utf8');
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on('connect', () => {
      for (const piece of typeof text === 'string' ? [text] : text) conn.write(piece);
    });
    conn.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (lines.length >= answers) done(false);
    });
    conn.on('end', () => done(true));
  });
}
