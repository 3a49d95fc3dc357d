import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { procreg } from '../../support/cli.js';
import { withClosedStdout } from '../../support/closed-stdout.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('procreg (main)', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await procreg('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: procreg \[options\] \[command\]/);
    for (const cmd of [
      'replay [options] <log>',
      'run [options] <config>',
      'status [options] [config]',
      'reload [options] [config]',
      'stop [options] [config]',
      'validate <config>',
    ])
      expect(r.stdout).toContain(cmd);
  });

  it("a command's --help describes it and exits 0", async () => {
    const r = await procreg('status', '--help');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: procreg status \[options\] \[config\]/);
    for (const option of ['--json', '--run-dir <dir>', '--timeout <ms>']) expect(r.stdout).toContain(option);
  });

  it('help, help <command> and <command> --help print the usage on stdout and exit 0', async () => {
    const help = await procreg('help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe((await procreg('--help')).stdout);
    for (const cmd of ['start', 'stop', 'restart', 'signal']) {
      const r = await procreg(cmd, '--help');
      expect({ cmd, code: r.code, stderr: r.stderr }).toEqual({ cmd, code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^Usage: procreg ${cmd} \\[options\\]`));
      expect(await procreg('help', cmd)).toEqual(r);
    }
  });

  it('exits 2 with "did you mean" for a misspelt command or option', async () => {
    expect(await procreg('strat', 'x.yaml', 'web')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown command 'strat'\n(Did you mean start?)\n",
    });
    expect(await procreg('help', 'stauts')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown command 'stauts'\n(Did you mean status?)\n",
    });
    expect(await procreg('status', 'x.yaml', '--jsno')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--jsno'\n(Did you mean --json?)\n",
    });
  });

  it('--version prints the package version and exits 0', async () => {
    expect(await procreg('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 2 on a usage error, saying what is wrong: unknown command, missing argument, bad option', async () => {
    expect(await procreg('bogus')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown command 'bogus'\n(Did you mean logs?)\n",
    });
    expect(await procreg('validate')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: missing required argument 'config'\n",
    });
    expect(await procreg('replay', '--bogus', 'x.jsonl')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--bogus'\n",
    });
    const format = await procreg('run', 'x.yaml', '--log-format', 'xml');
    expect(format).toMatchObject({ code: 2, stdout: '' });
    expect(format.stderr).toContain("argument 'xml' is invalid. Allowed choices are auto, json, pretty.");
  });

  it('exits 2 with the usage when no command is given', async () => {
    const r = await procreg();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: procreg \[options\] \[command\]/);
  });

  it('part 1: every command survives a closed stdout (procreg ... | head -1): no EPIPE trace, its own exit code', async () => {
    const dir = tmp();
    for (const args of [
      ['validate', 'examples/demo.yaml'],
      ['replay', 'examples/demo.events.jsonl'],
      ['replay', 'examples/demo.events.jsonl', '--json'],
      ['--help'],
      ['--version'],
      ['status', '--help'],
    ])
      expect({ args, ...(await withClosedStdout(dir, ...args)) }).toEqual({
        args,
        code: 0,
        signal: null,
        stderr: '',
      });
    // The exit code stays what it would have been; what goes to stderr is still written.
    const bad = await withClosedStdout(dir, 'validate', 'nowhere.yaml');
    expect(bad).toMatchObject({ code: 2, signal: null });
    expect(bad.stderr).toContain('nowhere.yaml: cannot read the config file');
  });

  it('part 6: a usage error never prints a stack trace', async () => {
    for (const args of [
      ['stop', 'a.yaml', '--run-dir', '/tmp'],
      ['status', '--timeout', '-1'],
      ['run'],
      ['stop', '--bogus'],
    ]) {
      const r = await procreg(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain('internal error');
    }
  });
});
