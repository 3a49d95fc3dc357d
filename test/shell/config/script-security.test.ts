import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/config/schema.js';
import type { Event } from '../../../src/events/types.js';
import { loadConfigFile } from '../../../src/shell/config/load-config.js';
import { scriptSecurityMemo, vetCommand } from '../../../src/shell/config/script-security.js';
import { Supervisor } from '../../../src/shell/supervisor/supervisor.js';
import { useTmpDir } from '../../support/tmp.js';
import { killAll, waitFor } from '../../support/wait.js';

const tmp = useTmpDir();
const asRoot = process.getuid?.() === 0;

/** A config running `script` (made here with `mode`) as a service, through node as an interpreter too. */
function setup(opts: { mode: number; dirMode?: number; owner?: number; allow?: boolean }) {
  const root = tmp();
  const dir = join(root, 'bin');
  mkdirSync(dir);
  const script = join(dir, 'run.sh');
  writeFileSync(script, '#!/bin/sh\nexec sleep 1\n');
  chmodSync(script, opts.mode);
  if (opts.dirMode !== undefined) chmodSync(dir, opts.dirMode);
  if (opts.owner !== undefined) chownSync(script, opts.owner, opts.owner);
  const config = join(root, 'procreg.yaml');
  writeFileSync(
    config,
    `${opts.allow ? 'allowUnsafeScripts: true\n' : ''}services:\n  direct: { command: [${script}] }\n  interpreted: { command: [sh, ${script}] }\n`,
  );
  return { config, script, dir };
}

describe.runIf(asRoot)('script security when procreg runs as root', () => {
  it('accepts root-owned programs in root-owned directories (a sticky shared one like /tmp included)', () => {
    const { config } = setup({ mode: 0o755 });
    expect(loadConfigFile(config)).toMatchObject({ ok: true });
    const sticky = setup({ mode: 0o755, dirMode: 0o1777 });
    expect(loadConfigFile(sticky.config)).toMatchObject({ ok: true });
  });

  it('refuses a program others can write, naming the service, the file and the way out', () => {
    const { config, script } = setup({ mode: 0o757 });
    const res = loadConfigFile(config);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.problems.map((p) => formatProblem(p))).toEqual([
      `${config}: services.direct.command: ${script} is writable by others (mode 0757); as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
      `${config}: services.interpreted.command: ${script} is writable by others (mode 0757); as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
    ]);
  });

  it('refuses a program owned by another user, and one in a directory others can write', () => {
    const owned = setup({ mode: 0o755, owner: 1000 });
    expect(loadConfigFile(owned.config)).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({
          message: expect.stringContaining(`${owned.script} is owned by uid 1000, not root`),
        }),
        expect.anything(),
      ],
    });
    const openDir = setup({ mode: 0o755, dirMode: 0o777 });
    expect(loadConfigFile(openDir.config)).toMatchObject({
      ok: false,
      problems: [
        expect.objectContaining({
          message: expect.stringContaining(
            `${openDir.dir} (above ${openDir.script}) is writable by group and others (mode 0777)`,
          ),
        }),
        expect.anything(),
      ],
    });
  });

  it('runs it anyway when the config says allowUnsafeScripts: true', () => {
    const { config } = setup({ mode: 0o777, allow: true });
    expect(loadConfigFile(config)).toMatchObject({ ok: true, config: { allowUnsafeScripts: true } });
  });
});

