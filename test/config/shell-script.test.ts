import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseShellScript, type SimpleCommand } from '../../src/config/shell-script.js';

/** Each simple command as one line: `[args] A=1 prog arg <input`; an expansion shows as <what>. */
function show(script: string): string[] | string {
  const r = parseShellScript(script);
  if (!r.ok) return r.construct;
  return r.commands.map((c: SimpleCommand) =>
    [
      c.kind === 'arguments' ? '[args]' : '',
      ...c.assignments.map((a) => `${a.name}=${a.value.text ?? `<${a.value.expansion}>`}`),
      ...c.words.map((w) => w.text ?? `<${w.expansion}>`),
      ...c.inputs.map((w) => `<${w.text}`),
    ]
      .filter(Boolean)
      .join(' '),
  );
}

describe('parseShellScript: the simple commands of a sh -c script', () => {
  it('splits at ; & && || | and newlines, and keeps quoted words whole', () => {
    expect(show('sleep 300 & echo $! > /tmp/g.pid; wait')).toEqual(['sleep 300', 'echo <$!>', 'wait']);
    expect(show(`a 'b c' "d e" f\\ g && h || i | j |& k\nl`)).toEqual([
      'a b c d e f g',
      'h',
      'i',
      'j',
      'k',
      'l',
    ]);
    expect(show(`a='it''s' b="q\\"x\\$" c`)).toEqual(['a=its b=q"x$ c']);
  });

  it('takes redirections apart: targets are not words, files read with < are inputs, 2>&1 has no word 2', () => {
    expect(show('cmd 2>&1 >/dev/null <in.txt 3<>rw &>>all <<<"here" x')).toEqual(['cmd x <in.txt <rw']);
    expect(show('while read l; do echo "$l"; done < /etc/list')).toEqual([
      'read l',
      'echo <$l>',
      '</etc/list',
    ]);
  });

  it('finds the command word after assignments and reserved words', () => {
    expect(show('A=1 B="x y" ./run.sh arg')).toEqual(['A=1 B=x y ./run.sh arg']);
    expect(show('if [ -x /a ]; then /a; elif ! /b; then :; else { /c; }; fi')).toEqual([
      '[ -x /a ]',
      '/a',
      '/b',
      ':',
      '/c',
    ]);
    expect(show('while true; do ./w; done; until ./u; do :; done')).toEqual(['true', './w', './u', ':']);
    expect(show('time -p ./bench; ( cd sub; ./x )')).toEqual(['./bench', 'cd sub', './x']);
  });

  it('a for list and the inside of [[ ]] are arguments, never commands', () => {
    expect(show('for f in /etc/a.sh b; do . "$f"; done')).toEqual(['[args] /etc/a.sh b', '. <$f>']);
    expect(show('for f do ./x "$f"; done')).toEqual(['./x <$f>']);
    expect(show('[[ -f /a && -x /b ]] && /b')).toEqual(['[args] -f /a -x /b', '/b']);
  });

  it('reads the commands of $(...), backquotes and <(...) too, before the command they are in', () => {
    expect(show('echo $(whoami) `id -u` "$(date +%s)"')).toEqual([
      'whoami',
      'id -u',
      'date +%s',
      'echo <$(...)> <`...`> <$(...)>',
    ]);
    expect(show('x=$(cat /etc/s); diff <(sort a) >(tee b)')).toEqual([
      'cat /etc/s',
      'x=<$(...)>',
      'sort a',
      'tee b',
      'diff <<(...)> <>(...)>',
    ]);
    expect(show('echo $(echo $(./deep))')).toEqual(['./deep', 'echo <$(...)>', 'echo <$(...)>']);
  });

  it('marks every word an expansion makes unknowable', () => {
    expect(show('$CMD ${X} ~/bin "*" * a?b [ab] {a,b} $((1+2)) $\'x\'')).toEqual([
      "<$CMD> <${X}> <~> * <a glob (*)> <a glob (?)> <a glob ([...])> <a brace expansion ({...})> <$((...))> <$'...'>",
    ]);
    expect(show('[ "$x" = y ] && echo [')).toEqual(['[ <$x> = y ]', 'echo [']);
  });

  it('drops comments and line continuations', () => {
    expect(show('echo a \\\n  b # c; /evil\n/bin/true # x')).toEqual(['echo a b', '/bin/true']);
    expect(show('echo a#b')).toEqual(['echo a#b']);
  });

  it.each([
    ['cat <<EOF\nhi\nEOF', 'a here-document (<<)'],
    ['cat <<-EOF\nhi\nEOF', 'a here-document (<<)'],
    ['case $x in a) ./a;; esac', 'case ... esac'],
    ['f() { ./a; }; f', 'a function definition (f())'],
    ['function f { ./a; }', 'a function definition'],
    ['select x in a; do ./a; done', 'select'],
    ['coproc ./a', 'coproc'],
    ['(( i++ ))', 'an arithmetic command ((...))'],
    ['echo ${x:-$(./a)}', 'a command substitution inside ${...}'],
    ['echo $(( $(./a) + 1 ))', 'a command substitution inside $((...))'],
    ['echo "open', 'an unclosed "'],
    ["echo 'open", "an unclosed '"],
    ['echo $(open', 'an unclosed $('],
    ['echo `open', 'an unclosed `'],
    ['cat <', 'a redirection (<) without a target'],
    ['[[ -f x', '[[ without ]]'],
    [`${'$('.repeat(10)}x${')'.repeat(10)}`, 'command substitutions nested deeper than 8'],
  ])('refuses what it does not follow: %j', (script, construct) => {
    expect(show(script)).toBe(construct);
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            'a',
            ' ',
            ';',
            '&',
            '|',
            '(',
            ')',
            '<',
            '>',
            '$',
            '`',
            '"',
            "'",
            '\\',
            '\n',
            '{',
            '}',
            '#',
            '=',
            '*',
            '[',
            ']',
          ),
          maxLength: 30,
        }),
        (s) => {
          const r = parseShellScript(s);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
