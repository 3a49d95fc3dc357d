/**
 * A host's log on the stream as a log file, for the debugging commands that read one
 * (history, why, timeline): the events of its subject written in seq order to
 * `<tmp>/<host>/events.jsonl`, so that each command reads it through the same reader as any
 * log (src/shell/debug) instead of a copy of it for streams. Removed when done.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjectToken } from '../../config/ship.js';
import type { NormalizedConfig } from '../../config/types.js';
import { encodeEvent } from '../../events/codec.js';
import { type FleetStream, logEvents, type StreamLog, type StreamProblem } from './stream-source.js';

export interface HostLogFile {
  readonly log: StreamLog;
  /** The file holding its events. */
  readonly path: string;
  /** Service and check names its configs had. */
  readonly names: ReadonlySet<string>;
}

/** Each log's events written to a file in a fresh temp dir; `dispose` removes them. */
export async function materializeLogs(
  fs: FleetStream,
  logs: readonly StreamLog[],
  onProblem: (p: StreamProblem) => void,
): Promise<{ files: HostLogFile[]; dispose: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'procreg-fleet-'));
  const files: HostLogFile[] = [];
  try {
    for (const log of logs) {
      const d = join(dir, `${subjectToken(log.host)}-${subjectToken(log.logId)}`);
      mkdirSync(d);
      const path = join(d, 'events.jsonl');
      writeFileSync(path, '', { mode: 0o600 });
      const names = new Set<string>();
      for await (const batch of logEvents(fs, log, onProblem)) {
        for (const e of batch) {
          if (e.type === 'config-loaded')
            for (const n of [...Object.keys(e.config.services), ...Object.keys(e.config.checks)])
              names.add(n);
          const config =
            e.type === 'snapshot' ? (e.state as { config?: NormalizedConfig | null }).config : null;
          if (config)
            for (const n of [...Object.keys(config.services), ...Object.keys(config.checks)]) names.add(n);
        }
        appendFileSync(path, batch.map((e) => `${encodeEvent(e)}\n`).join(''));
      }
      files.push({ log, path, names });
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { files, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
