import { describe, expect, it } from 'vitest';
import type { ConfigProblem } from '../../src/config/schema.js';
import { ConfigError, ProcregError } from '../../src/shell/errors.js';
import { LogWriterError } from '../../src/shell/event-log/writer.js';
import { PidFileError } from '../../src/shell/files/pidfile.js';

describe('ProcregError', () => {
  it('is an Error with a stable code, a message, and no problems unless given', () => {
    const e = new ProcregError('EXYZ', 'something went wrong with /x');
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'ProcregError',
      code: 'EXYZ',
      message: 'something went wrong with /x',
      problems: [],
    });
    expect(String(e)).toBe('ProcregError: something went wrong with /x');
    expect(e.stack).toMatch(/^ProcregError: something went wrong with \/x\n/);
  });

  it('is the base of every shell error class, each named after its class', () => {
    const errors = [
      new PidFileError('EPIDSYMLINK', '/run/web.pid', 'PID file /run/web.pid is a symbolic link'),
      new LogWriterError('ELOGCLOSED', 'event log writer is closed'),
      new ConfigError([{ path: null, message: 'the config file is empty' }]),
    ];
    expect(errors.map((e) => [e instanceof ProcregError, e.name, e.code])).toEqual([
      [true, 'PidFileError', 'EPIDSYMLINK'],
      [true, 'LogWriterError', 'ELOGCLOSED'],
      [true, 'ConfigError', 'ECONFIG'],
    ]);
    expect(errors[0]).toMatchObject({ path: '/run/web.pid' });
  });
});

describe('ConfigError', () => {
  const problems: ConfigProblem[] = [
    {
      path: 'services.web.restart',
      value: 'sometimes',
      message: 'must be one of always | on-failure | never',
    },
    { path: null, message: 'not valid YAML: bad indentation', line: 3, column: 5, file: 'other.yaml' },
  ];

  it('carries every problem, one line each in its message, with the source file when given', () => {
    const e = new ConfigError(problems, 'app.yaml');
    expect(e.code).toBe('ECONFIG');
    expect(e.problems).toEqual(problems);
    expect(e.message).toBe(
      [
        'app.yaml: services.web.restart: must be one of always | on-failure | never, got "sometimes" (string)',
        'other.yaml:3:5: not valid YAML: bad indentation', // a problem's own file wins
      ].join('\n'),
    );
  });

  it('names no file when there is none', () => {
    expect(new ConfigError(problems.slice(0, 1)).message).toBe(
      'services.web.restart: must be one of always | on-failure | never, got "sometimes" (string)',
    );
  });
});
