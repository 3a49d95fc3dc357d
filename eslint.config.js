// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The pure folders: the PID tree, the event model and codec, config validation, the fold,
 * the simulator, the report renderers and the debugging views of a log. Code here never touches the OS, the clock or a
 * random source, so the fold replays to the same state from the same log. Everything that
 * touches the OS lives under src/shell/.
 */
export const PURE = [
  'src/tree',
  'src/events',
  'src/config',
  'src/core',
  'src/sim',
  'src/report',
  'src/debug',
];
const pure =
  'is not allowed in pure code (src/{tree,events,config,core,sim,report,debug}): it touches the OS, the clock or randomness; do it in src/shell/ and pass the result in as data or an event';

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', '.tmp/', 'examples/run/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a value taken apart on purpose (e.g. the envelope stripped off an event).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // A new event, effect or timer kind must make every switch over it fail until handled:
      // a `default` branch does not excuse a missing case.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      // `interface ServiceDef extends Infer<typeof serviceDefSchema> {}` names a schema's type.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: PURE.map((d) => `${d}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: `a Node built-in module ${pure}` })),
          patterns: [
            { group: ['node:*'], message: `a Node built-in module ${pure}` },
            { group: ['**/shell/**', 'pino', 'pino-pretty'], message: `the shell ${pure}` },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'clearImmediate',
          'queueMicrotask',
          'performance',
          'fetch',
          'require',
          '__dirname',
          '__filename',
          'Buffer',
          'crypto',
        ].map((name) => ({ name, message: `${name} ${pure}` })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: `Date.now ${pure}` },
        { object: 'Math', property: 'random', message: `Math.random ${pure}` },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() ${pure}` },
        { selector: "CallExpression[callee.name='Date']", message: `Date() ${pure}` },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        URL: 'readonly',
      },
    },
  },
);
