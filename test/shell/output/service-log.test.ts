import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DroppedOutput } from '../../../src/shell/output/bounded-writer.js';
import { ServiceLog } from '../../../src/shell/output/service-log.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();

describe('ServiceLog: a service log file procreg keeps', () => {
  it('never holds up the service when the disk does not keep up: past 1 MiB queued lines are dropped, counted and reported once it drains; every line is written or counted', async () => {
    const path = join(tmp(), 'web.log');
    const dropped: DroppedOutput[] = [];
    const errors: string[] = [];
    const log = new ServiceLog(
      { path, maxSize: 64 * 1024 * 1024, keep: 1 },
      (d) => dropped.push(d),
      (e) => errors.push(e),
    );
    // 4 MiB of output in one turn of the event loop: no write can finish meanwhile, as with a
    // disk that has stalled. Each line() returns at once; none waits for the disk.
    const lines = 40_000;
    const text = 'x'.repeat(90);
    const t0 = performance.now();
    for (let i = 0; i < lines; i++) log.line('stdout', 42, `${i} ${text}`);
    const burstMs = performance.now() - t0;
    expect(dropped).toEqual([]); // said once there is room again, not while it drops
    await waitFor('the drop reported', () => (dropped.length > 0 ? true : undefined));
    log.close();
    await waitFor('everything queued written', () => {
      const n = readFileSync(path, 'utf8').split('\n').length - 1;
      return n + (dropped[0]?.lines ?? 0) === lines ? n : undefined;
    });
    const written = readFileSync(path, 'utf8').trim().split('\n');
    expect(errors).toEqual([]);
    expect(dropped).toHaveLength(1);
    expect(written.length).toBeGreaterThan(5000); // about 1 MiB of them
    expect(written.length).toBeLessThan(lines);
    // The first lines, in order, each stamped; then the ones that did not fit are missing.
    written.forEach((l, i) => expect(l).toMatch(new RegExp(`^\\S+Z 42 stdout: ${i} x{90}$`)));
    expect(dropped[0]?.lines).toBe(lines - written.length);
    expect(dropped[0]?.bytes).toBeGreaterThan((dropped[0]?.lines ?? 0) * 90);
    expect(burstMs).toBeLessThan(2000);
  });
});
