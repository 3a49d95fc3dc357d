import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../src/config/normalize.js';
import type { NormalizedConfig } from '../../../src/config/types.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { ConfigSource } from '../../../src/shell/supervisor/config-source.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;

function normalized(raw: Record<string, unknown>, dir: string): NormalizedConfig {
  const res = normalizeConfig(raw, { baseDir: dir });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

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
