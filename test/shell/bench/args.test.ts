import { describe, expect, it } from 'vitest';
import { type BenchArgsSpec, parseBenchArgs } from '../../../src/shell/bench/args.js';
import { CHECKOUT_SECTIONS } from '../../../src/shell/bench/sections.js';

const npmRunner: BenchArgsSpec = {
  command: 'npm run bench --',
  sections: CHECKOUT_SECTIONS,
  positionalSections: true,
  candidates: true,
};
const cli: BenchArgsSpec = { ...npmRunner, command: 'procreg bench', candidates: false };
const parse = (spec: BenchArgsSpec, ...argv: string[]) => parseBenchArgs(argv, spec);

describe('the benchmark runner flags', () => {
  it('takes --only as one word or two, and sections as words, in the order given', () => {
    for (const argv of [['--only=tree'], ['--only', 'tree'], ['tree']])
      expect(parse(npmRunner, ...argv)).toMatchObject({ ok: true, args: { sections: ['tree'] } });
    expect(parse(npmRunner, '--only', 'fold,tree', 'replay')).toMatchObject({
      ok: true,
      args: { sections: ['fold', 'tree', 'replay'] },
    });
  });

  it('refuses an unknown section, listing the valid ones', () => {
    for (const argv of [['--only', 'trees'], ['--only=tree,trees'], ['trees']]) {
      const r = parse(npmRunner, ...argv);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).toContain('unknown section "trees"');
        expect(r.message).toContain(`valid sections: ${CHECKOUT_SECTIONS.join(', ')}`);
      }
    }
  });

  it('refuses an unknown flag, listing the valid ones', () => {
    const r = parse(npmRunner, '--quick', '--bogus');
    expect(r).toEqual({
      ok: false,
      message:
        'npm run bench --: unknown option "--bogus"; valid options: --json, --quick, --help, -h, --only, --impl, --compare, --candidates',
    });
    // --candidates belongs to npm run bench's snapshots section only
    expect(parse(cli, '--candidates', '1/1')).toMatchObject({ ok: false });
  });

  it('refuses a flag without its value, or a value given to a flag that takes none', () => {
    for (const argv of [
      ['--only'],
      ['--only', '--json'],
      ['--only='],
      ['--impl'],
      ['--compare', 'a.json'],
      ['--json=yes'],
    ])
      expect(parse(npmRunner, ...argv).ok).toBe(false);
    expect(parse(npmRunner, '--candidates', 'many')).toMatchObject({ ok: false });
  });

  it('collects --impl files in order, --compare pairs, --help, --json and --quick', () => {
    expect(parse(cli, 'tree', '--impl', 'a.js', '--impl=b.js', '--json', '--quick')).toEqual({
      ok: true,
      args: {
        sections: ['tree'],
        impls: ['a.js', 'b.js'],
        json: true,
        quick: true,
        help: false,
        compare: null,
        candidates: null,
      },
    });
    expect(parse(cli, '--compare', 'old.json', 'new.json')).toMatchObject({
      ok: true,
      args: { compare: ['old.json', 'new.json'] },
    });
    expect(parse(cli, '-h')).toMatchObject({ ok: true, args: { help: true } });
  });
});
