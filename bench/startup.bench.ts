// Start-up of `procreg run` on long logs (issue 11): from exec to the first service spawned,
// on storm logs (bench/storm-log.ts) of 10k, 1M and 10M events, side by side with procreg
// before segments (the commit before "Segmented event log", built from git into the temp
// dir) on 10k and 1M: today's must stay flat, the old one grew with the log.
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { segmentName, segmentSeqOf } from '../src/config/run-dir.js';
import { EVENT_LOG_POLICY_DEFAULT } from '../src/config/types.js';
import { stormConfig, stormServices, writeStormLog } from './storm-log.js';
import { benchTempDir, median, onInterrupt, type Result } from './util.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The last commit before the segmented log: its start-up folds the whole log. */
export const BASE_COMMIT = '03890ed';
const SERVICES = 300;

interface LogUnderTest {
  readonly label: string;
  readonly impl: string;
  readonly dir: string;
  readonly bin: string;
  readonly events: number;
  readonly bytes: number;
  readonly files: number;
  /** The live segment as generated, and every file of the log: restored before every trial. */
  readonly pristine: { readonly live: string; readonly files: readonly string[] };
}

function writeConfig(dir: string, segmentSize: number | null): string {
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const raw = {
    runDir: './run',
    // Nothing is deleted: the log stays the size it is said to be, in every trial.
    ...(segmentSize !== null
      ? {
          eventLog: {
            path: './run/events.jsonl',
            segmentSize,
            retain: { segments: 1_000_000, maxBytes: '1000GB', maxAge: '3650d' },
          },
        }
      : {}),
    services: stormServices(SERVICES),
  };
  writeFileSync(join(dir, 'procreg.yaml'), JSON.stringify(raw, null, 1));
  return join(dir, 'procreg.yaml');
}

function keepPristine(dir: string): LogUnderTest['pristine'] {
  const live = join(dir, 'events.jsonl.pristine');
  copyFileSync(join(dir, 'run', 'events.jsonl'), live);
  return { live, files: readdirSync(join(dir, 'run')) };
}

/** A trial appends to the live segment (and writes PID files): back to the log as generated. */
function restore(t: LogUnderTest): void {
  const run = join(t.dir, 'run');
  // Closed segments never change (retention is off in these configs): only the live one is copied.
  for (const f of readdirSync(run)) if (!t.pristine.files.includes(f)) rmSync(join(run, f), { force: true });
  copyFileSync(t.pristine.live, join(run, 'events.jsonl'));
}

function sizeOf(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const f of readdirSync(dir))
    if (f.endsWith('.jsonl')) {
      bytes += statSync(join(dir, f)).size;
      files++;
    }
  return { bytes, files };
}

/**
 * Renumber a segment's lines by `by` (envelope seq, a snapshot's state.seq, a decision's
 * ref): a copy of recorded history that continues the seq chain.
 */
function shiftSegment(from: string, to: string, by: number): void {
  const text = readFileSync(from, 'utf8');
  const fd = openSync(to, 'wx', 0o600);
  const bump = (_: string, head: string, n: string) => `${head}${Number(n) + by}`;
  try {
    let out = '';
    let at = 0;
    while (at < text.length) {
      const nl = text.indexOf('\n', at);
      let line = text.slice(at, nl);
      at = nl + 1;
      line = line.replace(/^(\{"v":\d+,"seq":)(\d+)/, bump);
      const type = line.slice(line.indexOf('"type":"') + 8, line.indexOf('"type":"') + 24);
      if (type.startsWith('snapshot"')) line = line.replace(/("state":\{"seq":)(\d+)/, bump);
      else if (type.startsWith('event-ignored"') || type.startsWith('request-answered"'))
        line = line.replace(/("ref":)(\d+)/, bump);
      out += `${line}\n`;
      if (out.length > 1 << 22) {
        writeSync(fd, out);
        out = '';
      }
    }
    writeSync(fd, out);
  } finally {
    closeSync(fd);
  }
}

/**
 * A storm log of about `events` events. Up to `recorded` events it is one simulated run; past
 * that, older history is copies of that run's closed segments with their seqs renumbered, in
 * front of the run itself renumbered to follow them (start-up reads only the live segment from
 * its newest snapshot on, and the seam before it, which are the recorded run's own).
 */
async function makeLog(
  dir: string,
  events: number,
  segmentSize: number,
  recorded: { dir: string; events: number } | null,
): Promise<{ events: number }> {
  const configPath = writeConfig(dir, segmentSize);
  const config = stormConfig(JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>, dir);
  if (recorded === null) {
    const policy = { ...EVENT_LOG_POLICY_DEFAULT, segmentSize };
    return { events: (await writeStormLog({ config, events, policy })).events };
  }
  const src = join(recorded.dir, 'run');
  const closed = readdirSync(src)
    .map((f) => ({ f, seq: segmentSeqOf('events.jsonl', f) }))
    .filter((x): x is { f: string; seq: number } => x.seq !== null)
    .sort((a, b) => a.seq - b.seq);
  const live = readFileSync(join(src, 'events.jsonl'), 'utf8').slice(0, 200);
  const span = Number(/^\{"v":\d+,"seq":(\d+)/.exec(live)?.[1]) - 1; // seqs in the closed segments
  if (!(span > 0)) throw new Error(`${src}: the recorded log has no closed segment to copy`);
  const copies = Math.max(0, Math.round((events - recorded.events) / span));
  const run = join(dir, 'run');
  for (let k = 0; k <= copies; k++) {
    const by = k * span;
    await new Promise((resolve) => setImmediate(resolve)); // SIGINT can clean up
    for (const { f, seq } of closed)
      shiftSegment(join(src, f), join(run, segmentName('events.jsonl', seq + by)), by);
  }
  shiftSegment(join(src, 'events.jsonl'), join(run, 'events.jsonl'), copies * span);
  return { events: recorded.events + copies * span };
}

/** procreg as it was before segments, built from git into `dir`. */
function buildBase(dir: string): string {
  mkdirSync(dir);
  execFileSync('sh', ['-c', `git -C "${REPO}" archive ${BASE_COMMIT} | tar -x -C "${dir}"`]);
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
  });
  return join(dir, 'bin/procreg.js');
}

/** CPU milliseconds (user + system) a process has used so far, from /proc (10 ms ticks). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Milliseconds from exec to the first `started` line of the supervisor, and the CPU time it
 * had used when its line was read (a little more than up to the spawn: it goes on starting
 * the others); then it is stopped.
 */
async function trial(t: LogUnderTest): Promise<{ wall: number; cpu: number }> {
  restore(t);
  const t0 = Date.now();
  const child = spawn(process.execPath, [t.bin, 'run', 'procreg.yaml'], {
    cwd: t.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Interrupted: procreg stops its 300 services before the temp dir goes.
  const forget = onInterrupt(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  });
  const first = await new Promise<{ time: number; cpu: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${t.label}: no service started within 5 min`)), 300_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (;;) {
        const nl = out.indexOf('\n');
        if (nl < 0) break;
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (!line.includes(': started, pid ')) continue;
        const cpu = cpuMsOf(child.pid as number);
        clearTimeout(timer);
        resolve({ time: (JSON.parse(line) as { time: number }).time, cpu });
        return;
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${t.label}: procreg exited (${code}) before starting a service: ${err}`));
    });
  });
  child.kill('SIGTERM');
  const code = await exited;
  forget();
  if (code !== 0) throw new Error(`${t.label}: procreg run exited ${code}: ${err}`);
  return { wall: first.time - t0, cpu: first.cpu };
}

