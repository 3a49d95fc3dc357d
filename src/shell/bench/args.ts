/**
 * The benchmark runner's command line, shared by `procreg bench` and `npm run bench`: every
 * word is a known flag or a known section, or the whole line is refused (exit 2) naming what
 * is allowed. A mistyped `--only trees` used to run nothing and exit 0.
 */

export interface BenchArgs {
  /** Sections to run, in the order given; empty: the runner's default. */
  readonly sections: readonly string[];
  readonly json: boolean;
  readonly quick: boolean;
  readonly help: boolean;
  /** Adapter files given with --impl, in order. */
  readonly impls: readonly string[];
  /** --compare <old.json> <new.json>. */
  readonly compare: readonly [string, string] | null;
  /** --candidates 25000/8,50000/16 (the snapshots section of npm run bench). */
  readonly candidates: string | null;
}

export interface BenchArgsSpec {
  /** The runner's name in messages: `procreg bench`, `npm run bench --`. */
  readonly command: string;
  readonly sections: readonly string[];
  /** Whether sections may be given as words (`procreg bench tree`) beside `--only tree`. */
  readonly positionalSections: boolean;
  readonly candidates: boolean;
}

export type ParsedBenchArgs = { ok: true; args: BenchArgs } | { ok: false; message: string };

const FLAGS = ['--json', '--quick', '--help', '-h', '--only', '--impl', '--compare'] as const;

export function benchFlags(spec: BenchArgsSpec): string[] {
  return [...FLAGS, ...(spec.candidates ? ['--candidates'] : [])];
}

export function parseBenchArgs(argv: readonly string[], spec: BenchArgsSpec): ParsedBenchArgs {
  const sections: string[] = [];
  const impls: string[] = [];
  let json = false;
  let quick = false;
  let help = false;
  let compare: [string, string] | null = null;
  let candidates: string | null = null;
  const fail = (message: string): ParsedBenchArgs => ({ ok: false, message: `${spec.command}: ${message}` });
  const validSections = `valid sections: ${spec.sections.join(', ')}`;
  const addSections = (list: string, where: string): string | null => {
    const names = list.split(',').map((s) => s.trim());
    for (const name of names) {
      if (!spec.sections.includes(name))
        return `unknown section ${JSON.stringify(name)}${where}; ${validSections}`;
      if (!sections.includes(name)) sections.push(name);
    }
    return null;
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    // The value of a flag that takes one: `--only tree` or `--only=tree`.
    const value = (): string | null => {
      if (inline !== undefined) return inline === '' ? null : inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return null;
      i++;
      return next;
    };
    const noValue = () => inline === undefined;
    switch (flag) {
      case '--json':
      case '--quick':
      case '--help':
      case '-h':
        if (!noValue()) return fail(`${flag} takes no value, got ${JSON.stringify(word)}`);
        if (flag === '--json') json = true;
        else if (flag === '--quick') quick = true;
        else help = true;
        break;
      case '--only': {
        const v = value();
        if (v === null) return fail(`--only needs a comma-separated list of sections; ${validSections}`);
        const bad = addSections(v, ' in --only');
        if (bad) return fail(bad);
        break;
      }
      case '--impl': {
        const v = value();
        if (v === null) return fail('--impl needs the path of an adapter module (e.g. --impl ./my-tree.js)');
        impls.push(v);
        break;
      }
      case '--compare': {
        if (inline !== undefined) return fail('--compare takes two files: --compare old.json new.json');
        const [a, b] = [argv[i + 1], argv[i + 2]];
        if (a === undefined || b === undefined || a.startsWith('-') || b.startsWith('-'))
          return fail('--compare needs two result files: --compare old.json new.json');
        compare = [a, b];
        i += 2;
        break;
      }
      case '--candidates': {
        if (!spec.candidates) return unknownFlag(word);
        const v = value();
        if (v === null || !/^\d+\/\d+(\.\d+)?(,\d+\/\d+(\.\d+)?)*$/.test(v))
          return fail(`--candidates needs events/MB pairs, e.g. 25000/8,50000/16; got ${JSON.stringify(v)}`);
        candidates = v;
        break;
      }
      default: {
        if (word.startsWith('-')) return unknownFlag(word);
        if (!spec.positionalSections)
          return fail(
            `unexpected argument ${JSON.stringify(word)} (sections go after --only); ${validSections}`,
          );
        const bad = addSections(word, '');
        if (bad) return fail(bad);
      }
    }
  }
  return { ok: true, args: { sections, json, quick, help, impls, compare, candidates } };

  function unknownFlag(word: string): ParsedBenchArgs {
    return fail(`unknown option ${JSON.stringify(word)}; valid options: ${benchFlags(spec).join(', ')}`);
  }
}
