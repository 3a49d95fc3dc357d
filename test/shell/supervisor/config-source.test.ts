import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { formatProblem } from '../../../src/config/schema.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import type { Event } from '../../../src/events/types.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { ConfigSource, reloadProblems } from '../../../src/shell/supervisor/config-source.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;
const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0))
    await Promise.race([s.stop('test cleanup'), new Promise((r) => setTimeout(r, 2000))]);
});

function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

const text = (problems: readonly Parameters<typeof formatProblem>[0][]) =>
  problems.map((p) => formatProblem(p));

const services = (res: ReturnType<ConfigSource['load']>) => (res.ok ? Object.keys(res.config.services) : res);

describe('ConfigSource', () => {
  it('needs a file or an object', () => {
    expect(() => new ConfigSource(undefined, undefined)).toThrow(
      new TypeError('Supervisor needs a configPath or a config'),
    );
  });

  it('re-reads the file on each load, and names it as the source', () => {
    const dir = tmp();
    const path = join(dir, 'procreg.yaml');
    writeFileSync(path, 'services:\n  a: { command: [sh] }\n');
    const source = new ConfigSource(path, undefined);
    expect(source.label).toBe(path);
    expect(services(source.load())).toEqual(['a']);
    writeFileSync(path, 'services:\n  b: { command: [sh] }\n');
    expect(services(source.load())).toEqual(['b']);
    writeFileSync(path, 'services:\n  b: { command: sh }\n');
    expect(source.load()).toEqual({
      ok: false,
      problems: [expect.objectContaining({ file: path, path: 'services.b.command' })],
    });
  });

  it('without a file, loads the object given last; accept() of an object replaces it', () => {
    const dir = tmp();
    const first = normalized({ services: { a: { command: ['sh'] } } }, dir);
    const second = normalized({ services: { b: { command: ['sh'] } } }, dir);
    const source = new ConfigSource(undefined, first);
    expect(source.label).toBe('api');
    expect(source.load()).toEqual({ ok: true, config: first });
    expect(source.accept(second)).toEqual({ ok: true, config: second });
    expect(source.load()).toEqual({ ok: true, config: second });
  });

  it('with a file, accepts an object for now but the next load reads the file again', () => {
    const dir = tmp();
    const path = join(dir, 'procreg.yaml');
    writeFileSync(path, 'services:\n  a: { command: [sh] }\n');
    const source = new ConfigSource(path, undefined);
    const given = normalized({ services: { b: { command: ['sh'] } } }, dir);
    expect(source.accept(given)).toEqual({ ok: true, config: given });
    expect(services(source.load())).toEqual(['a']);
  });

  describe.runIf(asRoot)('as root', () => {
    /** A script owned by uid 1000 (a non-root user could change what root runs) and a config running it. */
    function unsafe() {
      const dir = tmp();
      const script = join(dir, 'run.sh');
      writeFileSync(script, '#!/bin/sh\nexec sleep 1\n');
      chmodSync(script, 0o755);
      chownSync(script, 1000, 1000);
      const raw = {
        services: { web: { command: [script] } },
        checks: { probe: { command: ['sh', script] } },
      };
      const path = join(dir, 'procreg.json');
      writeFileSync(path, JSON.stringify(raw));
      return { dir, script, raw, path };
    }

    it('refuses an unsafe script in a config object exactly as from a file', () => {
      const { dir, script, raw, path } = unsafe();
      const fromFile = loadConfigFile(path);
      expect(fromFile.ok).toBe(false);
      if (fromFile.ok) return;
      const why = `${script} is owned by uid 1000, not root; as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`;
      expect(fromFile.problems).toEqual([
        { file: path, path: 'services.web.command', message: why },
        { file: path, path: 'checks.probe.command', message: why },
      ]);
      const withoutFile = fromFile.problems.map(({ file: _file, ...p }) => p);

      expect(new ConfigSource(path, undefined).load()).toEqual({ ok: false, problems: fromFile.problems });
      expect(new ConfigSource(undefined, normalized(raw, dir)).load()).toEqual({
        ok: false,
        problems: withoutFile,
      });
    });

    it('refuses an unsafe object handed to accept(), keeping the config it had', () => {
      const { dir, raw } = unsafe();
      const safe = normalized({ services: { ok: { command: ['sh'] } } }, dir);
      const source = new ConfigSource(undefined, safe);
      const res = source.accept(normalized(raw, dir));
      expect(res).toMatchObject({
        ok: false,
        problems: [{ path: 'services.web.command' }, { path: 'checks.probe.command' }],
      });
      expect(source.load()).toEqual({ ok: true, config: safe });
      expect(source.accept(normalized({ ...raw, allowUnsafeScripts: true }, dir))).toMatchObject({
        ok: true,
      });
    });
  });
});

