import { describe, expect, it } from 'vitest';
import {
  arrayOf,
  boolean,
  type ConfigProblem,
  describeValue,
  formatProblem,
  INVALID,
  integer,
  join,
  nullable,
  number,
  object,
  oneOf,
  optional,
  problem,
  recordOf,
  type Schema,
  string,
  transform,
  validate,
  withDefault,
} from '../../src/config/schema.js';

/** Run `schema` on `raw` at `path`: its result and the problems it recorded. */
function run<T>(schema: Schema<T>, raw: unknown, path = 'a.b') {
  const problems: ConfigProblem[] = [];
  const value = schema(raw, path, problems);
  return { value, problems };
}

const accepts = <T>(schema: Schema<T>, raw: unknown) =>
  expect(run(schema, raw)).toEqual({ value: raw, problems: [] });
const rejects = <T>(schema: Schema<T>, raw: unknown, message: string, path = 'a.b') =>
  expect(run(schema, raw, path)).toEqual({ value: INVALID, problems: [{ path, value: raw, message }] });

describe('problem and join', () => {
  it('a problem names its path, or (top level) for the document itself', () => {
    const problems: ConfigProblem[] = [];
    expect(problem(problems, 'services.web', 3, 'must be a mapping')).toBe(INVALID);
    expect(problem(problems, '', [], 'must be a mapping')).toBe(INVALID);
    expect(problems).toEqual([
      { path: 'services.web', value: 3, message: 'must be a mapping' },
      { path: '(top level)', value: [], message: 'must be a mapping' },
    ]);
  });

  it('joins keys with dots and indexes with brackets', () => {
    expect(join('', 'services')).toBe('services');
    expect(join('services', 'web')).toBe('services.web');
    expect(join('services.web.command', 2)).toBe('services.web.command[2]');
  });
});

describe('the scalar schemas: value, or a problem with path, value and what is allowed', () => {
  it('string: non-empty, without NUL; the message can be chosen', () => {
    accepts(string(), 'x');
    rejects(string(), '', 'must be a non-empty string');
    rejects(string(), 'a\0b', 'must be a non-empty string');
    rejects(string(), 5, 'must be a non-empty string');
    rejects(string('must name a file'), null, 'must name a file');
  });

  it('boolean: true or false only', () => {
    accepts(boolean, false);
    rejects(boolean, 'yes', 'must be true or false');
    rejects(boolean, 0, 'must be true or false');
  });

  it('integer: an integer within its bounds, inclusive', () => {
    accepts(integer(1, 10), 1);
    accepts(integer(1, 10), 10);
    rejects(integer(1, 10), 0, 'must be an integer from 1 to 10');
    rejects(integer(1, 10), 11, 'must be an integer from 1 to 10');
    rejects(integer(1, 10), 2.5, 'must be an integer from 1 to 10');
    rejects(integer(1, 10), '3', 'must be an integer from 1 to 10');
  });

  it('number: a finite number within its bounds', () => {
    accepts(number(1, 100), 1.5);
    rejects(number(1, 100), 0.5, 'must be a number from 1 to 100');
    rejects(number(1, 100), Number.NaN, 'must be a number from 1 to 100');
    rejects(number(1, Infinity), Infinity, 'must be a number from 1 to Infinity');
  });

  it('oneOf: one of the listed strings, listed in the message', () => {
    const restart = oneOf(['always', 'on-failure', 'never'] as const);
    accepts(restart, 'never');
    rejects(restart, 'sometimes', 'must be one of always | on-failure | never');
    rejects(restart, 'toString', 'must be one of always | on-failure | never');
  });
});

