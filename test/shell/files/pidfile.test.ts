import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPidFile, removePidFileIfOwned, writePidFile } from '../../../src/shell/files/pidfile.js';
import { DIST, runModule, zeroDevice } from '../../support/child.js';
import { staleSocket } from '../../support/socket.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('PID files', () => {
  it('hold exactly "<pid>\\n", mode 0644, and each write replaces the file whole', () => {
    const path = join(tmp(), 'web.pid');
    writePidFile(path, 4242);
    expect(readFileSync(path, 'utf8')).toBe('4242\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    const inode = statSync(path).ino;
    writePidFile(path, 77);
    expect(readFileSync(path, 'utf8')).toBe('77\n'); // never appended (keepalived #2460)
    expect(statSync(path).ino).not.toBe(inode); // a new file renamed into place, not rewritten in place
    expect(readdirSync(join(path, '..'))).toEqual(['web.pid']); // no temp file left behind
  });

  it('are removed only by the PID they name', () => {
    const path = join(tmp(), 'web.pid');
    writePidFile(path, 200);
    expect(removePidFileIfOwned(path, 100)).toBe('not-owner');
    expect(readFileSync(path, 'utf8')).toBe('200\n');
    expect(removePidFileIfOwned(path, 200)).toBe('removed');
    expect(removePidFileIfOwned(path, 200)).toBe('absent');
  });

  it('left empty or torn by a power loss (they are not fsync’d) name nobody, are removed as nobody’s, and are replaced whole', () => {
    const path = join(tmp(), 'web.pid');
    for (const leftover of ['', '12', '1234\n56']) {
      writeFileSync(path, leftover); // what a rename without fsync can leave after a crash
      expect(readPidFile(path)).toBeNull();
      expect(removePidFileIfOwned(path, 12)).toBe('not-owner');
      expect(readFileSync(path, 'utf8')).toBe(leftover);
      writePidFile(path, 4242);
      expect(readFileSync(path, 'utf8')).toBe('4242\n');
    }
  });

  it('refuse a symlink in their place, leaving its target untouched', () => {
    const dir = tmp();
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep me\n');
    const path = join(dir, 'web.pid');
    symlinkSync(target, path);
    expect(() => writePidFile(path, 5)).toThrow(expect.objectContaining({ code: 'EPIDSYMLINK', path }));
    expect(() => removePidFileIfOwned(path, 5)).toThrow(/symbolic link; refusing/);
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(readdirSync(dir).sort()).toEqual(['precious', 'web.pid']);
  });

  it('refuse a directory in their place', () => {
    const path = join(tmp(), 'web.pid');
    mkdirSync(path);
    expect(() => writePidFile(path, 5)).toThrow(expect.objectContaining({ code: 'EPIDNOTFILE' }));
  });

  it('refuse a FIFO, socket or device in their place when reading or removing, without blocking on it', async () => {
    const dir = tmp();
    const fifo = join(dir, 'fifo.pid');
    execFileSync('mkfifo', [fifo]);
    const socket = join(dir, 'sock.pid');
    await staleSocket(socket);
    const device = join(dir, 'zero.pid');
    const paths = zeroDevice(device) ? [fifo, socket, device] : [fifo, socket];
    // In a child: a blocking open(2) of a FIFO would freeze this process for good.
    const res = await runModule(`
      import { readPidFile, removePidFileIfOwned } from ${JSON.stringify(join(DIST, 'shell/files/pidfile.js'))};
      const out = [];
      for (const path of ${JSON.stringify(paths)})
        for (const op of [() => readPidFile(path), () => removePidFileIfOwned(path, 1)])
          try { out.push(String(op())); } catch (e) { out.push(e.code + ': ' + e.message); }
      console.log(JSON.stringify(out));
    `);
    expect(res.timedOut, 'reading a PID file blocked').toBe(false);
    const refused = (p: string) => `EPIDNOTFILE: PID file ${p} exists and is not a regular file`;
    expect(JSON.parse(res.stdout)).toEqual(paths.flatMap((p) => [p, p]).map(refused));
    expect(readdirSync(dir).sort()).toEqual(paths.map((p) => p.slice(dir.length + 1)).sort()); // nothing left behind
  });

  it.runIf(process.geteuid?.() === 0)(
    'as root, refuse a directory another user owns: nothing is read or written there (ERUNDIR)',
    () => {
      const dir = tmp();
      const theirs = join(dir, 'theirs');
      mkdirSync(theirs);
      writeFileSync(join(theirs, 'web.pid'), '12\n');
      chownSync(theirs, 65534, 65534);
      const path = join(theirs, 'web.pid');
      const refusal = expect.objectContaining({
        code: 'ERUNDIR',
        message: `PID file ${path}: ${theirs} is owned by uid 65534 (nobody), not root: that user could replace what procreg writes below it as root; refused (chown root it, or choose another directory)`,
      });
      expect(() => writePidFile(path, 5)).toThrow(refusal);
      expect(() => readPidFile(path)).toThrow(refusal);
      expect(() => removePidFileIfOwned(path, 12)).toThrow(refusal);
      expect(readdirSync(theirs)).toEqual(['web.pid']);
      expect(readFileSync(path, 'utf8')).toBe('12\n');
    },
  );

  it('read back only exactly one line with a PID', () => {
    const dir = tmp();
    const cases: [string, number | null][] = [
      ['12\n', 12],
      ['12', null],
      ['12\n13\n', null],
      ['', null],
      [' 12\n', null],
      ['0\n', null],
      ['abc\n', null],
    ];
    for (const [i, [content, want]] of cases.entries()) {
      const p = join(dir, `${i}.pid`);
      writeFileSync(p, content);
      expect(readPidFile(p), JSON.stringify(content)).toBe(want);
    }
    expect(readPidFile(join(dir, 'none.pid'))).toBe('absent');
  });

  it('are never seen partial, empty or multi-line by a concurrent reader', async () => {
    const path = join(tmp(), 'web.pid');
    const done = `${path}.done`;
    // A separate process reads as fast as it can until told to stop, and reports what it saw.
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const bad = new Set(); let reads = 0;
         const deadline = Date.now() + 20000;
         while (!fs.existsSync(${JSON.stringify(done)}) && Date.now() < deadline) {
           let s; try { s = fs.readFileSync(${JSON.stringify(path)}, 'utf8'); } catch (e) { if (e.code !== 'ENOENT') bad.add(e.code); continue; }
           reads++; if (!/^[1-9]\\d{3}\\n$/.test(s)) bad.add(JSON.stringify(s));
         }
         process.stdout.write(JSON.stringify({ reads, bad: [...bad] }));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(reader);
    let out = '';
    reader.stdout?.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<void>((resolve) => reader.on('exit', () => resolve()));
    for (let i = 0; i < 3000; i++) {
      writePidFile(path, 1000 + (i % 9000));
      if (i % 100 === 99) removePidFileIfOwned(path, 1000 + (i % 9000));
    }
    writeFileSync(done, '');
    await exited;
    const seen = JSON.parse(out) as { reads: number; bad: string[] };
    expect(seen.bad).toEqual([]);
    expect(seen.reads).toBeGreaterThan(100);
  });
});
