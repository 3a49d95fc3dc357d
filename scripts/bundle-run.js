// Bundles what `procreg run` loads into one file, dist/shell/cli/run.bundle.js, after tsc has
// compiled src/ to dist/. `npm run build` (and `prepare`) run it; bin/procreg.js loads the
// bundle for `run` when it is at least as new as dist/shell/cli/main.js.
//
// Why: the supervisor is long-lived, and each of the ~140 ES modules it would otherwise load
// (procreg's own, rxjs's one per operator, yaml's, commander) keeps a module record and its
// source resident (two bytes a character when a comment holds one non-ASCII character);
// CommonJS packages also bring Node's CJS loader. Measured in BENCHMARKS.md, "Supervisor
// memory (rss helper)".
//
// Only what `run` uses is bundled. A dynamic import of another command, or of an optional or
// native package (pino-pretty for a terminal, the NATS client for `ship:`, koffi as PID 1),
// stays a dynamic import of the file or package tsc made: loaded only when used, as before.
// The bundle sits in dist/shell/cli/ like main.js, so `import.meta.url`-relative paths of the
// run graph (../../../package.json, ../../../bin/procreg.js) still reach the same files.
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeMetafile, build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const outfile = join(dist, 'shell', 'cli', 'run.bundle.js');

/** Every dynamic import stays one, except of the run command itself. */
const lazyStaysLazy = {
  name: 'lazy-stays-lazy',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const target = args.path.startsWith('.') ? resolve(args.resolveDir, args.path) : null;
      if (target === join(dist, 'shell', 'cli', 'run-command.js')) return undefined;
      if (target === null) return { path: args.path, external: true };
      let rel = relative(dirname(outfile), target);
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return { path: rel, external: true };
    });
  },
};

const result = await build({
  entryPoints: [join(dist, 'shell', 'cli', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or optional, and only ever loaded at run time by a require or import of their own.
  external: ['koffi', 'pino', 'pino-pretty', '@nats-io/*'],
  plugins: [lazyStaysLazy],
  // A package written as CommonJS calls require() for Node's built-ins: give it one.
  banner: {
    js: "import { createRequire as __procregRequire } from 'node:module'; const require = __procregRequire(import.meta.url);",
  },
  // No comments and no indentation: V8 keeps the source of every loaded script in its heap,
  // and a single non-ASCII character in a comment makes all of it two bytes a character.
  // Names stay (stack traces), and the source map (node --enable-source-maps) maps to dist/.
  minifyWhitespace: true,
  minifySyntax: true,
  // Two modules' classes of one name are renamed apart in one scope (CommanderError2): keep
  // each class's and function's own `name`, which an error's type and messages show.
  keepNames: true,
  charset: 'ascii',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: process.argv.includes('--analyze'),
});
// `node scripts/bundle-run.js --analyze`: what the bundle is made of, by package.
if (result.metafile) console.log(await analyzeMetafile(result.metafile));
