import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procreg as procregCli } from '../../support/cli.js';
import { useTmpDir } from '../../support/tmp.js';
import { lines, NOBODY, procregAs as procreg } from '../config/cli-runner.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;

describe('procreg validate refuses files that are not configs: exit 2, one problem, no stack trace', () => {
  it('a FIFO, without blocking on it', async () => {
    const fifo = join(tmp(), 'procreg.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await procreg(['validate', fifo], { timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `${fifo}: not a config file: it is a FIFO (named pipe), not a regular file; a config is a regular file (a symlink to one is followed)`,
      `${fifo}: invalid, 1 error(s)`,
    ]);
  });

  it('an event log, saying it is one', async () => {
    const r = await procreg(['validate', 'examples/demo.events.jsonl']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)[0]).toBe(
      'examples/demo.events.jsonl: this is a procreg event log (its first line is a "snapshot" event), not a config: read it with procreg replay',
    );
    expect(lines(r.stderr)).toHaveLength(2);
  });

  it('YAML nested 100k deep, which made the yaml parser abort the process out of memory', async () => {
    const path = join(tmp(), 'deep.yaml');
    writeFileSync(path, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const r = await procreg(['validate', path]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `${path}: nested deeper than 64 levels of mappings and lists (or holds an alias of itself); a config is never this deep`,
      `${path}: invalid, 1 error(s)`,
    ]);
  });

  it.runIf(asRoot)('a file it may not read, naming it (run as another user)', async () => {
    const dir = tmp();
    chmodSync(dir, 0o755);
    const path = join(dir, 'secret.yaml');
    writeFileSync(path, 'services: {}\n', { mode: 0o600 });
    const r = await procreg(['validate', path], { uid: NOBODY });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `${path}: cannot read the config file: EACCES: permission denied, open '${path}'`,
      `${path}: invalid, 1 error(s)`,
    ]);
  });
});

describe('procreg validate and run: exit 2 for files outside runDir and durations a timer cannot hold', () => {
  it('names each field, its value and what is allowed', async () => {
    const dir = tmp();
    const path = join(dir, 'procreg.yaml');
    writeFileSync(
      path,
      [
        'runDir: ./run',
        'eventLog: /var/log/procreg.jsonl',
        'services:',
        '  web:',
        '    command: [node, web.js]',
        '    pidFile: /etc/passwd',
        '    stdout: ../../etc/cron.d/x',
        '    stderr: procreg.sock',
        '    stopTimeout: 30d',
        '',
      ].join('\n'),
    );
    const runDir = join(dir, 'run');
    const expected = [
      `${path}: services.web.stopTimeout: must be at most 24d20h31m23.647s (2147483647 ms), got "30d" (string)`,
      `${path}: eventLog: must be a file inside runDir (${runDir}), got "/var/log/procreg.jsonl" (string)`,
      `${path}: services.web.pidFile: must be a path relative to runDir (${runDir}), not an absolute path, got "/etc/passwd" (string)`,
      `${path}: services.web.stdout: must stay inside runDir (${runDir}): no ".." component, got "../../etc/cron.d/x" (string)`,
      `${path}: services.web.stderr: must not be procreg's control socket (procreg.sock), got "${runDir}/procreg.sock" (string)`,
    ];
    const v = await procreg(['validate', path]);
    expect(v.code).toBe(2);
    expect(lines(v.stderr)).toEqual([...expected, `${path}: invalid, 5 error(s)`]);
    const r = await procreg(['run', path, '--log-format', 'json']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual(expected);
  });

  it('accepts the longest duration and files inside runDir', async () => {
    const path = join(tmp(), 'procreg.yaml');
    writeFileSync(
      path,
      'services:\n  web:\n    command: [node, -e, "0"]\n    pidFile: pids/web.pid\n    stdout: logs/web.out\n    stderr: logs/web.out\n    stopTimeout: 2147483647\n',
    );
    const r = await procreg(['validate', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`${path}: valid`);
  });
});

describe('procreg validate leaves nothing behind', () => {
  it('reads the config only', async () => {
    const path = join(tmp(), 'procreg.yaml');
    writeFileSync(path, 'services:\n  a: { command: [node, -e, "0"] }\n');
    const before = readFileSync(path, 'utf8');
    expect((await procreg(['validate', path])).code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});

describe('procreg validate', () => {
  it('accepts the bundled demo config', async () => {
    const r = await procregCli('validate', 'examples/demo.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('examples/demo.yaml: valid');
    expect(r.stdout).toContain('services (3): clock, flaky, web');
  });

  it('exits 2 listing every error with the file, the field, the value and what is allowed', async () => {
    const path = join(tmp(), 'bad.yaml');
    writeFileSync(path, 'services:\n  web:\n    command: node\n    restart: sometimes\n    colour: blue\n');
    const r = await procregCli('validate', path);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `${path}: services.web.colour: unknown key; allowed: command, cwd, env, restart, backoff, maxRestarts, stopSignal, stopTimeout, pidFile, fatalExitCodes, stdout, stderr, lastWords, stderrLevel, log, reloadSignal, dependsOn, user, group, umask, limits, inheritEnv, envFile, got "blue" (string)`,
      `${path}: services.web.command: must be a non-empty list of strings (argv; no shell unless you write one, e.g. [sh, -c, "..."]), got "node" (string)`,
      `${path}: services.web.restart: must be one of always | on-failure | never, got "sometimes" (string)`,
      `${path}: invalid, 3 error(s)`,
    ]);
  });
});

describe('procreg validate resolves every program', () => {
  it("reports a service's or check's program that is not there or not executable (exit 2, naming the field), also inside a sh -c script", async () => {
    const dir = tmp();
    const notExec = join(dir, 'tool.sh');
    writeFileSync(notExec, '#!/bin/sh\n');
    chmodSync(notExec, 0o644);
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      `services:
  ok: { command: [sleep, '1'] }
  typo: { command: [sleeep, '1'] }
  plain: { command: [${notExec}] }
  minimal: { command: [node, '-e', '1'], inheritEnv: false, env: { PATH: /nonexistent } }
checks:
  web_alive: { command: [sh, -c, 'curll -sf http://127.0.0.1:1/ && true'] }
  fine: { command: [sh, -c, 'test -d / && sleep 0'] }
`,
    );
    const r = await procregCli('validate', config);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `${config}: services.minimal.command[0]: cannot be run: node is not found in PATH (/nonexistent), got "node" (string)`,
      `${config}: services.plain.command[0]: cannot be run: ${notExec} is not executable (mode 0644), got "${notExec}" (string)`,
      `${config}: services.typo.command[0]: cannot be run: sleeep is not found in PATH (${process.env.PATH}), got "sleeep" (string)`,
      `${config}: checks.web_alive.command: runs a program that cannot be run: curll is not found in PATH (${process.env.PATH}), got "curll" (string)`,
      `${config}: invalid, 4 error(s)`,
    ]);
  });
});
