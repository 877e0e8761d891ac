// The ingest benchmark (`bun run bench:ingest`): loads the real Tally server (`bun src/main.ts`,
// durable acks) and a bare Bun.serve baseline with wrk on 127.0.0.1, for single events and for
// 1,000-event batches; prints req/s, events/s and pass/fail against the targets; then kills
// Tally with SIGKILL, restarts it on the same data directory and checks that every acknowledged
// event came back. What each number means: bench/README.md.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './support/machine.ts';
import {
  cpuSeconds,
  freePort,
  machineBusySeconds,
  peakRssMiB,
  REPO_ROOT,
  type ServerProcess,
  spawnServer,
  waitReady,
} from './support/processes.ts';
import {
  type Measured,
  printReport,
  type Scenario,
  type ScenarioResult,
} from './support/report.ts';
import {
  type LoadRun,
  startTally,
  TALLY_BENCH_ENV,
  type TallyStart,
  verifyRestart,
} from './support/tally.ts';
import { findWrk, runWrk, wrkVersion } from './support/wrk.ts';

const THREADS = 2;
const CONNECTIONS = 64;
const TIMEOUT_S = 10;
const DURATION_S_DEFAULT = 10;
const WARMUP_S_DEFAULT = 2;
const OUT_DIR = path.join(REPO_ROOT, 'bench', 'out');
const EXIT_FAILED = 1;
const EXIT_SETUP = 2;

interface Options {
  durationS: number;
  warmupS: number;
  only: string | null;
  /** Overrides of Tally's environment, for profiling (e.g. DURABILITY=os). */
  tallyEnv: Record<string, string>;
  cpuProf: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    key: 'single',
    label: 'single event',
    script: 'single-event.lua',
    eventsPerRequest: 1,
    target: { kind: 'ratio', min: 0.6 },
  },
  {
    key: 'batch',
    label: '1,000-event batch',
    script: 'batch.lua',
    eventsPerRequest: 1000,
    target: { kind: 'events', min: 150_000 },
  },
];

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      'tally-env': { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean' },
    },
  });
  const seconds = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.replace(/s$/, ''));
    if (!Number.isInteger(n) || n < min || n > 600) {
      throw new Error(`${name}=${raw}: give whole seconds from ${min} to 600`);
    }
    return n;
  };
  const tallyEnv: Record<string, string> = {};
  for (const pair of values['tally-env'] ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--tally-env ${pair}: give KEY=VALUE`);
    tallyEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const only = values.only ?? null;
  if (only !== null && !SCENARIOS.some((s) => s.key === only)) {
    throw new Error(`--only=${only}: give one of ${SCENARIOS.map((s) => s.key).join(', ')}`);
  }
  return {
    durationS: seconds(
      'duration',
      values.duration ?? Bun.env.BENCH_DURATION_S,
      DURATION_S_DEFAULT,
      1,
    ),
    warmupS: seconds('warmup', values.warmup ?? Bun.env.BENCH_WARMUP_S, WARMUP_S_DEFAULT, 0),
    only,
    tallyEnv,
    cpuProf: values['cpu-prof'] ?? false,
  };
}

async function startBare(): Promise<ServerProcess> {
  const port = freePort();
  const server = spawnServer(
    {
      name: 'bare',
      argv: [process.execPath, 'bench/support/bare-server.ts'],
      env: { PORT: String(port) },
    },
    `http://127.0.0.1:${port}`,
  );
  await waitReady(server, '/health', 10_000);
  return server;
}

