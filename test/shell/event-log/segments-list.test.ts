import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLogFiles, liveSegmentOf, logFilePaths } from '../../../src/shell/event-log/segments.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();

describe('the files of a segmented log', () => {
  it('lists closed segments by first seq (not by name length), then the live one; other files are not the log', () => {
    const d = tmp();
    for (const n of [
      'events.0000000000000100.jsonl',
      'events.0000000000000001.jsonl',
      'events.0000000000000042.jsonl',
      'events.jsonl',
      'other.0000000000000005.jsonl', // another log's segment
      'events.0000000000000007.jsonl.torn-12', // a torn fragment, not a segment
      'events.jsonl.displaced-1',
      'web.pid',
    ])
      writeFileSync(join(d, n), 'x\n');
    const live = join(d, 'events.jsonl');
    const files = listLogFiles(live);
    expect(files.closed.map((f) => f.firstSeq)).toEqual([1, 42, 100]);
    expect(files.liveFile?.path).toBe(live);
    expect(logFilePaths(live)).toEqual([
      join(d, 'events.0000000000000001.jsonl'),
      join(d, 'events.0000000000000042.jsonl'),
      join(d, 'events.0000000000000100.jsonl'),
      live,
    ]);
    // Something else under a segment's name is listed, for the reader to refuse by name
    // (ELOGNOTFILE), rather than skipped as if the chain had no file there.
    mkdirSync(join(d, 'events.0000000000000200.jsonl'));
    expect(listLogFiles(live).closed.map((f) => f.firstSeq)).toEqual([1, 42, 100, 200]);
  });

  it('without a live segment, the closed ones are the log; a missing directory is an empty log', () => {
    const d = tmp();
    writeFileSync(join(d, 'events.0000000000000001.jsonl'), 'x\n');
    expect(logFilePaths(join(d, 'events.jsonl'))).toEqual([join(d, 'events.0000000000000001.jsonl')]);
    expect(logFilePaths(join(d, 'nowhere', 'events.jsonl'))).toEqual([]);
  });

  it('a segment or the directory names the log whose live segment is beside it', () => {
    const d = tmp();
    writeFileSync(join(d, 'events.0000000000000001.jsonl'), 'x\n');
    expect(liveSegmentOf(join(d, 'events.0000000000000001.jsonl'), false)).toBe(join(d, 'events.jsonl'));
    expect(liveSegmentOf(join(d, 'events.jsonl'), false)).toBe(join(d, 'events.jsonl'));
    expect(liveSegmentOf(d, true)).toBe(join(d, 'events.jsonl'));
  });
});