export async function startupBench(opts: { rounds: number; quick: boolean }): Promise<Result[]> {
  const tmp = benchTempDir('procreg-bench-startup-');
  const sizes = opts.quick ? [10_000, 100_000, 1_000_000] : [10_000, 1_000_000, 10_000_000];
  // Quick: smaller segments, so that the 100k log has closed segments to copy.
  const segmentSize = opts.quick ? 4 * 1024 ** 2 : EVENT_LOG_POLICY_DEFAULT.segmentSize;
  const recordedSize = sizes[1] as number;
  const under: LogUnderTest[] = [];
  const bin = join(REPO, 'bin/procreg.js');
  let recorded: { dir: string; events: number } | null = null;
  for (const n of [sizes[0] as number, recordedSize, sizes[2] as number]) {
    const dir = join(tmp, `now-${n}`);
    mkdirSync(dir);
    const made = await makeLog(dir, n, segmentSize, n > recordedSize ? recorded : null);
    const pristine = keepPristine(dir);
    if (n === recordedSize) recorded = { dir, events: made.events };
    under.push({
      label: fmtEvents(n),
      impl: 'procreg (segments)',
      dir,
      bin,
      events: made.events,
      pristine,
      ...sizeOf(join(dir, 'run')),
    });
  }
  let baseBin: string | null = null;
  try {
    baseBin = buildBase(join(tmp, 'base'));
  } catch (e) {
    process.stderr.write(
      `start-up bench: cannot build ${BASE_COMMIT} from git, no before figures: ${(e as Error).message}\n`,
    );
  }
  if (baseBin)
    for (const n of sizes.slice(0, 2)) {
      const dir = join(tmp, `base-${n}`);
      mkdirSync(dir);
      const configPath = writeConfig(dir, null);
      const config = stormConfig(
        JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>,
        dir,
      );
      const made = await writeStormLog({ config, events: n, policy: null });
      const pristine = keepPristine(dir);
      under.push({
        label: fmtEvents(n),
        impl: `procreg ${BASE_COMMIT} (before segments)`,
        dir,
        bin: baseBin,
        events: made.events,
        pristine,
        ...sizeOf(join(dir, 'run')),
      });
    }
  const wall = new Map<LogUnderTest, number[]>(under.map((u) => [u, []]));
  const cpu = new Map<LogUnderTest, number[]>(under.map((u) => [u, []]));
  await trial(under[0] as LogUnderTest); // warm the page cache and node
  for (let i = 0; i < opts.rounds; i++)
    for (const u of under) {
      const r = await trial(u);
      (wall.get(u) as number[]).push(r.wall);
      (cpu.get(u) as number[]).push(r.cpu);
    }
  const rows: Result[] = [];
  for (const [what, ms] of [
    ['wall', wall],
    ['CPU', cpu],
  ] as const) {
    const flat = median(ms.get(under[0] as LogUnderTest) as number[]);
    for (const u of under) {
      const m = median(ms.get(u) as number[]);
      const ratio = `${(m / flat).toFixed(2)}×`;
      rows.push({
        bench: 'startup',
        case: `${u.label} events (${fmtBytes(u.bytes)}, ${u.files} file${u.files === 1 ? '' : 's'})`,
        impl: `${u.impl}, ${what}`,
        value: m,
        unit: 'ms',
        target: u.impl.startsWith('procreg (') ? `${ratio} the 10k figure; <= 2×` : `${ratio} today's 10k`,
      });
    }
  }
  return rows;
}

function fmtEvents(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
}

function fmtBytes(b: number): string {
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toFixed(2)} GB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toFixed(0)} MB`;
  return `${(b / 1024).toFixed(0)} kB`;
}
