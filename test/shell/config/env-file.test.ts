import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDotenv, readEnvFile } from '../../../src/shell/config/env-file.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

describe('parseDotenv: dotenv syntax', () => {
  it('reads KEY=value lines, export, comments, and single, double and unquoted values', () => {
    expect(
      parseDotenv(
        [
          '# a comment',
          '',
          'PLAIN=abc   # trailing comment',
          'export EXPORTED=1',
          "SINGLE='lit $HOME \\n'",
          'DOUBLE="a\\tb \\"q\\" \\\\ c"',
          'HASH=a#b',
          'EMPTY=',
          'SPACED = x y ',
          'MULTI="line 1',
          'line 2"',
          'URL=postgres://u:p@h/db?x=1',
        ].join('\n'),
      ),
    ).toEqual({
      values: {
        PLAIN: 'abc',
        EXPORTED: '1',
        SINGLE: 'lit $HOME \\n',
        DOUBLE: 'a\tb "q" \\ c',
        HASH: 'a#b',
        EMPTY: '',
        SPACED: 'x y',
        MULTI: 'line 1\nline 2',
        URL: 'postgres://u:p@h/db?x=1',
      },
    });
  });

  it('names the line of what is not dotenv', () => {
    expect(parseDotenv('A=1\nnot a setting\n')).toEqual({
      line: 2,
      error: 'expected KEY=value, got "not a setting"',
    });
    expect(parseDotenv('1BAD=x')).toMatchObject({
      line: 1,
      error: expect.stringContaining('is not a variable name'),
    });
    expect(parseDotenv('A="open\nB=2')).toEqual({ line: 1, error: 'A: the " quote is never closed' });
    expect(parseDotenv("A='x' y")).toEqual({ line: 1, error: `A: unexpected "y" after the closing quote` });
  });
});

describe('readEnvFile', () => {
  it('a missing file, a FIFO (never opened) or a directory is an error naming it', () => {
    const dir = tmp();
    expect(readEnvFile(join(dir, 'nope.env'))).toEqual({
      ok: false,
      message: `cannot read the env file ${join(dir, 'nope.env')}: ENOENT: no such file or directory, stat '${join(dir, 'nope.env')}'`,
    });
    const fifo = join(dir, 'fifo.env');
    execFileSync('mkfifo', [fifo]);
    expect(readEnvFile(fifo)).toMatchObject({ ok: false, message: expect.stringContaining('FIFO') });
    expect(readEnvFile(dir)).toMatchObject({ ok: false, message: expect.stringContaining('a directory') });
    writeFileSync(join(dir, 'ok.env'), 'A=1\n');
    expect(readEnvFile(join(dir, 'ok.env'))).toEqual({ ok: true, values: { A: '1' } });
  });
});
