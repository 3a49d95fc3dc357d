import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepStalePipeDirs } from '../../../src/shell/supervisor/pipes.js';
import { useTmpDir } from '../../support/tmp.js';

const PIPES = resolve('dist/shell/supervisor/pipes.js');

const tmp = useTmpDir();

/** The PID of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((resolve) => p.on('exit', resolve));
  return p.pid as number;
}

describe('the pipe pool leaves nothing on disk', () => {
  it('a batch directory of a procreg that died while making it is removed by the next one; live, young and foreign ones stay', async () => {
    const dir = tmp();
    const old = (Date.now() - 3_600_000) / 1000;
    const make = (name: string, age: 'old' | 'young') => {
      const d = join(dir, name);
      mkdirSync(d);
      writeFileSync(join(d, '0'), '');
      if (age === 'old') utimesSync(d, old, old);
      return d;
    };
    const dead = await deadPid();
    const stale = make(`procreg-pipes-${dead}-aB3xYz`, 'old');
    const live = make(`procreg-pipes-${process.pid}-Qw9rTy`, 'old');
    const young = make(`procreg-pipes-${dead}-Zx7wVu`, 'young');
    const unnamed = make('procreg-pipes-Kq2mNo', 'old'); // no PID in the name: whose it is is unknown
    const other = make(`other-${dead}-dir`, 'old');
    expect(sweepStalePipeDirs(dir)).toEqual([stale]);
    expect(existsSync(stale)).toBe(false);
    for (const d of [live, young, unnamed, other]) expect(existsSync(d)).toBe(true);
  });

  it('a procreg making its first batch sweeps them, in its own temp directory', async () => {
    const dir = tmp();
    const stale = join(dir, `procreg-pipes-${await deadPid()}-aB3xYz`);
    mkdirSync(stale);
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(stale, old, old);
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { takePipes, closePipes } from ${JSON.stringify(PIPES)}; closePipes(takePipes(1));`,
      ],
      { env: { ...process.env, TMPDIR: dir }, stdio: 'ignore' },
    );
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(existsSync(stale)).toBe(false);
  });
});

describe('the pipe pool holds at most one batch', () => {
  it('a background batch that lands after a synchronous one (spawns outran mkfifo) is cut back to one batch', async () => {
    const dir = tmp();
    // mkfifo that takes 300 ms: the background batch is still being made when the pool runs dry.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const real = ['/usr/bin/mkfifo', '/bin/mkfifo'].find((p) => existsSync(p)) as string;
    writeFileSync(join(bin, 'mkfifo'), `#!/bin/sh\nsleep 0.3\nexec ${real} "$@"\n`, { mode: 0o755 });
    const script = `
      import { takePipes, closePipes, readyPipes } from ${JSON.stringify(PIPES)};
      // 40 takes in one turn: the first batch (32) runs low at 21 (a background batch is asked
      // for, after this turn), dry at 33 (a batch made at once), 8 taken from that one.
      for (let i = 0; i < 40; i++) closePipes(takePipes(1));
      const during = readyPipes();
      const deadline = Date.now() + 10000;
      while (readyPipes() === during && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ during, after: readyPipes() }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: dir, PATH: `${bin}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    // Without the cut: 24 + 32 = 56 ready pipes, 112 descriptors held for nothing.
    expect(JSON.parse(out)).toEqual({ during: 24, after: 32 });
  });
});