/** Warms `server` up, then measures it; returns the measured run and each run's ids. */
async function load(
  wrk: string,
  server: ServerProcess,
  scenario: Scenario,
  options: Options,
  nonce: string,
): Promise<{ measured: Measured; runs: LoadRun[] }> {
  const runs: LoadRun[] = [];
  const once = async (phase: string, durationS: number): Promise<Measured> => {
    const cpuBefore = cpuSeconds(server.pid);
    const busyBefore = machineBusySeconds();
    const result = await runWrk(wrk, {
      url: server.url,
      script: scenario.script,
      nonce: `${nonce}${phase[0]}`,
      // Only Tally runs sample acks: the parsing costs wrk CPU, never the baseline's.
      sampleAcks: server.name === 'tally',
      args: [String(scenario.eventsPerRequest)],
      durationS,
      threads: THREADS,
      connections: CONNECTIONS,
      timeoutS: TIMEOUT_S,
      outFile: path.join(OUT_DIR, `ingest-${scenario.key}-${server.name}-${phase}.txt`),
    });
    const okRequests = result.requests - result.errors.status;
    runs.push({ sent: result.sent, okRequests, acked: result.acked });
    const serverCpuS = cpuSeconds(server.pid) - cpuBefore;
    // Whatever else ran on the machine meanwhile: the noise this run competed with.
    const otherCpuS = machineBusySeconds() - busyBefore - serverCpuS - result.cpuS;
    return { wrk: result, serverCpuS, otherCpuS, peakRssMiB: peakRssMiB(server.pid) };
  };
  if (options.warmupS > 0) await once('warmup', options.warmupS);
  const measured = await once('run', options.durationS);
  return { measured, runs };
}

async function runScenario(
  wrk: string,
  bare: ServerProcess,
  scenario: Scenario,
  options: Options,
  runId: string,
): Promise<ScenarioResult> {
  log(`${scenario.label}: bare Bun.serve`);
  const bareLoad = await load(wrk, bare, scenario, options, `${runId}${scenario.key[0]}b`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-'));
  const start: TallyStart = {
    dataDir,
    env: options.tallyEnv,
    bunFlags: options.cpuProf
      ? ['--cpu-prof-md', `--cpu-prof-dir=${path.join(OUT_DIR, 'cpu-prof')}`]
      : [],
  };
  try {
    log(`${scenario.label}: tally (data in ${dataDir})`);
    const tally = await startTally(start);
    let tallyLoad: Awaited<ReturnType<typeof load>>;
    try {
      tallyLoad = await load(wrk, tally, scenario, options, `${runId}${scenario.key[0]}t`);
    } finally {
      // kill -9 proves acks were durable; a profiled run must exit normally to write its profile.
      await tally.stop(options.cpuProf ? 'SIGTERM' : 'SIGKILL');
    }
    log(`${scenario.label}: restarting tally to check acknowledged events`);
    const verification = await verifyRestart(start, tallyLoad.runs, scenario.eventsPerRequest);
    return { scenario, bare: bareLoad.measured, tally: tallyLoad.measured, verification };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function describeRun(wrkBinary: string, options: Options): string[] {
  const m = describeMachine(wrkVersion(wrkBinary));
  const tallyEnv = { ...TALLY_BENCH_ENV, ...options.tallyEnv };
  return [
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}`,
    `versions: bun ${m.bun}, wrk ${m.wrk}`,
    `load: wrk -t${THREADS} -c${CONNECTIONS}, ${options.durationS} s per run after ` +
      `${options.warmupS} s warm-up, 127.0.0.1`,
    `tally: ${Object.entries(tallyEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  ];
}

function log(message: string): void {
  process.stderr.write(`[bench:ingest] ${message}\n`);
}

async function main(): Promise<number> {
  const wrk = findWrk();
  if (wrk === null) return EXIT_SETUP;
  const options = readOptions();
  const scenarios = SCENARIOS.filter((s) => options.only === null || s.key === options.only);
  const runId = `r${Date.now().toString(36)}`;
  const bare = await startBare();
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      results.push(await runScenario(wrk, bare, scenario, options, runId));
    }
  } finally {
    await bare.stop('SIGTERM');
  }
  const footer = [
    options.cpuProf ? `cpu profiles: ${path.join(OUT_DIR, 'cpu-prof')}` : '',
    `raw wrk output: ${OUT_DIR}`,
  ];
  const verdict = printReport(results, describeRun(wrk, options), footer);
  fs.writeFileSync(
    path.join(OUT_DIR, 'ingest-results.json'),
    `${JSON.stringify({ runId, options, results }, null, 2)}\n`,
  );
  return verdict.problems.length === 0 && verdict.targetsMissed === 0 ? 0 : EXIT_FAILED;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:ingest: ${error instanceof Error ? error.message : error}\n`);
    process.exit(EXIT_SETUP);
  },
);