describe('the wrappers', () => {
  it('nullable: null passes, anything else goes to the schema', () => {
    accepts(nullable(string()), null);
    accepts(nullable(string()), 'x');
    rejects(nullable(string()), undefined, 'must be a non-empty string');
  });

  it('optional: a missing value passes as undefined, a present one goes to the schema', () => {
    accepts(optional(string()), undefined);
    rejects(optional(string()), null, 'must be a non-empty string');
  });

  it('withDefault: the fallback for a missing value, never a problem; a bad value is still one', () => {
    expect(run(withDefault(integer(0, 9), 4), undefined)).toEqual({ value: 4, problems: [] });
    expect(run(withDefault(integer(0, 9), 4), 7)).toEqual({ value: 7, problems: [] });
    rejects(withDefault(integer(0, 9), 4), 70, 'must be an integer from 0 to 9');
  });

  it('transform: maps a valid value, is given path, problems and the raw value, and skips an invalid one', () => {
    const seen: unknown[] = [];
    const doubled = transform(integer(0, 9), (n, path, problems, raw) => {
      seen.push([n, path, problems.length, raw]);
      return n > 5 ? problem(problems, `${path}.x`, raw, 'must be small') : n * 2;
    });
    expect(run(doubled, 3)).toEqual({ value: 6, problems: [] });
    expect(run(doubled, 7)).toEqual({
      value: INVALID,
      problems: [{ path: 'a.b.x', value: 7, message: 'must be small' }],
    });
    rejects(doubled, 'x', 'must be an integer from 0 to 9');
    expect(seen).toEqual([
      [3, 'a.b', 0, 3],
      [7, 'a.b', 0, 7],
    ]);
  });
});

describe('the collections', () => {
  it('arrayOf: every bad item reported at its index; a non-list with the given message', () => {
    const codes = arrayOf(integer(0, 255), 'must be a list of exit codes 0-255');
    accepts(codes, [0, 255]);
    accepts(codes, []);
    rejects(codes, 3, 'must be a list of exit codes 0-255');
    expect(run(codes, [1, 300, 'x'], 'fatal')).toEqual({
      value: INVALID,
      problems: [
        { path: 'fatal[1]', value: 300, message: 'must be an integer from 0 to 255' },
        { path: 'fatal[2]', value: 'x', message: 'must be an integer from 0 to 255' },
      ],
    });
  });

  it('recordOf: keys sorted, each value at its own path, each key checked when asked', () => {
    const env = recordOf(string());
    const res = run(env, { b: 'x', a: 'y' }, 'env');
    expect(res).toEqual({ value: { a: 'y', b: 'x' }, problems: [] });
    expect(Object.keys(res.value as object)).toEqual(['a', 'b']);
    rejects(env, ['x'], 'must be a mapping', 'env');
    rejects(env, null, 'must be a mapping', 'env');
    const named = recordOf(string(), (name, path, problems) => {
      if (name.startsWith('_')) problem(problems, path, name, 'a name starts alphanumeric');
      return !name.startsWith('_');
    });
    expect(run(named, { ok: 'x', _bad: '', z: 1 }, 'services')).toEqual({
      value: INVALID,
      problems: [
        { path: 'services._bad', value: '_bad', message: 'a name starts alphanumeric' },
        { path: 'services._bad', value: '', message: 'must be a non-empty string' },
        { path: 'services.z', value: 1, message: 'must be a non-empty string' },
      ],
    });
  });

  const shape = object({ name: string(), port: integer(1, 65535), tls: optional(boolean) });

  it('object: exactly its keys, validated', () => {
    expect(run(shape, { name: 'web', port: 80 }, 'svc')).toEqual({
      value: { name: 'web', port: 80, tls: undefined },
      problems: [],
    });
    rejects(shape, 'web', 'must be a mapping', 'svc');
    rejects(shape, [1], 'must be a mapping', 'svc');
  });

  it('object: an unknown key is a problem listing the allowed keys', () => {
    expect(run(shape, { name: 'web', port: 80, prot: 81 }, 'svc')).toEqual({
      value: INVALID,
      problems: [{ path: 'svc.prot', value: 81, message: 'unknown key; allowed: name, port, tls' }],
    });
    expect(run(shape, { constructor: 1, name: 'web', port: 80 }, '').problems).toEqual([
      { path: 'constructor', value: 1, message: 'unknown key; allowed: name, port, tls' },
    ]);
  });

  it('object: every bad field is reported at once, unknown keys first', () => {
    expect(run(shape, { tls: 'yes', extra: true, port: 0 }, 'svc').problems).toEqual([
      { path: 'svc.extra', value: true, message: 'unknown key; allowed: name, port, tls' },
      { path: 'svc.name', value: undefined, message: 'must be a non-empty string' },
      { path: 'svc.port', value: 0, message: 'must be an integer from 1 to 65535' },
      { path: 'svc.tls', value: 'yes', message: 'must be true or false' },
    ]);
  });
});

