/** `procreg timeline <log> -o timeline.html`: the log as one self-contained HTML page. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseTime } from '../../debug/point.js';
import { timelineHtml } from '../../debug/timeline-html.js';
import { TimelineBuilder } from '../../debug/timeline.js';
import { Story } from '../../debug/story.js';
import { loadChartLibrary } from '../debug/chart-library.js';
import { finishReport, openLog, runCommand, timeStyle, usageError } from '../debug/command-kit.js';
import { EVENT_BATCHES } from '../../debug/walk.js';
import { isNatsTarget } from '../fleet/nats.js';
import type { CommandIO } from './io.js';

export interface TimelineCommandOptions {
  /** Where to write the page (`-` for stdout). Default timeline.html. */
  readonly output?: string;
  readonly since?: string;
  readonly until?: string;
  readonly title?: string;
  readonly utc?: boolean;
}

export async function timelineCommand(
  log: string,
  opts: TimelineCommandOptions & { readonly host?: readonly string[] },
  io: CommandIO,
): Promise<number> {
  if (isNatsTarget(log)) {
    // One page per host: timeline.html becomes timeline-<host>.html.
    const out = opts.output ?? 'timeline.html';
    return (await import('./fleet-command.js')).fleetPerHostCommand(
      'timeline',
      log,
      opts,
      null,
      io,
      (path, hostIo, host) =>
        timelineCommand(
          path,
          {
            ...opts,
            title: opts.title ?? `procreg timeline: ${host}`,
            output:
              out === '-' ? out : out.replace(/(\.html)?$/, `-${host.replace(/[^A-Za-z0-9_.-]/g, '_')}$1`),
          },
          hostIo,
        ),
    );
  }
  return runCommand('timeline', io, async () => {
    const now = Date.now();
    const time = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const t = parseTime(v, now);
      if (!t.ok) throw usageError(`${flag}: ${t.error}`);
      return t.value;
    };
    const since = time('--since', opts.since);
    const until = time('--until', opts.until);
    if (since !== undefined && until !== undefined && until <= since)
      throw usageError('--until must be after --since');
    const library = loadChartLibrary();
    const open = openLog(log, io);
    const story = new Story();
    const builder = new TimelineBuilder({
      ...timeStyle(opts),
      since,
      until,
      title: opts.title ?? `procreg timeline: ${open.source.given}`,
      source: open.source.path,
    }).attach(story);
    for await (const batch of open.events()[EVENT_BATCHES]()) for (const e of batch) story.push(e);
    story.finish();
    const data = builder.result(story);
    const html = timelineHtml(data, library);
    const out = opts.output ?? 'timeline.html';
    if (out === '-') io.out(html);
    else writeAtomically(out, html);
    const kb = Math.round(Buffer.byteLength(html) / 1024);
    io.err(
      `procreg timeline: ${out === '-' ? 'wrote the page' : `wrote ${out}`}: ${kb} KB; ${data.stats.events} events, ${data.lanes.length} lanes, ${data.stats.detailed} marks drawn one by one${data.stats.aggregated ? `, ${data.stats.aggregated} counted in aggregates` : ''}`,
    );
    return finishReport(open, 'procreg timeline');
  });
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
