import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ConfigError, normalizeConfig, Supervisor } from '../src/index.js';
import { useTmpDir } from './support/tmp.js';

const run = promisify(execFile);
const tmp = useTmpDir();

/** Every name a module exports, types included, as the compiler sees it. */
function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) throw new Error(`cannot read the exports of ${file}`);
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

describe("import { … } from 'procreg'", () => {
  it('exposes exactly the listed names: a change to the public surface is deliberate', () => {
    expect(exportedNames('src/index.ts')).toMatchInlineSnapshot(`
      [
        "BackoffDef",
        "ChartLibrary",
        "CheckDef",
        "CheckEntry",
        "CheckFinished",
        "CheckHealthChanged",
        "CheckResult",
        "CheckRunRequested",
        "CheckSkipped",
        "CheckStartFailed",
        "CheckStarted",
        "CheckStatus",
        "CheckTimedOut",
        "ConfigError",
        "ConfigLoaded",
        "ConfigProblem",
        "DaemonSuspected",
        "DecisionRecord",
        "DecodeResult",
        "DeletedSegment",
        "Diff",
        "DiffResult",
        "Durability",
        "EVENT_BATCHES",
        "EVENT_KINDS",
        "EVENT_TYPES",
        "Effect",
        "EffectKind",
        "Entry",
        "Envelope",
        "Event",
        "EventBody",
        "EventFilter",
        "EventIgnored",
        "EventLine",
        "EventLogPolicy",
        "EventType",
        "EventsOptions",
        "EventsQuery",
        "ExitInfo",
        "Exited",
        "Gen",
        "GroupExited",
        "HashMap",
        "HistoryBuilder",
        "HistoryOptions",
        "HistoryRow",
        "InputEvent",
        "InsertResult",
        "IntensityDef",
        "LOG_FORMAT_VERSION",
        "LastWords",
        "LoadResult",
        "LogBatch",
        "LogDiff",
        "LogFileReplay",
        "LogFiles",
        "LogGap",
        "LogItem",
        "LogPart",
        "LogProblem",
        "LogReader",
        "LogSource",
        "LogWriter",
        "LogWriterError",
        "LogWriterOptions",
        "NormalizeOptions",
        "NormalizeResult",
        "NormalizedConfig",
        "OperateOp",
        "OperateOptions",
        "OperateRequest",
        "OperateResult",
        "OrderedMap",
        "OrphanForgotten",
        "OrphanFound",
        "OrphanReaped",
        "OutcomeEvent",
        "OutputDropped",
        "Pid",
        "PidFileError",
        "PidFileErrorCode",
        "PidTree",
        "PidfileRemoved",
        "PidfileWritten",
        "Point",
        "PointReplayResult",
        "ProcStat",
        "ProcregError",
        "ReadLogOptions",
        "RegistryView",
        "ReloadApplied",
        "ReloadCoalesced",
        "ReloadFailed",
        "ReloadRequested",
        "ReloadRule",
        "ReloadSignalled",
        "RemoveOutcome",
        "RemoveResult",
        "ReplayOptions",
        "ReplayProblem",
        "ReplayResult",
        "Replayer",
        "RequestAnswered",
        "RequestSource",
        "RestartPolicy",
        "RestartRequested",
        "RestartScheduled",
        "SegmentFile",
        "SegmentsDeleted",
        "ServiceDef",
        "ServiceEntry",
        "ServiceFailed",
        "ServiceGivenUp",
        "ServiceHistory",
        "ServicePhase",
        "ServiceStatus",
        "ShipGap",
        "SignalName",
        "SignalRequested",
        "SignalSent",
        "SnapshotCause",
        "SnapshotTaken",
        "SpawnFailed",
        "SpawnRequested",
        "Spawned",
        "Stamped",
        "StartRequested",
        "State",
        "StepResult",
        "StopBegun",
        "StopRequested",
        "Story",
        "Supervisor",
        "SupervisorOptions",
        "SupervisorPhase",
        "SupervisorStarted",
        "SupervisorStopped",
        "SupervisorStopping",
        "TimelineBuilder",
        "TimelineData",
        "TimelineOptions",
        "TimerFired",
        "TimerKey",
        "TimerKind",
        "Violation",
        "Walker",
        "WhyAnswer",
        "WhyLink",
        "WhyResult",
        "WhyTarget",
        "decodeEvent",
        "describePoint",
        "diffPoints",
        "emptyPidTree",
        "encodeEvent",
        "explainEnding",
        "foldRegistry",
        "formatDuration",
        "formatProblem",
        "formatSize",
        "initialState",
        "isDecision",
        "listLogFiles",
        "loadChartLibrary",
        "loadConfigFile",
        "logFilePaths",
        "normalizeConfig",
        "operate",
        "parseDuration",
        "parsePoint",
        "parseSize",
        "parseTime",
        "parseWhyTarget",
        "readLog",
        "readLogBatches",
        "readLogParts",
        "readPidFile",
        "readProcStartTime",
        "readProcStat",
        "registryView",
        "removePidFileIfOwned",
        "renderDiff",
        "renderEventLine",
        "renderLoop",
        "renderWhy",
        "replay",
        "replayAsync",
        "replayLogFile",
        "replayTo",
        "resolveLog",
        "serviceHistory",
        "step",
        "tellEvents",
        "timelineData",
        "timelineHtml",
        "verifyInvariants",
        "why",
        "writePidFile",
      ]
    `);
  });

  it('exposes the simulator as procreg/testing, and package.json maps both entry points', async () => {
    expect(exportedNames('src/testing.ts')).toEqual(['World', 'WorldOptions', 'mulberry32']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './testing']);
    // The README's example, as written there.
    const { World } = await import('../src/testing.js');
    const config = normalizeConfig(
      { services: { web: { command: ['node', 'web.js'] } } },
      { baseDir: '/srv' },
    );
    if (!config.ok) throw new Error('bad config');
    const w = new World({ configs: [config.config], seed: 1 });
    w.start();
    w.drain();
    w.exitProcess(0, 'fail');
    w.drain();
    w.fireNextTimer();
    w.drain();
    expect(w.state.services.get('web')?.restarts).toBe(1);
    expect(w.state.services.get('web')?.phase).toBe('running');
  });

  it('prints nothing to stdout or stderr when the program gives no logger', async () => {
    const dir = tmp();
    const program = join(dir, 'program.mjs');
    writeFileSync(
      program,
      `import { normalizeConfig, Supervisor } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
const res = normalizeConfig({ runDir: './run', services: { talk: {
  command: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'], restart: 'never' } } }, { baseDir: ${JSON.stringify(dir)} });
const sup = await Supervisor.open({ config: res.config });
await new Promise((resolve) => sup.events.subscribe((e) => { if (e.type === 'exited') resolve(); }));
await sup.stop();
`,
    );
    const { stdout, stderr } = await run(process.execPath, [program], { timeout: 20_000 });
    expect(stdout).toBe('');
    expect(stderr).toBe('');
    // It did run: the service's exit is in the log.
    expect(readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8')).toMatch(/"type":"exited".*"code":3/);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, Supervisor.open({ config }) refuses an unsafe script exactly as procreg run does',
    async () => {
      const dir = tmp();
      const app = join(dir, 'app');
      mkdirSync(app, { mode: 0o755 });
      const script = join(app, 'run.sh');
      writeFileSync(script, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
      chownSync(script, 1000, 1000); // a non-root user could change what root runs
      const res = normalizeConfig(
        { runDir: './run', services: { app: { command: [script] } } },
        { baseDir: dir },
      );
      if (!res.ok) throw new Error(JSON.stringify(res.problems));
      const refused = await Supervisor.open({ config: res.config }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).code).toBe('ECONFIG');
      expect((refused as ConfigError).problems).toEqual([
        {
          path: 'services.app.command',
          message: `${script} is owned by uid 1000, not root; as root procreg refuses it (set allowUnsafeScripts: true to run it anyway)`,
        },
      ]);
      const config = join(dir, 'procreg.yaml');
      writeFileSync(config, `runDir: ./run\nservices:\n  app:\n    command: [${script}]\n`);
      const cli = await run(process.execPath, ['bin/procreg.js', 'validate', config]).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(cli).toMatchObject({ code: 2 });
      expect((cli as { stderr: string }).stderr).toContain(
        `services.app.command: ${(refused as ConfigError).problems[0]?.message}`,
      );
    },
  );
});
