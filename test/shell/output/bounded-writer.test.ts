import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoundedFdWriter } from '../../../src/shell/output/bounded-writer.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

describe('BoundedFdWriter', () => {
  it('writes the lines of one turn together, after the turn: nothing is handed to the thread pool meanwhile (issue 15: restart latency)', async () => {
    const file = join(tmp(), 'out');
    const fd = openSync(file, 'a');
    try {
      const w = new BoundedFdWriter(fd);
      for (const line of ['exited\n', 'restart in 0 ms\n', 'started\n']) w.enqueue(Buffer.from(line));
      expect(w.writes).toBe(0); // nothing yet: this turn's work (the PID file) comes first
      expect(w.queuedBytes).toBe(31);
      await w.drained(5000);
      expect(w.writes).toBe(1);
      expect(readFileSync(file, 'utf8')).toBe('exited\nrestart in 0 ms\nstarted\n');

      // Lines that come while a write is under way follow it, in order, in one more write.
      w.enqueue(Buffer.from('a\n'));
      await Promise.resolve(); // the write of 'a' is under way
      w.enqueue(Buffer.from('b\n'));
      w.enqueue(Buffer.from('c\n'));
      await w.drained(5000);
      expect(w.writes).toBe(3);
      expect(readFileSync(file, 'utf8')).toBe('exited\nrestart in 0 ms\nstarted\na\nb\nc\n');
      expect(w.queuedBytes).toBe(0);
    } finally {
      closeSync(fd);
    }
  });
});
