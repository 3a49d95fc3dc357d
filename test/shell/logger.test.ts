import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// humanLogger writes to file descriptor 1 through the bounded writer, as `procreg run` does: it
// is run in a child whose stdout is a pipe the test reads (through dist/, which
// test/support/build.ts compiles from src/). The child waits for the writer to drain, as
// `procreg run` does before it exits.
const LOGGER = pathToFileURL(join(process.cwd(), 'dist', 'shell', 'logger.js')).href;
const WRITER = pathToFileURL(join(process.cwd(), 'dist', 'shell', 'output', 'bounded-writer.js')).href;

async function logWith(format: string, tty = false, extra = 0): Promise<string[]> {
  const script = `
    const { humanLogger } = await import(${JSON.stringify(LOGGER)});
    const { BoundedFdWriter } = await import(${JSON.stringify(WRITER)});
    ${tty ? 'process.stdout.isTTY = true; // as when stdout is a terminal' : ''}
    const out = new BoundedFdWriter(1);
    const log = await humanLogger(${JSON.stringify(format)}, out);
    log.info({ service: 'web', pid: 4242 }, 'web: started, pid 4242');
    log.info({ service: 'web', pid: 4242, stream: 'stdout' }, 'listening on 8080');
    log.warn({ check: 'alive', pid: 77, stream: 'stderr' }, 'curl: refused');
    log.info('procreg stopped');
    for (let i = 0; i < ${extra}; i++) log.info({ service: 'web', i }, 'line ' + i);
    await out.drained(10000);
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter(Boolean);
}

const TIME = String.raw`\[\d\d:\d\d:\d\d\.\d{3}\]`;

describe('humanLogger', () => {
  it('json: one pino JSON line per entry, with only the fields given (no hostname, no procreg pid)', async () => {
    const lines = (await logWith('json')).map((l) => JSON.parse(l) as unknown);
    const time = expect.any(Number);
    expect(lines).toEqual([
      { level: 30, time, service: 'web', pid: 4242, msg: 'web: started, pid 4242' },
      { level: 30, time, service: 'web', pid: 4242, stream: 'stdout', msg: 'listening on 8080' },
      { level: 40, time, check: 'alive', pid: 77, stream: 'stderr', msg: 'curl: refused' },
      { level: 30, time, msg: 'procreg stopped' },
    ]);
  });

  it('json: every line is out when the process exits right after its last one (20000 lines, ~1.5 MB)', async () => {
    const lines = await logWith('json', false, 20_000);
    expect(lines).toHaveLength(20_004);
    expect(JSON.parse(lines[20_003] as string)).toEqual({
      level: 30,
      time: expect.any(Number),
      service: 'web',
      i: 19_999,
      msg: 'line 19999',
    });
  });

  it("pretty: one readable line per entry; a child's own output prefixed with its service or check name", async () => {
    expect(await logWith('pretty')).toEqual([
      expect.stringMatching(new RegExp(`^${TIME} INFO \\(4242\\): web: started, pid 4242$`)),
      expect.stringMatching(new RegExp(`^${TIME} INFO \\(4242\\): web\\| listening on 8080$`)),
      expect.stringMatching(new RegExp(`^${TIME} WARN \\(77\\): alive\\| curl: refused$`)),
      expect.stringMatching(new RegExp(`^${TIME} INFO: procreg stopped$`)),
    ]);
  });

  it('auto: JSON when stdout is not a terminal, pretty (in colour) when it is', async () => {
    const piped = await logWith('auto');
    expect(piped).toHaveLength(4);
    expect(piped.every((l) => l.startsWith('{"level":'))).toBe(true);

    const tty = await logWith('auto', true);
    expect(tty).toHaveLength(4);
    expect(tty[1]).toMatch(
      new RegExp(`^${TIME} \\u001b\\[32mINFO\\u001b\\[39m \\(4242\\): .*web\\| listening on 8080`),
    );
    expect(tty.some((l) => l.startsWith('{'))).toBe(false);
  });
});
