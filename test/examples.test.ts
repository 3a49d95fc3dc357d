import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('examples/custom-supervisor.ts', () => {
  it('runs, reacts to a given-up service, restarts api from its own event source, and stops cleanly', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'examples/custom-supervisor.ts', '2'],
      { timeout: 30_000 },
    );
    expect(stdout).toMatch(/ALERT: broken given up after 3 restarts/);
    expect(stdout).toMatch(/deploy hook: restarting api/);
    expect(stdout).toMatch(/api #2 started as pid \d+/);
    expect(stdout).toMatch(/stopped: api stopped \(0 restarts\), broken given-up \(3 restarts\)/);
  });
});