describe('ConfigSource: a reload may not move runDir or the event log', () => {
  it('refuses a reloaded file whose runDir or eventLog differs from the running config, naming both', () => {
    const dir = tmp();
    const file = join(dir, 'procreg.yaml');
    writeFileSync(file, 'runDir: ./run\nservices: {}\n');
    const source = new ConfigSource(file, undefined);
    const first = source.load();
    if (!first.ok) throw new Error(text(first.problems).join('\n'));
    const running = first.config;
    expect(source.load(running)).toEqual({ ok: true, config: running });

    writeFileSync(file, 'runDir: ./elsewhere\neventLog: elsewhere/log.jsonl\nservices: {}\n');
    const moved = source.load(running);
    expect(moved.ok).toBe(false);
    if (!moved.ok)
      expect(text(moved.problems)).toEqual([
        `${file}: runDir: cannot change on reload (running: ${dir}/run, new: ${dir}/elsewhere); restart procreg to move it`,
        `${file}: eventLog: cannot change on reload (running: ${dir}/run/events.jsonl, new: ${dir}/elsewhere/log.jsonl); restart procreg to move it`,
      ]);
    // The first load of an instance (no running config) may put them anywhere: that is a restart.
    expect(source.load()).toMatchObject({ ok: true, config: { runDir: `${dir}/elsewhere` } });
  });

  it('refuses a config handed over directly the same way, and keeps the one it had', () => {
    const dir = tmp();
    const running = normalized({ runDir: './run' }, dir);
    const source = new ConfigSource(undefined, running);
    const next = normalized({ runDir: './run', eventLog: 'run/other.jsonl' }, dir);
    const res = source.accept(next, running);
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(text(res.problems)).toEqual([
        `eventLog: cannot change on reload (running: ${dir}/run/events.jsonl, new: ${dir}/run/other.jsonl); restart procreg to move it`,
      ]);
    expect(source.load(running)).toEqual({ ok: true, config: running });
  });

  it('reloadProblems lets everything else change', () => {
    const dir = tmp();
    const a = normalized({ runDir: './run', services: { a: { command: ['x'] } } }, dir);
    const b = normalized(
      { runDir: './run', allowUnsafeScripts: true, checks: { c: { command: ['y'] } } },
      dir,
    );
    expect(reloadProblems(a, b)).toEqual([]);
  });
});

describe('Supervisor: a reload that would move runDir or the event log is logged as reload-failed', () => {
  it('from the file (SIGHUP path) and from reload(config), the running generation untouched', async () => {
    const dir = tmp();
    const file = join(dir, 'procreg.yaml');
    writeFileSync(file, 'runDir: ./run\nservices: {}\n');
    const sup = await Supervisor.open({ configPath: file, logger: pino({ level: 'silent' }) });
    supervisors.push(sup);
    const seen: Event[] = [];
    sup.events.subscribe((e) => seen.push(e));

    writeFileSync(file, 'runDir: ./moved\nservices: {}\n');
    sup.reload();
    const failed = await waitFor('reload-failed', () => seen.find((e) => e.type === 'reload-failed'));
    expect(failed).toMatchObject({
      reason: [
        `${file}: runDir: cannot change on reload (running: ${dir}/run, new: ${dir}/moved); restart procreg to move it`,
        // The default event log moves with runDir, and says so too.
        `${file}: eventLog: cannot change on reload (running: ${dir}/run/events.jsonl, new: ${dir}/moved/events.jsonl); restart procreg to move it`,
      ].join('; '),
    });

    const moved = normalized({ runDir: './run', eventLog: 'run/moved.jsonl' }, dir);
    sup.reload(moved);
    const second = await waitFor('second reload-failed', () => {
      const all = seen.filter((e) => e.type === 'reload-failed');
      return all.length >= 2 ? all[1] : undefined;
    });
    expect(second).toMatchObject({
      reason: `eventLog: cannot change on reload (running: ${dir}/run/events.jsonl, new: ${dir}/run/moved.jsonl); restart procreg to move it`,
    });
    expect(sup.status().generation).toBe(1);
    expect(seen.some((e) => e.type === 'reload-applied')).toBe(false);

    // A reload that keeps them is applied.
    writeFileSync(file, 'runDir: ./run\nservices: {}\nchecks: {}\n');
    sup.reload();
    await waitFor('reload-applied', () => seen.find((e) => e.type === 'reload-applied'));
    expect(sup.status().generation).toBe(2);
    await sup.stop('test');
    supervisors.splice(supervisors.indexOf(sup), 1);
  });
});
