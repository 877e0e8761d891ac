// The ingest benchmark (`bun run bench:ingest`): loads the real Tally server (`bun src/main.ts`,
// durable acks) and a bare Bun.serve baseline with wrk on 127.0.0.1, in rounds, for single
// events (two floors in between) and for 1,000-event batches, then Tally alone for a sustained
// minute of batches while sampling its memory and flush backlog; prints events/s and pass/fail
// against the targets (medians over rounds); after each Tally process kills it with SIGKILL,
// restarts it on the same data directory and checks that every acknowledged event came back.
// What each number means: bench/README.md.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './support/machine.ts';
import {
  cpuSeconds,
  freePort,
  machineBusySeconds,
  OUT_DIR,
  peakRssMiB,
  type ServerProcess,
  spawnServer,
  waitReady,
} from './support/processes.ts';
import {
  type Measured,
  printReport,
  printVerdict,
  type Round,
  type Scenario,
  type ScenarioResult,
  type Verdict,
  wrkErrors,
} from './support/report.ts';
import { startSampler } from './support/sampler.ts';
import { printSustainedReport, type SustainedResult } from './support/sustained-report.ts';
import {
  dedupKeysMaxOf,
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
const SUSTAINED_S_DEFAULT = 60;
/** Rounds of each comparison (bare, floors, Tally in turn); the report takes medians. */
const ROUNDS_DEFAULT = 3;
const ROUNDS_MAX = 20;
/** The sustained verdict compares 10 s windows: first, 10–20 s and last must not overlap. */
const SUSTAINED_S_MIN = 30;
const SAMPLE_INTERVAL_MS = 1000;
const EXIT_FAILED = 1;
const EXIT_SETUP = 2;

interface Options {
  durationS: number;
  warmupS: number;
  sustainedS: number;
  /** Events/s offered in the sustained run (0: as fast as wrk goes). */
  sustainedRate: number;
  /** How many times a scenario loads bare, its floors and Tally in turn. */
  rounds: number;
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
    floors: [
      { name: 'floor', label: "Tally's route before the engine, storing nothing" },
      { name: 'durable-floor', label: 'bare + a zero-filled log + grouped fdatasync before 202' },
    ],
  },
  {
    key: 'batch',
    label: '1,000-event batch',
    script: 'batch.lua',
    eventsPerRequest: 1000,
    target: { kind: 'events', min: 150_000 },
    // Ingest outruns the flusher here (~1.2 KB of hot memory per event, see README), so the
    // default 512 MiB hot budget fills within seconds and Tally answers 503: this run measures
    // the ingest path, the sustained run below measures Tally with its defaults.
    tallyEnv: { HOT_BYTES_MAX: String(8 * 1024 ** 3) },
  },
];

/**
 * Tally alone, with its default limits, for a minute of batches at a steady pace: each of the
 * 64 connections pauses before each request, so wrk offers at most SUSTAINED_RATE_DEFAULT
 * events/s, and less by however long responses take. At full speed (rate 0) a closed-loop
 * client that ignores Retry-After offers far more than any node keeps up with, and the run
 * shows the ceiling, and the 503s that keep memory bounded past it.
 */
const SUSTAINED = {
  key: 'sustained',
  label: 'sustained batches',
  script: 'batch.lua',
  eventsPerRequest: 1000,
} as const;

/**
 * The pace's upper bound, events/s. A connection waits for its response before its next
 * pause, so what arrives is lower: on the 2-vCPU machine of bench/README.md, with 0.2–0.3 s
 * responses, 250,000 paced (256 ms pauses) offers ~115,000–125,000.
 */
const SUSTAINED_RATE_DEFAULT = 250_000;

const ONLY_KEYS = [...SCENARIOS.map((s) => s.key), SUSTAINED.key];

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      sustained: { type: 'string' },
      'sustained-rate': { type: 'string' },
      rounds: { type: 'string' },
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
  if (only !== null && !ONLY_KEYS.includes(only)) {
    throw new Error(`--only=${only}: give one of ${ONLY_KEYS.join(', ')}`);
  }
  return {
    durationS: seconds(
      'duration',
      values.duration ?? Bun.env.BENCH_DURATION_S,
      DURATION_S_DEFAULT,
      1,
    ),
    warmupS: seconds('warmup', values.warmup ?? Bun.env.BENCH_WARMUP_S, WARMUP_S_DEFAULT, 0),
    sustainedS: seconds(
      'sustained',
      values.sustained ?? Bun.env.BENCH_SUSTAINED_S,
      SUSTAINED_S_DEFAULT,
      SUSTAINED_S_MIN,
    ),
    sustainedRate: rate(values['sustained-rate'] ?? Bun.env.BENCH_SUSTAINED_RATE),
    rounds: rounds(values.rounds ?? Bun.env.BENCH_ROUNDS),
    only,
    tallyEnv,
    cpuProf: values['cpu-prof'] ?? false,
  };
}

