import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveLog } from '../../../src/shell/debug/log-source.js';
import { useTmpDir } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';

const tmp = useTmpDir();

const line = (seq: number) =>
  `${JSON.stringify({ v: 2, seq, time: 1_700_000_000_000 + seq, mono: seq, type: 'supervisor-started', pid: 1, version: '0' })}\n`;

describe('resolveLog while procreg rotates the log', () => {
  it('a live segment missing (the instant of a rotation, or a crash in it) is the log of its closed segments', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'events.0000000000000001.jsonl'), line(1) + line(2));
    const live = join(dir, 'events.jsonl');
    const r = resolveLog(live);
    expect(r).toEqual({
      ok: true,
      source: { given: live, path: live, files: [join(dir, 'events.0000000000000001.jsonl')], via: null },
    });
    expect(resolveLog(join(dir, 'none.jsonl'))).toEqual({
      ok: false,
      message: `${join(dir, 'none.jsonl')}: no such event log file`,
    });
  });

  it('a file renamed or deleted between the listing and the look at it is listed again, never refused', async () => {
    const dir = tmp();
    const live = join(dir, 'events.jsonl');
    const config = join(dir, 'procreg.yaml');
    writeFileSync(config, 'runDir: .\nservices: { a: { command: [sleep, "1"] } }\n');
    writeFileSync(live, line(1));
    // A rotation every 2 ms (procreg's take a segment's worth of events and an fsync):
    // the live segment renamed to its closed name, the next created; retention deletes each
    // closed segment ten rotations later.
    const rotator = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'), p = require('path');
         const dir = ${JSON.stringify(dir)}, live = p.join(dir, 'events.jsonl');
         const name = (s) => p.join(dir, 'events.' + String(s).padStart(16, '0') + '.jsonl');
         const line = ${line.toString()};
         const end = Date.now() + 20000;
         for (let s = 1; Date.now() < end; s++) {
           fs.renameSync(live, name(s));
           fs.writeFileSync(live, line(s + 1));
           if (s > 10) fs.rmSync(name(s - 10));
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
         }`,
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor('the first rotation', () => (resolveLog(dir).ok ? true : undefined));
      const refused = new Set<string>();
      let calls = 0;
      for (const end = Date.now() + 1500; Date.now() < end; calls++)
        for (const given of [config, dir, live]) {
          const r = resolveLog(given);
          if (!r.ok) refused.add(r.message.replace(/\d{16}/, 'N'));
        }
      expect(calls).toBeGreaterThan(10);
      expect([...refused]).toEqual([]);
    } finally {
      rotator.kill('SIGKILL');
    }
  });
});
