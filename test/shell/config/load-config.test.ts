import fc from 'fast-check';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/schema.js';
import { loadConfigFile, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH } from '../../../src/shell/config/load-config.js';
import { type SpawnOutcome, spawnChild } from '../../../src/shell/supervisor/children.js';
import { waitFor } from '../../support/wait.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

function file(name: string, text: string): string {
  const path = join(tmp(), name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfigFile', () => {
  it('reads YAML, resolves relative paths against the file, and normalizes', () => {
    const path = file(
      'app.yaml',
      'runDir: ./run\nservices:\n  web:\n    command: [node, s.js]\n    cwd: app\n    env: { FLAG: on }\n',
    );
    const res = loadConfigFile(path);
    if (!res.ok) throw new Error(res.problems.map((p) => formatProblem(p)).join('\n'));
    const dir = join(path, '..');
    expect(res.config.runDir).toBe(join(dir, 'run'));
    expect(res.config.services.web).toMatchObject({
      cwd: join(dir, 'app'),
      env: { FLAG: 'on' },
      pidFile: join(dir, 'run', 'web.pid'),
    });
  });

  it("runs a relative program from the config's directory by default, not procreg's working directory", async () => {
    const home = tmp();
    mkdirSync(join(home, 'bin'));
    const script = join(home, 'bin', 'where.sh');
    writeFileSync(script, '#!/bin/sh\npwd > where.out\n');
    chmodSync(script, 0o755);
    const path = join(home, 'procreg.yaml');
    writeFileSync(path, 'services:\n  where: { command: [bin/where.sh] }\n');
    const res = loadConfigFile(path);
    if (!res.ok) throw new Error(res.problems.map((p) => formatProblem(p)).join('\n'));
    const def = res.config.services.where;
    expect(def).toMatchObject({ command: [script], cwd: home });
    // The spawn, from another working directory, runs that same file in that same directory.
    const before = process.cwd();
    process.chdir(tmp());
    let code: number | null | undefined;
    try {
      let started: SpawnOutcome | undefined;
      spawnChild(
        { command: def?.command ?? [], cwd: def?.cwd ?? null, env: {}, stdout: null, stderr: null },
        { onLine: () => {}, onExit: (c) => (code = c) },
        (o) => (started = o),
      );
      expect(started).toHaveProperty('pid');
    } finally {
      process.chdir(before);
    }
    expect(await waitFor('where.sh to exit', () => code)).toBe(0);
    expect(readFileSync(join(home, 'where.out'), 'utf8').trim()).toBe(home);
  });

  it('reads JSON by extension', () => {
    const res = loadConfigFile(file('app.json', '{"services": {"a": {"command": ["x"]}}}'));
    expect(res.ok).toBe(true);
  });

  it.each([
    [
      'dup.yaml',
      'services:\n  a: { command: [x] }\n  a: { command: [y] }\n',
      /dup\.yaml:3:3: not valid YAML: Map keys must be unique/,
    ],
    ['flow.yml', 'services: [1, 2\n', /flow\.yml:2:1: not valid YAML:/],
    ['empty.yaml', '\n', /empty\.yaml: the config file is empty/],
    ['bad.json', '{"services": }', /bad\.json: not valid JSON:/],
    ['top.yaml', '- a\n- b\n', /top\.yaml: \(top level\): must be a mapping, got \["a","b"\] \(array\)/],
  ])('names the file and the place for %s', (name, text, message) => {
    const res = loadConfigFile(file(name, text));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems.map((p) => formatProblem(p)).join('\n')).toMatch(message);
  });

  it('reports a missing file without throwing', () => {
    const res = loadConfigFile(join(tmp(), 'none.yaml'));
    expect(res).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({ message: expect.stringMatching(/cannot read the config file: ENOENT/) }),
      ],
    });
  });
});

/** The problems of a config that must be refused, as text; fails if it was accepted. */
function refused(path: string): string[] {
  const res = loadConfigFile(path);
  if (res.ok) throw new Error(`${path} was accepted`);
  return res.problems.map((p) => formatProblem(p));
}

