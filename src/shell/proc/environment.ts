// procreg's own environment, as the plain object a spawn is given: copied from process.env
// (a call into C++ per variable, ~85 µs for 35 variables here, for every spawn of every
// service: issue 15) only when it may have changed since the last copy.

let generation = 0;
/** process.env as procreg run wraps it; null: not watched (library use), copied at every spawn. */
let watchedEnv: NodeJS.ProcessEnv | null = null;
let kept: { readonly generation: number; readonly env: Readonly<Record<string, string>> } | null = null;

/**
 * Wrap process.env so that every write through it (a variable set, deleted or defined) is
 * noticed, and process.loadEnvFile too; reads and writes still go to the real environment.
 * Only `procreg run` calls this — it owns its process; a program using procreg as a library
 * keeps its process.env as it is, and each spawn copies it. Idempotent. What is not seen:
 * a native addon's setenv(3), or a worker thread sharing the environment (SHARE_ENV); procreg
 * run has neither.
 */
export function watchEnvironmentWrites(): void {
  if (watchedEnv !== null) return;
  const changed = () => {
    generation++;
  };
  watchedEnv = new Proxy(process.env, {
    set: (target, name, value) => {
      changed();
      return Reflect.set(target, name, value);
    },
    deleteProperty: (target, name) => {
      changed();
      return Reflect.deleteProperty(target, name);
    },
    defineProperty: (target, name, descriptor) => {
      changed();
      return Reflect.defineProperty(target, name, descriptor);
    },
  });
  process.env = watchedEnv;
  const load = process.loadEnvFile;
  if (typeof load === 'function')
    process.loadEnvFile = (...args: Parameters<typeof load>) => {
      changed();
      return load.apply(process, args);
    };
}

/**
 * procreg's environment now, as a frozen plain object: the same object as long as nothing
 * wrote to process.env since (while watched, see watchEnvironmentWrites), else a fresh copy.
 */
export function inheritedEnv(): Readonly<Record<string, string>> {
  const current = watchedEnv !== null && process.env === watchedEnv;
  if (current && kept !== null && kept.generation === generation) return kept.env;
  const env = Object.freeze(
    Object.fromEntries(
      Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined),
    ),
  );
  kept = current ? { generation, env } : null;
  return env;
}
