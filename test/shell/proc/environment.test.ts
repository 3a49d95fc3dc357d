import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnv, watchEnvironmentWrites } from '../../../src/shell/proc/environment.js';
import { launchOf } from '../../../src/shell/supervisor/run-as.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

const NAME = 'PROCREG_ENV_TEST';
const runAs = { user: null, group: null, umask: null, limits: {}, inheritEnv: true } as const;

/** The environment a service would be started with (no user, no env of its own). */
function childEnv(added: Record<string, string> = {}): Readonly<Record<string, string>> {
  const launch = launchOf(runAs, added, 'services.t');
  if ('error' in launch) throw new Error(launch.error);
  return launch.env;
}

afterEach(() => {
  delete process.env[NAME];
  delete process.env[`${NAME}_2`];
});

// Before and after procreg run watches process.env: the copy kept between spawns must never be
// one a change made stale, however the change was made.
describe.each([
  ['as a library (process.env not watched)', false],
  ['in procreg run (process.env watched, its copy kept)', true],
])('the environment a spawn inherits, %s', (_what, watched) => {
  beforeAll(() => {
    if (watched) watchEnvironmentWrites(); // the library case runs first, before any watching
  });

  it('has each change to process.env made between two spawns', () => {
    process.env[NAME] = 'one';
    expect(childEnv()[NAME]).toBe('one');
    expect(childEnv()[NAME]).toBe('one');
    process.env[NAME] = 'two';
    expect(childEnv()[NAME]).toBe('two');
    process.env[`${NAME}_2`] = 'added';
    expect(childEnv()).toMatchObject({ [NAME]: 'two', [`${NAME}_2`]: 'added' });
    delete process.env[NAME];
    expect(NAME in childEnv()).toBe(false);
    Reflect.defineProperty(process.env, NAME, {
      value: 'defined',
      enumerable: true,
      configurable: true,
      writable: true,
    });
    expect(childEnv()[NAME]).toBe('defined');
    Object.assign(process.env, { [NAME]: 'assigned' });
    expect(childEnv()[NAME]).toBe('assigned');
  });

  it("puts the service's own variables over procreg's, and never changes the copy it keeps", () => {
    process.env[NAME] = 'procreg';
    expect(childEnv({ [NAME]: 'service' })[NAME]).toBe('service');
    expect(childEnv()[NAME]).toBe('procreg');
    expect(Object.isFrozen(inheritedEnv())).toBe(true);
    expect(inheritedEnv()[NAME]).toBe('procreg');
  });

  it('is the same object between spawns only while watched and unchanged', () => {
    const a = inheritedEnv();
    expect(inheritedEnv() === a).toBe(watched);
    process.env[NAME] = 'x';
    expect(inheritedEnv()).not.toBe(a);
  });
});

describe('process.loadEnvFile after process.env was watched', () => {
  it('is seen by the next spawn', () => {
    watchEnvironmentWrites();
    const before = childEnv();
    const file = join(tmp(), 'vars.env');
    writeFileSync(file, `${NAME}=from-file\n`);
    process.loadEnvFile(file); // written by Node's C++, not through process.env
    expect(childEnv()[NAME]).toBe('from-file');
    expect(NAME in before).toBe(false);
  });
});

describe('process.env replaced by another object after it was watched', () => {
  it('is copied from the new object', () => {
    watchEnvironmentWrites();
    const watched = process.env;
    try {
      process.env = { ...watched, [NAME]: 'replaced' };
      expect(childEnv()[NAME]).toBe('replaced');
      process.env[NAME] = 'then set';
      expect(childEnv()[NAME]).toBe('then set');
    } finally {
      process.env = watched;
    }
    expect(NAME in childEnv()).toBe(false);
  });
});
