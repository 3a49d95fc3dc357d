import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The architecture enforces itself: these are the rules a change to the pure folders meets.
// Under CI=true typescript-eslint infers a "single run" and lints files as they are on disk,
// not the text given to lintText: these tests lint edited text, so they say it is not one.
process.env.TSESTREE_SINGLE_RUN = 'false';
const eslint = new ESLint({ cwd: process.cwd() });
const { PURE } = (await import(String(new URL('../eslint.config.js', import.meta.url)))) as {
  PURE: string[];
};
/** A file of each pure folder: typed linting needs a file of the project to stand in for. */
const FILE_IN: Record<string, string> = {
  'src/tree': 'src/tree/pid-tree.ts',
  'src/events': 'src/events/assert-never.ts',
  'src/config': 'src/config/paths.ts',
  'src/core': 'src/core/backoff.ts',
  'src/sim': 'src/sim/world.ts',
  'src/report': 'src/report/durations.ts',
  'src/debug': 'src/debug/format.ts',
};

/** The lint messages for `code` as if it were the file at `filePath`. */
async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the pure folders never touch the OS, the clock or randomness (npm run lint)', () => {
  it('lists the folders the README calls pure', () => {
    expect(PURE).toEqual([
      'src/tree',
      'src/events',
      'src/config',
      'src/core',
      'src/sim',
      'src/report',
      'src/debug',
    ]);
  });

  it.each(PURE)(
    'refuses a node: import, process, timers, Date.now and Math.random in %s',
    async (dir: string) => {
      const code = [
        "import { readFileSync } from 'node:fs';",
        "import { join } from 'path';",
        'export const a = readFileSync(join(process.cwd(), "x"));',
        'export const b = Date.now() + Math.random();',
        'setTimeout(() => {}, 1);',
        'export const c = new Date();',
        '',
      ].join('\n');
      const messages = await lint(FILE_IN[dir] as string, code);
      const rules = messages.map((m) => m.split(':')[0]);
      expect(rules).toEqual([
        'no-restricted-imports',
        'no-restricted-imports',
        'no-restricted-globals',
        'no-restricted-properties',
        'no-restricted-properties',
        'no-restricted-globals',
        'no-restricted-syntax',
      ]);
      expect(messages[0]).toBe(
        "no-restricted-imports: 'node:fs' import is restricted from being used by a pattern. a Node built-in module is not allowed in pure code (src/{tree,events,config,core,sim,report,debug}): it touches the OS, the clock or randomness; do it in src/shell/ and pass the result in as data or an event",
      );
    },
  );

  it('allows the same code under src/shell/', async () => {
    const code =
      "import { readFileSync } from 'node:fs';\nexport const a = readFileSync(process.cwd()) && Date.now();\n";
    expect(await lint('src/shell/errors.ts', code)).toEqual([]);
  });
});

describe('a new variant makes every switch over it fail until handled', () => {
  it('lint refuses a switch over effects that misses a case, even with a default branch', async () => {
    const file = 'src/shell/supervisor/execute-effect.ts';
    const real = readFileSync(file, 'utf8');
    expect(await lint(file, real)).toEqual([]);
    const missing = real.replace("    case 'load-config':\n      return ports.loadConfig();\n", '');
    expect(missing).not.toBe(real);
    expect(await lint(file, missing)).toContainEqual(
      expect.stringMatching(
        /^@typescript-eslint\/switch-exhaustiveness-check: Switch is not exhaustive. Cases not matched: "load-config"/,
      ),
    );
  });

  it('the typecheck refuses the same (test/support/exhaustive.ts is type-checked by npm run typecheck)', () => {
    // The file holds switches over Effect, EventBody and TimerKey that each miss one case,
    // with @ts-expect-error on the assertNever: were the case not an error, tsc would fail
    // on the unused directive. Here we only check the file still says so.
    const text = readFileSync('test/support/exhaustive.ts', 'utf8');
    expect(text.match(/\/\/ @ts-expect-error -- '[a-z-]+' is not handled/g)).toHaveLength(3);
  });
});
