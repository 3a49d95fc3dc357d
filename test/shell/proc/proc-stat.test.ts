import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readProcStartTime, readProcStat } from '../../../src/shell/proc/proc-stat.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

describe('readProcStartTime', () => {
  it('tells a live process by its start time, and nothing once it is gone', async () => {
    const mine = readProcStartTime(process.pid);
    expect(mine).toEqual(expect.any(Number));
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const theirs = readProcStartTime(pid);
      expect(theirs).toEqual(expect.any(Number));
      expect(theirs as number).toBeGreaterThanOrEqual(mine as number);
      expect(readProcStartTime(pid)).toBe(theirs); // stable for the same process
      const gone = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      expect(readProcStartTime(pid)).toBeNull();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('parses a command name holding spaces and parentheses', () => {
    const root = tmp();
    mkdirSync(join(root, '77'));
    const fields = [
      'S',
      '1',
      '77',
      '77',
      '0',
      '-1',
      '4194304',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
      '20',
      '0',
      '1',
      '0',
      '123456',
      '999',
    ];
    writeFileSync(join(root, '77', 'stat'), `77 (evil) name (x)) ${fields.join(' ')}\n`);
    expect(readProcStartTime(77, root)).toBe(123456);
    expect(readProcStat(77, root)).toEqual({ state: 'S', ppid: 1, pgrp: 77, session: 77, startTime: 123456 });
    expect(readProcStartTime(78, root)).toBeNull();
  });

  it('reads a stat line longer than its buffer whole', () => {
    const root = tmp();
    mkdirSync(join(root, '79'));
    // A command name of 5000 bytes: past the 4 KiB one read takes (the kernel's are ~1 KiB).
    const rest = ['R', '1', '79', '79', ...Array.from({ length: 15 }, () => '0'), '654321', '7'];
    writeFileSync(join(root, '79', 'stat'), `79 (${'n'.repeat(5000)}) ${rest.join(' ')}\n`);
    expect(readProcStat(79, root)).toEqual({ state: 'R', ppid: 1, pgrp: 79, session: 79, startTime: 654321 });
  });
});