describe('validate', () => {
  const shape = object({ n: integer(0, 9) });

  it('runs a schema from the top: the value, or every problem', () => {
    expect(validate(shape, { n: 3 })).toEqual({ ok: true, value: { n: 3 } });
    expect(validate(shape, { n: 30, m: 1 })).toEqual({
      ok: false,
      problems: [
        { path: 'm', value: 1, message: 'unknown key; allowed: n' },
        { path: 'n', value: 30, message: 'must be an integer from 0 to 9' },
      ],
    });
    expect(validate(shape, 7)).toEqual({
      ok: false,
      problems: [{ path: '(top level)', value: 7, message: 'must be a mapping' }],
    });
  });

  it('is not ok when a problem was recorded, even if the schema returned a value', () => {
    const lenient: Schema<number> = (raw, path, problems) => {
      problem(problems, path, raw, 'is suspicious');
      return 1;
    };
    expect(validate(lenient, 1)).toEqual({
      ok: false,
      problems: [{ path: '(top level)', value: 1, message: 'is suspicious' }],
    });
  });
});

describe('describeValue', () => {
  it('shows the value as JSON with its type', () => {
    expect(describeValue('-1')).toBe('"-1" (string)');
    expect(describeValue(3)).toBe('3 (number)');
    expect(describeValue(null)).toBe('null (null)');
    expect(describeValue([1])).toBe('[1] (array)');
    expect(describeValue({ a: 1 })).toBe('{"a":1} (object)');
    expect(describeValue(undefined)).toBe('nothing');
  });

  it('cuts a long value to 60 characters', () => {
    const shown = describeValue('x'.repeat(100));
    expect(shown).toBe(`"${'x'.repeat(56)}... (string)`);
    expect(shown.length).toBe(60 + ' (string)'.length);
  });
});

describe('formatProblem', () => {
  const p: ConfigProblem = {
    path: 'services.web.restart',
    value: 'sometimes',
    message: 'must be one of a | b',
  };

  it('path, message and the value found', () => {
    expect(formatProblem(p)).toBe('services.web.restart: must be one of a | b, got "sometimes" (string)');
  });

  it('prefixes the file given, or the one the problem names, with its line and column', () => {
    expect(formatProblem(p, 'app.yaml')).toBe(
      'app.yaml: services.web.restart: must be one of a | b, got "sometimes" (string)',
    );
    expect(formatProblem({ ...p, file: 'b.yaml', line: 3, column: 7 }, 'app.yaml')).toBe(
      'b.yaml:3:7: services.web.restart: must be one of a | b, got "sometimes" (string)',
    );
    expect(formatProblem({ ...p, line: 3 }, 'app.yaml')).toBe(
      'app.yaml:3:1: services.web.restart: must be one of a | b, got "sometimes" (string)',
    );
  });

  it('with path null, the message alone: the problem is the file as a whole', () => {
    expect(
      formatProblem({
        path: null,
        message: 'not YAML: bad indentation',
        file: 'app.yaml',
        line: 2,
        column: 4,
      }),
    ).toBe('app.yaml:2:4: not YAML: bad indentation');
    expect(formatProblem({ path: null, value: 5, message: 'cannot read it' }, 'app.yaml')).toBe(
      'app.yaml: cannot read it',
    );
  });

  it('without a value, no "got"; with a value present but undefined, "got nothing"', () => {
    expect(formatProblem({ path: 'include', message: 'must name a readable file' })).toBe(
      'include: must name a readable file',
    );
    expect(formatProblem({ path: 'services.web.command', value: undefined, message: 'is required' })).toBe(
      'services.web.command: is required, got nothing',
    );
  });
});