describe.runIf(asRoot)('script security resolves relative commands where they will run', () => {
  it("checks a relative command in the config's directory, where the spawn runs it, whatever procreg's working directory", () => {
    const work = tmp(); // procreg's working directory: a safe ./run.sh
    writeFileSync(join(work, 'run.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(work, 'run.sh'), 0o755);
    const home = tmp(); // where the config lives: an unsafe ./run.sh
    writeFileSync(join(home, 'run.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(home, 'run.sh'), 0o757);
    const config = join(home, 'procreg.yaml');
    writeFileSync(config, 'checks:\n  probe: { command: [./run.sh] }\n');
    const before = process.cwd();
    process.chdir(work);
    try {
      const res = loadConfigFile(config);
      expect(res.ok).toBe(false);
      if (!res.ok)
        expect(res.problems.map((p) => formatProblem(p))[0]).toContain(
          `checks.probe.command: ${join(home, 'run.sh')} is writable by others`,
        );
      chmodSync(join(home, 'run.sh'), 0o755);
      chmodSync(join(work, 'run.sh'), 0o757);
      expect(loadConfigFile(config)).toMatchObject({
        ok: true,
        config: { checks: { probe: { command: [join(home, 'run.sh')], cwd: home } } },
      });
    } finally {
      process.chdir(before);
    }
  });
});

/** A root-owned directory under a fresh temp dir, with `mode`. */
function dirWith(mode: number, name = 'd'): string {
  const d = join(tmp(), name);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
}

/** An executable script at `path`, mode `mode`. */
function script(path: string, mode = 0o755): string {
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

/** The problems of a config with these services (each a command, optionally with env), as text. */
function problemsOf(
  services: Record<string, { command: string[]; env?: Record<string, string> }>,
  extra = '',
): string[] {
  const dir = tmp();
  const config = join(dir, 'procreg.yaml');
  writeFileSync(config, `${extra}services: ${JSON.stringify(services)}\n`);
  const res = loadConfigFile(config);
  return res.ok ? [] : res.problems.map((p) => formatProblem(p, '').replace(`${config}: `, ''));
}

const REFUSED = 'as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)';

describe.runIf(asRoot)('script security reads the scripts a shell runs', () => {
  it('checks the command words of a sh -c script, whatever options come before -c', () => {
    const bin = dirWith(0o755);
    const unsafe = script(join(bin, 'unsafe.sh'), 0o757);
    expect(
      problemsOf({
        a: { command: ['sh', '-c', `${unsafe} --flag`] },
        b: { command: ['bash', '-ec', `echo start; ${unsafe} x && true`] },
        c: { command: ['/bin/sh', '-e', '-x', '-c', `cd ${bin}; ./unsafe.sh "$1"`, 'name', 'arg'] },
      }),
    ).toEqual([
      `services.a.command: ${unsafe} is writable by others (mode 0757); ${REFUSED}`,
      `services.b.command: ${unsafe} is writable by others (mode 0757); ${REFUSED}`,
      `services.c.command: ${unsafe} is writable by others (mode 0757); ${REFUSED}`,
    ]);
  });

  it('resolves a command word through PATH (the service env included), and follows wrappers and sourcing', () => {
    const mine = dirWith(0o755, 'mine');
    const tool = script(join(mine, 'mytool'));
    chownSync(tool, 1000, 1000);
    const PATH = `${mine}:/usr/bin:/bin`;
    const lib = script(join(mine, 'lib.sh'), 0o646);
    expect(
      problemsOf({
        plain: { command: ['sh', '-c', 'mytool --x'], env: { PATH } },
        wrapped: { command: ['sh', '-c', 'exec nohup env A=1 timeout 5 mytool'], env: { PATH } },
        exported: { command: ['sh', '-c', `PATH=${mine}:$PATH; export PATH; mytool`] },
        sourced: { command: ['sh', '-c', `. ${lib}; source ${lib}`] },
        direct: { command: ['env', `PATH=${mine}`, 'mytool'] },
      }),
    ).toEqual([
      `services.direct.command: ${tool} is owned by uid 1000, not root; ${REFUSED}`,
      `services.exported.command: ${tool} is owned by uid 1000, not root; ${REFUSED}`,
      `services.plain.command: ${tool} is owned by uid 1000, not root; ${REFUSED}`,
      `services.sourced.command: ${lib} is writable by others (mode 0646); ${REFUSED}`,
      `services.wrapped.command: ${tool} is owned by uid 1000, not root; ${REFUSED}`,
    ]);
  });

  it('refuses a script it cannot analyse, naming the service and the construct, unless unsafe scripts are allowed', () => {
    const services = {
      dynamic: { command: ['sh', '-c', '$CMD --serve'] },
      evaluated: { command: ['bash', '-c', 'eval "$SETUP"; ./run'] },
      heredoc: { command: ['sh', '-c', 'cat <<EOF\nhi\nEOF'] },
    };
    const why =
      'as root procreg refuses a script it cannot check (set allowUnsafeScripts: true to run it anyway)';
    expect(problemsOf(services)).toEqual([
      `services.dynamic.command: cannot check the shell script: the command word "$CMD" is an expansion ($CMD); ${why}`,
      `services.evaluated.command: cannot check the shell script: eval; ${why}`,
      `services.heredoc.command: cannot check the shell script: a here-document (<<); ${why}`,
    ]);
    expect(problemsOf(services, 'allowUnsafeScripts: true\n')).toEqual([]);
  });

  it('lets arguments that merely contain $ through, and still checks [sh, file] and [bash, file]', () => {
    const bin = dirWith(0o755);
    const unsafe = script(join(bin, 'run.sh'), 0o757);
    expect(
      problemsOf({
        fine: { command: ['sh', '-c', 'sleep 300 & echo $! > "$HOME/x.pid"; kill -0 $$; wait'] },
        file: { command: ['bash', unsafe, '--port', '$PORT'] },
      }),
    ).toEqual([`services.file.command: ${unsafe} is writable by others (mode 0757); ${REFUSED}`]);
  });

  it('refuses a symlink another user owns, or one in a directory others can write, though it points somewhere safe', () => {
    const links = dirWith(0o755, 'links');
    const owned = join(links, 'true');
    symlinkSync('/bin/true', owned);
    lchownSync(owned, 1000, 1000);
    const open = dirWith(0o777, 'open');
    const placed = join(open, 'true');
    symlinkSync('/bin/true', placed);
    expect(problemsOf({ owned: { command: [owned] }, placed: { command: [placed] } })).toEqual([
      `services.owned.command: ${owned} is a symlink owned by uid 1000, not root; ${REFUSED}`,
      `services.placed.command: ${open} (above ${placed}) is writable by group and others (mode 0777); ${REFUSED}`,
    ]);
  });
});

describe.runIf(asRoot)('script security refuses a missing program another user could create', () => {
  it('in a directory others can write, sticky or not, or one another user owns', () => {
    const sticky = dirWith(0o1777, 'sticky');
    const theirs = dirWith(0o755, 'theirs');
    chownSync(theirs, 1000, 1000);
    const safe = dirWith(0o755, 'safe');
    expect(
      problemsOf({
        a: { command: [join(sticky, 'later.sh')] },
        b: { command: ['sh', join(theirs, 'sub', 'later.sh')] },
        c: { command: [join(safe, 'never.sh')] },
        d: { command: ['sh', '-c', `${join(sticky, 'x')} arg`] },
      }),
    ).toEqual([
      `services.a.command: ${join(sticky, 'later.sh')} does not exist, and ${sticky} is writable by group and others (mode 1777): another user could create it; ${REFUSED}`,
      `services.b.command: ${join(theirs, 'sub', 'later.sh')} does not exist, and ${theirs} is owned by uid 1000, not root: that user could create it; ${REFUSED}`,
      `services.d.command: ${join(sticky, 'x')} does not exist, and ${sticky} is writable by group and others (mode 1777): another user could create it; ${REFUSED}`,
    ]);
  });

  it('a name looked up in PATH: refused when a directory searched before it is found (or at all) is writable', () => {
    const open = dirWith(0o777, 'open');
    const PATH = `${open}:/usr/bin:/bin`;
    const plain = dirWith(0o755, 'plain');
    script(join(plain, 'mytool'), 0o644);
    const mine = dirWith(0o755, 'mine');
    const tool = script(join(mine, 'mytool'));
    chownSync(tool, 1000, 1000);
    expect(
      problemsOf({
        shadowed: { command: ['sleep', '1'], env: { PATH } },
        missing: { command: ['sh', '-c', 'no-such-tool-procreg'], env: { PATH } },
        after: { command: ['sleep', '1'], env: { PATH: `/usr/bin:/bin:${open}` } },
        // A file execvp would pass over (not executable) hides nothing: the search goes on.
        passed: { command: ['sh', '-c', 'mytool'], env: { PATH: `${plain}:${mine}` } },
      }),
    ).toEqual([
      // sh itself is looked up there first.
      `services.missing.command: ${join(open, 'sh')} does not exist, and ${open} is writable by group and others (mode 0777): another user could create it; ${REFUSED}`,
      `services.missing.command: ${join(open, 'no-such-tool-procreg')} does not exist, and ${open} is writable by group and others (mode 0777): another user could create it; ${REFUSED}`,
      `services.passed.command: ${tool} is owned by uid 1000, not root; ${REFUSED}`,
      `services.shadowed.command: ${join(open, 'sleep')} does not exist, and ${open} is writable by group and others (mode 0777): another user could create it; ${REFUSED}`,
    ]);
  });
});

describe.runIf(asRoot)('vetCommand: the check at exec time', () => {
  it('returns the first reason a command must not run, or null; nothing with allowUnsafeScripts', () => {
    const bin = dirWith(0o755);
    const ok = script(join(bin, 'ok.sh'));
    const bad = script(join(bin, 'bad.sh'), 0o757);
    expect(vetCommand([ok], bin, {})).toBeNull();
    expect(vetCommand(['sh', '-c', './bad.sh'], bin, {}, { where: 'checks.x.command' })).toEqual({
      path: 'checks.x.command',
      message: `${bad} is writable by others (mode 0757); ${REFUSED}`,
    });
    expect(vetCommand([bad], bin, {}, { allowUnsafeScripts: true })).toBeNull();
  });

  it('resolves `..` as the kernel does: after a symlink it goes up from where the link leads, not from the link', () => {
    // root/link -> root/user/app; root/bin/tool is root's, root/user/bin/tool another user's.
    const root = dirWith(0o755, 'dotdot');
    mkdirSync(join(root, 'bin'));
    script(join(root, 'bin', 'tool'));
    mkdirSync(join(root, 'user', 'app'), { recursive: true });
    mkdirSync(join(root, 'user', 'bin'));
    const theirs = script(join(root, 'user', 'bin', 'tool'));
    for (const p of [join(root, 'user'), join(root, 'user', 'app'), join(root, 'user', 'bin'), theirs])
      chownSync(p, 65534, 65534);
    symlinkSync(join(root, 'user', 'app'), join(root, 'link'));
    const refused = (problem: ReturnType<typeof vetCommand>) => problem?.message.split(';')[0];
    // The path as written, from a working directory through the link, and a PATH entry through it:
    // each runs root/user/bin/tool (path.resolve would have checked root/bin/tool).
    expect(refused(vetCommand(['../bin/tool'], join(root, 'link'), {}))).toMatch(/owned by uid 65534/);
    expect(refused(vetCommand([`${root}/link/../bin/tool`], root, {}))).toMatch(/owned by uid 65534/);
    expect(refused(vetCommand(['tool'], root, { PATH: `${root}/link/../bin` }))).toMatch(
      /owned by uid 65534/,
    );
    // Without a link in the way `..` is plain: root's own tool is fine.
    expect(vetCommand(['../bin/tool'], join(root, 'user'), {})).toBeNull();
    expect(vetCommand([`${root}/bin/../bin/tool`], root, {})).toBeNull();
    expect(vetCommand(['tool'], root, { PATH: `${root}/user/../bin` })).toBeNull();
    // The link re-pointed at a directory of root's: the kept verdict is drawn again, and now
    // `link/..` is root, whose bin/tool is root's.
    mkdirSync(join(root, 'app'));
    unlinkSync(join(root, 'link'));
    symlinkSync(join(root, 'app'), join(root, 'link'));
    expect(vetCommand(['../bin/tool'], join(root, 'link'), {})).toBeNull();
  });

  it('a program made unsafe after the config was loaded is refused at its next spawn and check run', async () => {
    const dir = tmp();
    const svc = script(join(dir, 'svc.sh'));
    writeFileSync(svc, '#!/bin/sh\nexec sleep 300\n');
    const probe = script(join(dir, 'probe.sh'));
    const config = join(dir, 'procreg.yaml');
    writeFileSync(
      config,
      'services:\n  web: { command: [./svc.sh], backoff: { initial: 10ms }, stopTimeout: 2s }\nchecks:\n  probe: { command: [./probe.sh], interval: 50ms }\n',
    );
    const sup = await Supervisor.open({ configPath: config, logger: pino({ level: 'silent' }) });
    const seen: Event[] = [];
    const pids = new Set<number>();
    sup.events.subscribe((e) => {
      seen.push(e);
      if (e.type === 'spawned') pids.add(e.pid);
    });
    try {
      const first = await waitFor('web running', () => sup.status().services[0]?.pid ?? undefined);
      pids.add(first);
      await waitFor('a probe run', () => seen.find((e) => e.type === 'check-finished'));
      chmodSync(svc, 0o757);
      chmodSync(probe, 0o757);
      process.kill(first, 'SIGKILL');
      const failed = await waitFor('spawn-failed', () => seen.find((e) => e.type === 'spawn-failed'));
      expect(failed).toMatchObject({
        name: 'web',
        error: `services.web.command: ${svc} is writable by others (mode 0757); ${REFUSED}`,
      });
      const refused = await waitFor('check-start-failed', () =>
        seen.find((e) => e.type === 'check-start-failed'),
      );
      expect(refused).toMatchObject({
        name: 'probe',
        error: `checks.probe.command: ${probe} is writable by others (mode 0757); ${REFUSED}`,
      });
      expect([...pids]).toEqual([first]); // never spawned again
    } finally {
      await Promise.race([sup.stop('test'), new Promise((r) => setTimeout(r, 5000))]);
      killAll(pids);
    }
  });
});

describe.runIf(asRoot)('script security against the user a program runs as', () => {
  it('an app owned by its deploy user runs as that user without allowUnsafeScripts, and is refused as root or as another user', () => {
    const deploy = 65534; // nobody: an unprivileged user that exists everywhere
    const root = tmp();
    const app = join(root, 'app');
    mkdirSync(app);
    chownSync(app, deploy, deploy);
    const run = script(join(app, 'run.sh'));
    chownSync(run, deploy, deploy);
    const config = join(root, 'procreg.yaml');
    const write = (user: string) =>
      writeFileSync(config, `services:\n  web: { command: [${run}], cwd: ${app}${user} }\n`);
    write(', user: nobody');
    expect(loadConfigFile(config)).toMatchObject({ ok: true });
    expect(vetCommand([run], app, {}, { runsAs: deploy })).toBeNull();
    write('');
    const asRootRes = loadConfigFile(config);
    expect(!asRootRes.ok && asRootRes.problems.map((p) => formatProblem(p))).toEqual([
      `${config}: services.web.command: ${run} is owned by uid ${deploy}, not root; ${REFUSED}`,
    ]);
    write(', user: postgres');
    const other = loadConfigFile(config);
    expect(!other.ok && other.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(new RegExp(`is owned by uid ${deploy}, not root or uid \\d+ it runs as; `)),
    ]);
    // Still refused when others may write it, whoever it runs as.
    chmodSync(run, 0o757);
    expect(vetCommand([run], app, {}, { runsAs: deploy })?.message).toBe(
      `${run} is writable by others (mode 0757); ${REFUSED}`,
    );
  });
});

describe.runIf(asRoot)('the verdict kept between spawns', () => {
  const NOBODY = 65534;
  /** vetCommand's message, and whether the verdict was drawn afresh or served from the memo. */
  const vet = (
    command: string[],
    cwd: string,
    env: Record<string, string> = {},
    runsAs: number | null = null,
  ) => {
    const before = scriptSecurityMemo();
    const message = vetCommand(command, cwd, env, { runsAs })?.message ?? null;
    return { message, fresh: scriptSecurityMemo().misses > before.misses };
  };

  it('is reused while nothing it looked at changed, and drawn again after a chmod, a chown or a new file', () => {
    const bin = dirWith(0o755);
    const app = script(join(bin, 'app.sh'));
    expect(vet([app], bin)).toEqual({ message: null, fresh: true });
    expect(vet([app], bin)).toEqual({ message: null, fresh: false });
    expect(vet(['sh', '-c', `${app} && ${app}`], bin)).toEqual({ message: null, fresh: true });
    expect(vet(['sh', '-c', `${app} && ${app}`], bin)).toEqual({ message: null, fresh: false });

    chmodSync(app, 0o757); // between two spawns
    expect(vet([app], bin)).toEqual({
      message: `${app} is writable by others (mode 0757); ${REFUSED}`,
      fresh: true,
    });
    expect(vet(['sh', '-c', `${app} && ${app}`], bin).message).toBe(
      `${app} is writable by others (mode 0757); ${REFUSED}`,
    );
    chmodSync(app, 0o755);
    expect(vet([app], bin)).toEqual({ message: null, fresh: true });

    chownSync(app, NOBODY, NOBODY);
    expect(vet([app], bin).message).toBe(`${app} is owned by uid ${NOBODY}, not root; ${REFUSED}`);
    chownSync(app, 0, 0);
    chownSync(bin, NOBODY, NOBODY); // a directory above it
    expect(vet([app], bin).message).toBe(
      `${bin} (above ${app}) is owned by uid ${NOBODY}, not root; ${REFUSED}`,
    );
    chownSync(bin, 0, 0);
    expect(vet([app], bin).message).toBeNull();
  });

  it('keeps the run-as owner check: a verdict for one user is never served for another', () => {
    const bin = dirWith(0o755);
    const app = script(join(bin, 'app.sh'));
    chownSync(app, NOBODY, NOBODY);
    expect(vet([app], bin, {}, NOBODY)).toEqual({ message: null, fresh: true });
    expect(vet([app], bin, {}, NOBODY)).toEqual({ message: null, fresh: false });
    expect(vet([app], bin).message).toBe(`${app} is owned by uid ${NOBODY}, not root; ${REFUSED}`);
    expect(vet([app], bin, {}, 1000).message).toBe(
      `${app} is owned by uid ${NOBODY}, not root or uid 1000 it runs as; ${REFUSED}`,
    );
    // Made writable by others between two spawns as its own user: refused, whoever it runs as.
    chmodSync(app, 0o757);
    expect(vet([app], bin, {}, NOBODY).message).toBe(`${app} is writable by others (mode 0757); ${REFUSED}`);
  });

  it('is drawn again when a symlink is re-pointed, a program appears earlier in PATH, or PATH changes', () => {
    const bin = dirWith(0o755);
    const good = script(join(bin, 'good.sh'));
    const bad = script(join(bin, 'bad.sh'), 0o757);
    const link = join(bin, 'app');
    symlinkSync(good, link);
    expect(vet([link], bin).message).toBeNull();
    expect(vet([link], bin).fresh).toBe(false);
    const next = join(bin, 'app.next');
    symlinkSync(bad, next);
    renameSync(next, link); // re-pointed atomically, as a deploy would
    expect(vet([link], bin).message).toBe(`${bad} is writable by others (mode 0757); ${REFUSED}`);

    // `tool` found in the second PATH directory; the first one is root's and holds nothing yet.
    const first = dirWith(0o755, 'first');
    const second = dirWith(0o755, 'second');
    script(join(second, 'tool'));
    const env = { PATH: `${first}:${second}` };
    expect(vet(['tool'], bin, env).message).toBeNull();
    expect(vet(['tool'], bin, env).fresh).toBe(false);
    const shadow = script(join(first, 'tool'));
    chownSync(shadow, NOBODY, NOBODY);
    expect(vet(['tool'], bin, env).message).toBe(`${shadow} is owned by uid ${NOBODY}, not root; ${REFUSED}`);
    unlinkSync(shadow);
    expect(vet(['tool'], bin, env).message).toBeNull();
    // Another PATH: looked at afresh (a directory others may write, searched first, is refused).
    const open = dirWith(0o777, 'open');
    expect(vet(['tool'], bin, { PATH: `${open}:${second}` })).toEqual({
      message: `${join(open, 'tool')} does not exist, and ${open} is writable by group and others (mode 0777): another user could create it; ${REFUSED}`,
      fresh: true,
    });
  });

  // A kept verdict is checked without the stat of a path whose lstat it keeps, nor the realpath
  // of a path none of whose components was a symlink: the lstats stand for them (issue 15).
  it('is drawn again when a directory on the path as written becomes a symlink, or a program in PATH is replaced by one', () => {
    const bin = dirWith(0o755);
    mkdirSync(join(bin, 'app'), { mode: 0o755 });
    const app = script(join(bin, 'app', 'run.sh'));
    expect(vet([app], bin)).toEqual({ message: null, fresh: true });
    expect(vet([app], bin)).toEqual({ message: null, fresh: false });
    // bin/app becomes a link to a directory others may write: the same name, another real path.
    const open = dirWith(0o777, 'open');
    const planted = script(join(open, 'run.sh'));
    renameSync(join(bin, 'app'), join(bin, 'app.old'));
    symlinkSync(open, join(bin, 'app'));
    expect(vet([app], bin)).toEqual({
      message: `${open} (above ${planted}) is writable by group and others (mode 0777); ${REFUSED}`,
      fresh: true,
    });
    unlinkSync(join(bin, 'app'));
    renameSync(join(bin, 'app.old'), join(bin, 'app'));
    expect(vet([app], bin)).toEqual({ message: null, fresh: true });

    // `tool` found in a PATH directory, then replaced by a symlink to a script others may write.
    const dir = dirWith(0o755, 'tools');
    const tool = script(join(dir, 'tool'));
    const env = { PATH: dir };
    expect(vet(['tool'], bin, env)).toEqual({ message: null, fresh: true });
    expect(vet(['tool'], bin, env)).toEqual({ message: null, fresh: false });
    const bad = script(join(bin, 'bad.sh'), 0o757);
    symlinkSync(bad, `${tool}.next`);
    renameSync(`${tool}.next`, tool);
    expect(vet(['tool'], bin, env)).toEqual({
      message: `${bad} is writable by others (mode 0757); ${REFUSED}`,
      fresh: true,
    });
  });

  it('is drawn again when a symlinked directory on its path is re-pointed, and kept while it is not', () => {
    const releases = dirWith(0o755, 'releases');
    for (const v of ['v1', 'v2']) mkdirSync(join(releases, v), { mode: 0o755 });
    script(join(releases, 'v1', 'run.sh'));
    const unsafe = script(join(releases, 'v2', 'run.sh'), 0o757);
    const current = join(releases, 'current');
    symlinkSync(join(releases, 'v1'), current);
    const app = join(current, 'run.sh');
    expect(vet([app], releases)).toEqual({ message: null, fresh: true });
    expect(vet([app], releases)).toEqual({ message: null, fresh: false });
    symlinkSync(join(releases, 'v2'), `${current}.next`);
    renameSync(`${current}.next`, current); // a deploy switching releases
    expect(vet([app], releases)).toEqual({
      message: `${unsafe} is writable by others (mode 0757); ${REFUSED}`,
      fresh: true,
    });
  });
});
