import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyseCommand, type CommandUse, DEFAULT_PATH } from '../../src/config/command-analysis.js';

const PATH = '/usr/bin:/bin';

/** The uses as `role word` (with `@cwd,...` when not just /app and `PATH=...` when it differs). */
function uses(command: string[], env: Record<string, string> = { PATH }): string[] | string {
  const r = analyseCommand(command, { cwd: '/app', env });
  if (!r.ok) return r.construct;
  return r.uses.map((u: CommandUse) => {
    const cwds = u.cwds.join(',') === '/app' ? '' : ` @${u.cwds.join(',')}`;
    const paths =
      u.searchPath && u.paths.join(' ') !== (env.PATH ?? DEFAULT_PATH) ? ` PATH=${u.paths.join(' ')}` : '';
    return `${u.role}${u.searchPath ? '(PATH)' : ''} ${u.word}${cwds}${paths}`;
  });
}

describe('analyseCommand: what a command runs or reads', () => {
  it('an argv: the program, and its arguments that may name files (options are not)', () => {
    expect(uses(['node', '--inspect', 'server.js', '/etc/app.json'])).toEqual([
      'program(PATH) node',
      'argument server.js',
      'argument /etc/app.json',
    ]);
    expect(uses(['/opt/app/bin/run', '$HOME'])).toEqual(['program /opt/app/bin/run', 'argument $HOME']);
  });

  it('a shell runs the script it is given (bash also finds it in PATH), or reads the script of -c', () => {
    expect(uses(['sh', 'run.sh', 'x'])).toEqual(['program(PATH) sh', 'script run.sh', 'argument x']);
    expect(uses(['/bin/bash', '-e', '-o', 'pipefail', 'run.sh'])).toEqual([
      'program /bin/bash',
      'script(PATH) run.sh',
    ]);
    expect(uses(['bash', '-ec', './a && b', 'name', 'arg'])).toEqual([
      'program(PATH) bash',
      'program ./a',
      'program(PATH) b',
      'argument name',
      'argument arg',
    ]);
    expect(uses(['dash', '-s', 'x'])).toEqual(['program(PATH) dash', 'argument x']);
    expect(uses(['bash', '--rcfile', '/etc/rc', '-i'])).toEqual(['program(PATH) bash', 'script /etc/rc']);
    expect(uses(['busybox', 'sh', '-c', 'x'])).toEqual(['program(PATH) busybox', 'program(PATH) x']);
  });

  it('in a script: builtins run nothing, . and source read a script, exec and command run one', () => {
    expect(
      uses(['sh', '-c', 'echo $! > p; test -f marker; . ./env.sh; source lib.sh a; exec ./app --x']),
    ).toEqual([
      'program(PATH) sh',
      'argument marker',
      'script ./env.sh',
      'script(PATH) lib.sh',
      'argument a',
      'program ./app',
    ]);
    expect(uses(['sh', '-c', 'command -v node; command node x'])).toEqual([
      'program(PATH) sh',
      'argument node',
      'program(PATH) node',
      'argument x',
    ]);
  });

  it('wrappers run the program after their options: nohup, env, nice, timeout, setsid, stdbuf, xargs, time', () => {
    expect(
      uses(['nohup', 'nice', '-n', '5', 'timeout', '-s', 'KILL', '10s', 'setsid', '-f', './srv']),
    ).toEqual([
      'program(PATH) nohup',
      'program(PATH) nice',
      'argument 5',
      'program(PATH) timeout',
      'argument KILL',
      'argument 10s',
      'program(PATH) setsid',
      'program ./srv',
    ]);
    expect(uses(['env', '-u', 'X', 'A=1', 'PATH=/opt/bin:/usr/bin', 'app'])).toEqual([
      'program(PATH) env',
      'program(PATH) app PATH=/usr/bin:/bin /opt/bin:/usr/bin',
    ]);
    expect(uses(['sh', '-c', 'find . | xargs -n 1 -I{} ./each {}'])).toEqual([
      'program(PATH) sh',
      'program(PATH) find',
      'argument .',
      'program(PATH) xargs',
      'argument 1',
      'program ./each',
      'argument {}',
    ]);
    expect(uses(['env', '-S', 'a b'])).toBe('env -S');
    expect(uses(['env', '-C', '/x', 'y'])).toBe('env -C');
  });

  it('follows cd and PATH changes in a script, conservatively: every directory and PATH seen so far', () => {
    expect(uses(['sh', '-c', 'cd /srv && ./run; cd sub; ./b'])).toEqual([
      'program(PATH) sh',
      'program ./run @/app,/srv',
      'program ./b @/app,/srv,/app/sub,/srv/sub',
    ]);
    expect(uses(['sh', '-c', 'PATH=/opt/bin:$PATH; export PATH; app; PATH="$PATH:/x" other'])).toEqual([
      'program(PATH) sh',
      'program(PATH) app PATH=/usr/bin:/bin /opt/bin:/usr/bin:/bin',
      'program(PATH) other PATH=/usr/bin:/bin /opt/bin:/usr/bin:/bin /usr/bin:/bin:/x /opt/bin:/usr/bin:/bin:/x',
    ]);
    expect(uses(['sh', '-c', 'export PATH=/p; a'])).toEqual([
      'program(PATH) sh',
      'program(PATH) a PATH=/usr/bin:/bin /p',
    ]);
  });

  it('reads a trap action and a nested sh -c as scripts, and checks files read with < and for lists', () => {
    expect(
      uses([
        'sh',
        '-c',
        "trap './cleanup' EXIT; trap '' TERM; sh -c './inner x'; for f in /a /b; do :; done < /in",
      ]),
    ).toEqual([
      'program(PATH) sh',
      'program ./cleanup',
      'program(PATH) sh',
      'program ./inner',
      'argument x',
      'argument /a',
      'argument /b',
      'argument /in',
    ]);
  });

  it('checks the files the loader and bash read from the environment', () => {
    expect(
      uses(['bash', '-c', 'true'], { PATH, BASH_ENV: '/etc/bashenv', LD_PRELOAD: '/lib/a.so:/lib/b.so' }),
    ).toEqual(['script /lib/a.so', 'script /lib/b.so', 'program(PATH) bash', 'script /etc/bashenv']);
    expect(uses(['x'], {})).toEqual(['program(PATH) x']); // without PATH: the default one
  });

  it.each([
    [['sh', '-c', '$CMD arg'], 'the command word "$CMD" is an expansion ($CMD)'],
    [
      ['sh', '-c', '"$(which node)" app.js'],
      'the command word "\\"$(which node)\\"" is an expansion ($(...))',
    ],
    [['sh', '-c', '`which node` app.js'], 'the command word "`which node`" is an expansion (`...`)'],
    [['sh', '-c', './bin/*.sh'], 'the command word "./bin/*.sh" is an expansion (a glob (*))'],
    [['sh', '-c', 'eval "$x"'], 'eval'],
    [['sh', '-c', 'cat <<EOF\nx\nEOF'], 'a here-document (<<)'],
    [['sh', '-c', '. "$HOME/.profile"'], 'the file . reads "\\"$HOME/.profile\\"" is an expansion ($HOME)'],
    [['sh', '-c', 'exec "$@"', 'x'], 'the command word "\\"$@\\"" is an expansion ($@)'],
    [['sh', '-c', 'cd; ./x'], 'cd without a directory (to $HOME)'],
    [['sh', '-c', 'cd "$D"; ./x'], 'the directory of cd "\\"$D\\"" is an expansion ($D)'],
    [['sh', '-c', 'PATH=$DIR:$PATH x'], 'PATH is set from an expansion (PATH=$DIR:$PATH)'],
    [['bash', '-c', '"$SCRIPT"'], 'the command word "\\"$SCRIPT\\"" is an expansion ($SCRIPT)'],
    [['sh', '-c', 'sh -c "$X"'], 'the script of sh -c "\\"$X\\"" is an expansion ($X)'],
    [['sh', '-c', 'trap "$X" EXIT'], 'the action of trap "\\"$X\\"" is an expansion ($X)'],
  ])('refuses what it cannot follow: %j', (command, construct) => {
    expect(uses(command)).toBe(construct);
  });

  it('arguments that merely contain $ are fine', () => {
    expect(uses(['sh', '-c', 'echo $! "$HOME" ${x:-y}; kill -TERM $$; sleep 0.0$(( $$ % 9 ))'])).toEqual([
      'program(PATH) sh',
      'program(PATH) sleep',
    ]);
  });

  it('never throws, and every use it reports has a word and a working directory (property)', () => {
    const word = fc.oneof(
      fc.constantFrom(
        'sh',
        'bash',
        '-c',
        '-ec',
        'env',
        'exec',
        'nohup',
        'timeout',
        'cd',
        '.',
        'PATH=/x:$PATH',
        'A=1',
      ),
      fc.string({
        unit: fc.constantFrom('a', '/', '.', ' ', ';', '$', '"', "'", '(', ')', '`', '&', '|', '<', '-'),
        maxLength: 12,
      }),
    );
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (argv) => {
        const r = analyseCommand(argv, { cwd: '/app', env: { PATH } });
        if (r.ok) for (const u of r.uses) expect(u.word.length > 0 && u.cwds.length > 0).toBe(true);
        else expect(r.construct.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });
});