/** Offered events/s of the sustained run; 0 = full speed. */
function rate(raw: string | undefined): number {
  if (raw === undefined || raw === '') return SUSTAINED_RATE_DEFAULT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`sustained-rate=${raw}: give events/s, 0 = full speed`);
  return n;
}

/** Rounds of the bare-vs-Tally scenarios. */
function rounds(raw: string | undefined): number {
  if (raw === undefined || raw === '') return ROUNDS_DEFAULT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > ROUNDS_MAX)
    throw new Error(`rounds=${raw}: give a whole number from 1 to ${ROUNDS_MAX}`);
  return n;
}

/** The baselines Tally is compared with, each a script in bench/support. */
const BASELINES: Readonly<Record<string, string>> = {
  bare: 'bare-server.ts',
  floor: 'floor-server.ts',
  'durable-floor': 'durable-floor-server.ts',
};

/** Starts a baseline; `logDir` is where one that writes keeps its file (LOG_DIR). */
async function startBaseline(name: string, logDir = ''): Promise<ServerProcess> {
  const script = BASELINES[name];
  if (script === undefined) throw new Error(`no baseline server named ${name}`);
  const port = freePort();
  const server = spawnServer(
    {
      name,
      argv: [process.execPath, path.join('bench', 'support', script)],
      env: { PORT: String(port), ...(logDir === '' ? {} : { LOG_DIR: logDir }) },
    },
    `http://127.0.0.1:${port}`,
  );
  await waitReady(server, '/health', 10_000);
  return server;
}

/** What wrk sends: a script, its events per request, and a key for output file names. */
interface LoadSpec {
  key: string;
  script: string;
  eventsPerRequest: number;
  /** Offered events/s over all connections; absent or 0: as fast as responses come back. */
  eventsPerS?: number;
}

/** The pause each connection takes before each request so all of them offer `eventsPerS`. */
function pacingMs(spec: LoadSpec): number {
  if (!spec.eventsPerS) return 0;
  return Math.round((CONNECTIONS * spec.eventsPerRequest * 1000) / spec.eventsPerS);
}

/** One wrk run against `server`, with the server's CPU and the machine's other CPU meanwhile. */
async function measure(
  wrk: string,
  server: ServerProcess,
  spec: LoadSpec,
  nonce: string,
  phase: string,
  durationS: number,
): Promise<{ measured: Measured; run: LoadRun }> {
  const cpuBefore = cpuSeconds(server.pid);
  const busyBefore = machineBusySeconds();
  const result = await runWrk(wrk, {
    url: server.url,
    script: spec.script,
    nonce: `${nonce}${phase[0]}`,
    // Only Tally runs sample acks: the parsing costs wrk CPU, never the baseline's.
    sampleAcks: server.name === 'tally',
    args: [String(spec.eventsPerRequest), String(pacingMs(spec))],
    durationS,
    threads: THREADS,
    connections: CONNECTIONS,
    timeoutS: TIMEOUT_S,
    outFile: path.join(OUT_DIR, `ingest-${spec.key}-${server.name}-${phase}.txt`),
  });
  const okRequests = result.requests - result.errors.status;
  const serverCpuS = cpuSeconds(server.pid) - cpuBefore;
  // Whatever else ran on the machine meanwhile: the noise this run competed with.
  const otherCpuS = machineBusySeconds() - busyBefore - serverCpuS - result.cpuS;
  return {
    measured: { wrk: result, serverCpuS, otherCpuS, peakRssMiB: peakRssMiB(server.pid) },
    run: { sent: result.sent, okRequests, acked: result.acked },
  };
}

/**
 * Warms `server` up, then measures it; returns the measured run, each run's ids, and the
 * warm-up's non-2xx answers and socket errors (they fail the run as the measured ones do).
 */
async function load(
  wrk: string,
  server: ServerProcess,
  scenario: Scenario,
  options: Options,
  nonce: string,
): Promise<{ measured: Measured; runs: LoadRun[]; warmupErrors: string[] }> {
  const runs: LoadRun[] = [];
  let warmupErrors: string[] = [];
  if (options.warmupS > 0) {
    const warmup = await measure(wrk, server, scenario, nonce, 'warmup', options.warmupS);
    runs.push(warmup.run);
    warmupErrors = wrkErrors(`${server.name}, warm-up`, warmup.measured.wrk);
  }
  const { measured, run } = await measure(wrk, server, scenario, nonce, 'run', options.durationS);
  runs.push(run);
  return { measured, runs, warmupErrors };
}