/** `refused`, and within `ms`: a hostile file must not make procreg spin. */
/**
 * Refused, using less than `ms` of CPU: the guard against a parse that is quadratic or worse
 * (seconds). CPU time, not wall time: on a loaded machine the wall clock also counts the time
 * other processes had the CPU. (Tests run one file per process: pool 'forks'.)
 */
function refusedWithin(ms: number, path: string): string[] {
  const before = process.cpuUsage();
  const problems = refused(path);
  const used = process.cpuUsage(before);
  expect((used.user + used.system) / 1000).toBeLessThan(ms);
  return problems;
}

describe('loadConfigFile refuses what is not a config file, with one problem naming it', () => {
  it('a directory, a socket or a device, by what it is (a symlink to one included), never reading it', async () => {
    const dir = tmp();
    expect(refused(dir)).toEqual([
      `${dir}: not a config file: it is a directory, not a regular file; a config is a regular file (a symlink to one is followed)`,
    ]);
    expect(refused('/dev/null')).toEqual([
      '/dev/null: not a config file: it is a character device, not a regular file; a config is a regular file (a symlink to one is followed)',
    ]);
    const zero = join(dir, 'zero.yaml'); // reading it would never end
    symlinkSync('/dev/zero', zero);
    expect(refused(zero)).toEqual([
      `${zero}: not a config file: it is a character device, not a regular file; a config is a regular file (a symlink to one is followed)`,
    ]);
    const sock = join(dir, 'procreg.yaml');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      expect(refused(sock)).toEqual([
        `${sock}: not a config file: it is a socket, not a regular file; a config is a regular file (a symlink to one is followed)`,
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('follows a symlink to a regular file', () => {
    const target = file('real.yaml', 'services:\n  a: { command: [x] }\n');
    const link = join(tmp(), 'link.yaml');
    symlinkSync(target, link);
    expect(loadConfigFile(link)).toMatchObject({ ok: true });
  });

  it(`refuses a file over ${MAX_CONFIG_BYTES} bytes; one of exactly that size is read`, () => {
    const head = 'services:\n  a: { command: [x] }\n#';
    const exact = file('exact.yaml', head + 'x'.repeat(MAX_CONFIG_BYTES - head.length));
    expect(loadConfigFile(exact)).toMatchObject({ ok: true });
    const big = file('big.yaml', head + 'x'.repeat(MAX_CONFIG_BYTES + 1 - head.length));
    expect(refused(big)).toEqual([
      `${big}: not a config file: it is ${MAX_CONFIG_BYTES + 1} bytes; a config is at most 1 MiB`,
    ]);
  });

  it('refuses a binary file or one that is not UTF-8, as one problem', () => {
    const bin = join(tmp(), 'bin.yaml');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x0a, 0x3a, 0x5b]));
    expect(refused(bin)).toEqual([
      `${bin}: not a config file: it is binary (a NUL byte at offset 7), not text`,
    ]);
    const latin1 = join(tmp(), 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('services: {caf\xe9: 1}\n', 'latin1'));
    expect(refused(latin1)).toEqual([`${latin1}: not a config file: it is not UTF-8 text`]);
  });

  it('says an event log is an event log, not a config', () => {
    const log = file(
      'events.jsonl',
      '{"v":2,"seq":1,"time":1,"type":"supervisor-started","pid":1,"version":"0"}\n{"v":2,"seq":2}\n',
    );
    expect(refused(log)).toEqual([
      `${log}: this is a procreg event log (its first line is a "supervisor-started" event), not a config: read it with procreg replay`,
    ]);
    const json = file('events.json', readFileSync('examples/demo.events.jsonl', 'utf8'));
    expect(refused(json)).toHaveLength(1);
  });

  it('refuses a YAML alias bomb (billion laughs) with one problem, within a second', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const [me, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
      lines.push(`${me}: &${me} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = file('lol.yaml', `${lines.join('\n')}\n`);
    const attack =
      'refused as a "billion laughs" resource-exhaustion attack (YAML aliases are for a few shared values)';
    expect(refusedWithin(1000, bomb)).toEqual([
      `${bomb}: its aliases (*name) expand more than 100 times over: ${attack}`,
    ]);
    // Many aliases of one small value: the yaml package resolves each by a walk of the whole
    // document (90 000 took 49 s). Counted before parsing.
    const many = (n: number) =>
      `policy: &p always\nservices:\n${Array.from({ length: n }, (_, i) => `  s${i}: { command: [x], restart: *p }`).join('\n')}\n`;
    const flood = file('flood.yaml', many(20_000));
    expect(refusedWithin(1000, flood)).toEqual([`${flood}: it has more than 100 aliases (*name): ${attack}`]);
    expect(refused(file('101.yaml', many(101)))).toEqual([
      expect.stringContaining('it has more than 100 aliases'),
    ]);
    expect(refused(file('100.yaml', many(100)))).toEqual([
      expect.stringContaining('policy: unknown key; allowed: runDir'), // the aliases were fine
    ]);
    // A few aliases, as people use them, are fine.
    const ok = file(
      'ok.yaml',
      'services:\n  a: { command: [x], env: &e { A: "1" } }\n  b: { command: [y], env: *e }\n',
    );
    expect(loadConfigFile(ok)).toMatchObject({ ok: true, config: { services: { b: { env: { A: '1' } } } } });
  });

  it('refuses deep nesting with one problem within a second, never a stack overflow', () => {
    const deep = `nested deeper than ${MAX_CONFIG_DEPTH} levels of mappings and lists (or holds an alias of itself); a config is never this deep`;
    const flow = file('flow.yaml', '['.repeat(100_000));
    expect(refusedWithin(1000, flow)).toEqual([`${flow}: ${deep}`]);
    const maps = file('maps.yaml', `a: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`);
    expect(refusedWithin(1000, maps)).toEqual([`${maps}: ${deep}`]);
    let text = '';
    for (let i = 0; i < 1400; i++) text += `${' '.repeat(i)}a:\n`; // block nesting, ~1 MiB
    const block = file('block.yaml', text);
    expect(refusedWithin(1000, block)).toEqual([`${block}: ${deep}`]);
    let shallow = '';
    for (let i = 0; i < 80; i++) shallow += `${' '.repeat(i)}a:\n`; // parses, but too deep
    const some = file('some.yaml', `${shallow}${' '.repeat(80)}b: 1\n`);
    expect(refused(some)).toEqual([`${some}: ${deep}`]);
    const json = file('deep.json', `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(refusedWithin(1000, json)).toEqual([`${json}: ${deep}`]);
    const cycle = file('cycle.yaml', 'services: &s\n  a:\n    command: *s\n'); // an alias inside itself
    expect(refused(cycle)).toEqual([`${cycle}: ${deep}`]);
    // Many brackets that do not nest are fine.
    const wide = file(
      'wide.yaml',
      `services:\n  a: { command: [x], fatalExitCodes: [${Array(200).fill('1').join(', ')}] }\n`,
    );
    expect(loadConfigFile(wide)).toMatchObject({ ok: true });
  });

  it('finds duplicate keys in linear time, where they are', () => {
    const dup = file(
      'dup.yaml',
      'services:\n  a: { command: [x], env: { A: "1", B: "2", A: "3" } }\n  a: { command: [y] }\n',
    );
    expect(refused(dup)).toEqual([
      `${dup}:2:45: not valid YAML: Map keys must be unique`,
      `${dup}:3:3: not valid YAML: Map keys must be unique`,
    ]);
    // The yaml package's own check compares each key with every one before it: 40k keys took 5 s.
    const keys = file(
      'keys.yaml',
      `x:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1`).join('\n')}\n  k7: 2\n`,
    );
    expect(refusedWithin(2000, keys)).toEqual([`${keys}:40002:3: not valid YAML: Map keys must be unique`]);
    // 1 and "1" are different keys, as YAML has them.
    expect(
      loadConfigFile(file('typed.yaml', 'services:\n  a: { command: [x], env: { "1": a } }\n')),
    ).toMatchObject({ ok: true });
  });

  it('refuses compact nesting (- - - x, a: b: c:) as deep nesting, without running the parser', () => {
    const deep = `nested deeper than ${MAX_CONFIG_DEPTH} levels of mappings and lists (or holds an alias of itself); a config is never this deep`;
    const dashes = file('dashes.yaml', `${'- '.repeat(500_000)}x\n`); // aborted the process out of memory
    expect(refusedWithin(1000, dashes)).toEqual([`${dashes}: ${deep}`]);
    const keys = file('keys.yaml', `${'a: '.repeat(300_000)}x\n`);
    expect(refusedWithin(1000, keys)).toEqual([`${keys}: ${deep}`]);
    // A flow mapping on one line, however many keys, is not nesting.
    const flat = file(
      'flat.yaml',
      `services: { ${Array.from({ length: 100 }, (_, i) => `s${i}: { command: [x] }`).join(', ')} }\n`,
    );
    expect(loadConfigFile(flat)).toMatchObject({ ok: true });
  });

  it('never throws, whatever the text (property)', () => {
    const path = join(tmp(), 'fuzz.yaml');
    const unit = fc.constantFrom(
      'a',
      ':',
      ' ',
      '\n',
      '-',
      '?',
      '[',
      ']',
      '{',
      '}',
      ',',
      '&a',
      '*a',
      '!',
      '"',
      "'",
      '#',
      '|',
      '>',
      '\t',
      '%',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (text) => {
        writeFileSync(path, text);
        const res = loadConfigFile(path);
        if (!res.ok) expect(res.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('lists at most 10 YAML syntax errors', () => {
    const junk = file('junk.yaml', Array.from({ length: 40 }, (_, i) => `k${i}: "x\n`).join(''));
    const problems = refused(junk);
    expect(problems).toHaveLength(11);
    expect(problems[0]).toBe(`${junk}:1:7: not valid YAML: Missing closing "quote`);
    expect(problems[10]).toMatch(new RegExp(`^${junk}: and \\d+ more YAML error\\(s\\) not shown$`));
  });
});

describe('paths in a config file, as the README says', () => {
  it('resolve against the directory of the path given (a symlinked config is not followed); programs against cwd; what procreg writes against runDir', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'real'));
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'app.env'), 'A=1\n');
    writeFileSync(
      join(dir, 'real', 'app.yaml'),
      [
        'runDir: ./run',
        'eventLog: ./run/log/events.jsonl',
        'services:',
        '  web:',
        '    command: [./bin/web, ./arg]',
        '    cwd: srv',
        '    envFile: app.env',
        '    pidFile: web.pid',
        '    stdout: out/web.out',
        '    log: { path: logs/web.log }',
        '',
      ].join('\n'),
    );
    const link = join(dir, 'etc', 'app.yaml');
    symlinkSync(join(dir, 'real', 'app.yaml'), link);
    const res = loadConfigFile(link);
    if (!res.ok) throw new Error(res.problems.map((p) => formatProblem(p)).join('\n'));
    const etc = join(dir, 'etc');
    const run = join(etc, 'run');
    expect(res.config).toMatchObject({ runDir: run, eventLog: join(run, 'log', 'events.jsonl') });
    expect(res.config.services.web).toMatchObject({
      cwd: join(etc, 'srv'),
      command: [join(etc, 'srv', 'bin', 'web'), './arg'],
      envFile: join(etc, 'app.env'),
      envFileValues: { A: '1' },
      pidFile: join(run, 'web.pid'),
      stdout: join(run, 'out', 'web.out'),
      log: { path: join(run, 'logs', 'web.log') },
    });
  });
});