/** A fresh data directory for one Tally, removed after `work` whatever happens. */
async function withDataDir<T>(
  options: Options,
  env: Readonly<Record<string, string>>,
  work: (start: TallyStart) => Promise<T>,
): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-'));
  const start: TallyStart = {
    dataDir,
    env: { ...env, ...options.tallyEnv },
    bunFlags: options.cpuProf
      ? ['--cpu-prof-md', `--cpu-prof-dir=${path.join(OUT_DIR, 'cpu-prof')}`]
      : [],
  };
  try {
    return await work(start);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** kill -9 proves acks were durable; a profiled run must exit normally to write its profile. */
function stopSignal(options: Options): NodeJS.Signals {
  return options.cpuProf ? 'SIGTERM' : 'SIGKILL';
}

async function runScenario(
  wrk: string,
  bare: ServerProcess,
  scenario: Scenario,
  options: Options,
  runId: string,
): Promise<ScenarioResult> {
  return withDataDir(options, scenario.tallyEnv ?? {}, async (start) => {
    // A sibling of Tally's data directory: the durable floor's log is on the same disk.
    const floorDir = `${start.dataDir}-floors`;
    fs.mkdirSync(floorDir);
    const floors = await startFloors(scenario, floorDir);
    const rounds: Round[] = [];
    const tallyRuns: LoadRun[] = [];
    try {
      log(`${scenario.label}: tally (data in ${start.dataDir})`);
      const tally = await startTally(start);
      try {
        const total = options.rounds;
        for (let n = 1; n <= total; n++) {
          const many = total > 1;
          // Each round's output files get their own names (the key is part of them).
          const spec = many ? { ...scenario, key: `${scenario.key}-round${n}` } : scenario;
          const round = await runRound(wrk, { bare, floors, tally }, spec, options, {
            nonce: `${runId}${scenario.key[0]}${n}`,
            title: many ? `${scenario.label}, round ${n} of ${total}` : scenario.label,
          });
          rounds.push(round.measured);
          tallyRuns.push(...round.tallyRuns);
        }
      } finally {
        await tally.stop(stopSignal(options));
      }
    } finally {
      await Promise.all(floors.map((floor) => floor.stop('SIGTERM')));
      fs.rmSync(floorDir, { recursive: true, force: true });
    }
    log(`${scenario.label}: restarting tally to check acknowledged events`);
    const verification = await verifyRestart(start, tallyRuns, scenario.eventsPerRequest);
    return { scenario, rounds, verification };
  });
}

/** The floor servers of a scenario, started once for all its rounds; they write in `dir`. */
async function startFloors(scenario: Scenario, dir: string): Promise<ServerProcess[]> {
  const started: ServerProcess[] = [];
  try {
    for (const floor of scenario.floors ?? []) started.push(await startBaseline(floor.name, dir));
  } catch (error) {
    await Promise.all(started.map((server) => server.stop('SIGTERM')));
    throw error;
  }
  return started;
}

interface RoundServers {
  bare: ServerProcess;
  /** In the order of `scenario.floors`. */
  floors: ServerProcess[];
  tally: ServerProcess;
}

/** Loads bare, each floor and Tally one after another, each with its warm-up. */
async function runRound(
  wrk: string,
  servers: RoundServers,
  scenario: Scenario,
  options: Options,
  names: { nonce: string; title: string },
): Promise<{ measured: Round; tallyRuns: LoadRun[] }> {
  const { nonce, title } = names;
  log(`${title}: bare Bun.serve`);
  const bare = await load(wrk, servers.bare, scenario, options, `${nonce}b`);
  const floors: Measured[] = [];
  const warmupErrors = [...bare.warmupErrors];
  for (const [i, floor] of (scenario.floors ?? []).entries()) {
    log(`${title}: ${floor.name} (${floor.label})`);
    const server = servers.floors[i] as ServerProcess;
    const loaded = await load(wrk, server, scenario, options, `${nonce}f${i}`);
    floors.push(loaded.measured);
    warmupErrors.push(...loaded.warmupErrors);
  }
  log(`${title}: tally`);
  const tally = await load(wrk, servers.tally, scenario, options, `${nonce}t`);
  warmupErrors.push(...tally.warmupErrors);
  return {
    measured: { bare: bare.measured, floors, tally: tally.measured, warmupErrors },
    tallyRuns: tally.runs,
  };
}

/**
 * Tally from a cold start under batches for `options.sustainedS`, no warm-up: the verdict
 * compares the 10–20 s window with the last one, so the first 10 s are the warm-up. The sampler
 * reads memory and the status route once a second meanwhile.
 */
async function runSustained(wrk: string, options: Options, runId: string) {
  return withDataDir(options, {}, async (start): Promise<SustainedResult> => {
    log(`${SUSTAINED.label}: tally for ${options.sustainedS} s (data in ${start.dataDir})`);
    const tally = await startTally(start);
    let loaded: Awaited<ReturnType<typeof measure>>;
    let samples: SustainedResult['samples'];
    try {
      const sampler = startSampler(tally, SAMPLE_INTERVAL_MS);
      try {
        const spec = { ...SUSTAINED, eventsPerS: options.sustainedRate };
        loaded = await measure(wrk, tally, spec, `${runId}st`, 'run', options.sustainedS);
      } finally {
        samples = await sampler.stop();
      }
    } finally {
      await tally.stop(stopSignal(options));
    }
    log(`${SUSTAINED.label}: restarting tally to check acknowledged events`);
    const verification = await verifyRestart(start, [loaded.run], SUSTAINED.eventsPerRequest);
    return {
      label: SUSTAINED.label,
      eventsPerRequest: SUSTAINED.eventsPerRequest,
      durationS: options.sustainedS,
      offeredEventsPerS: options.sustainedRate,
      dedupKeysMax: dedupKeysMaxOf(start),
      measured: loaded.measured,
      samples,
      verification,
    };
  });
}

function describeRun(wrkBinary: string, options: Options): string[] {
  const m = describeMachine(wrkVersion(wrkBinary));
  const env = (extra: Readonly<Record<string, string>>) =>
    Object.entries({ ...TALLY_BENCH_ENV, ...extra, ...options.tallyEnv })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  const extras = SCENARIOS.filter((s) => selected(options, s.key) && s.tallyEnv).map(
    (s) => `tally, ${s.label}: ${env(s.tallyEnv ?? {})}`,
  );
  const sustained = selected(options, SUSTAINED.key)
    ? `; sustained ${options.sustainedS} s from a cold start, sampled every ` +
      `${SAMPLE_INTERVAL_MS / 1000} s`
    : '';
  return [
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}`,
    `versions: bun ${m.bun}, wrk ${m.wrk}`,
    `load: wrk -t${THREADS} -c${CONNECTIONS} on 127.0.0.1, ${options.durationS} s per run ` +
      `after ${options.warmupS} s warm-up; single and batch in ${options.rounds} rounds` +
      sustained,
    `tally: ${env({})}`,
    ...extras,
  ];
}

function log(message: string): void {
  process.stderr.write(`[bench:ingest] ${message}\n`);
}

/** Whether --only selects the scenario `key` (no --only selects all). */
function selected(options: Options, key: string): boolean {
  return options.only === null || options.only === key;
}

/** The bare-vs-Tally scenarios selected by --only (the bare server runs only for them). */
async function runComparisons(wrk: string, options: Options, runId: string) {
  const scenarios = SCENARIOS.filter((s) => selected(options, s.key));
  const results: ScenarioResult[] = [];
  if (scenarios.length === 0) return results;
  const bare = await startBaseline('bare');
  try {
    for (const scenario of scenarios) {
      results.push(await runScenario(wrk, bare, scenario, options, runId));
    }
  } finally {
    await bare.stop('SIGTERM');
  }
  return results;
}

async function main(): Promise<number> {
  const wrk = findWrk();
  if (wrk === null) return EXIT_SETUP;
  const options = readOptions();
  const runId = `r${Date.now().toString(36)}`;
  const results = await runComparisons(wrk, options, runId);
  const sustained = selected(options, SUSTAINED.key)
    ? await runSustained(wrk, options, runId)
    : null;
  process.stdout.write(`\n${describeRun(wrk, options).join('\n')}\n`);
  const verdicts: Verdict[] = [];
  if (results.length > 0) verdicts.push(printReport(results));
  if (sustained !== null) verdicts.push(printSustainedReport(sustained));
  const passed = printVerdict(verdicts, [
    options.cpuProf ? `cpu profiles: ${path.join(OUT_DIR, 'cpu-prof')}` : '',
    `raw wrk output: ${OUT_DIR}`,
  ]);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(
    path.join(OUT_DIR, 'ingest-results.json'),
    `${JSON.stringify({ runId, options, results, sustained }, null, 2)}\n`,
  );
  return passed ? 0 : EXIT_FAILED;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:ingest: ${error instanceof Error ? error.message : error}\n`);
    process.exit(EXIT_SETUP);
  },
);
