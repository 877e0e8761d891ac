// The cases of `bun run bench:smoke` (bench/smoke.ts): how each benchmark runs small and what
// shows it got to its result, the list of benchmarks they must cover, and the run of one case.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dir, '..', '..');
/** A benchmark past this is stopped and fails: the sizes below take seconds, not minutes. */
const CASE_TIMEOUT_MS = 180_000;
/** bench:generate's events of the large tenant: 1,000 a day over its 30 days. */
const GENERATED_EVENTS = '30000';

export interface Case {
  /** The package.json entry without `bench:`, or the file's name without `.bench.ts`. */
  name: string;
  /** For a benchmark without an entry: its file. */
  file?: string;
  /** `$TMP` stands for the case's temp directory. */
  args?: string[];
  env?: Record<string, string>;
  /** What the benchmark prints once it has its result. */
  result: RegExp;
  /** Output with which an exit code of 1 means only "a target was missed". */
  targetMissed?: RegExp;
  /** Reads a copy of bench:generate's data set, at `$TMP/data`. */
  data?: boolean;
  /** Runs in its temp directory: it writes under ./bench/out and has no option for it. */
  cwdTemp?: boolean;
}

export const CASES: Case[] = [
  {
    name: 'generate',
    args: ['$TMP/../query-data', GENERATED_EVENTS],
    result: /^wrote \d+ events/m,
  },
  {
    name: 'query',
    env: { BENCH_DATA_DIR: '$TMP/data', BENCH_RUNS: '1', BENCH_EVENTS: GENERATED_EVENTS },
    data: true,
    result: /^\| query \| Tally p50 \|/m,
    targetMissed: /^\d+ goal\(s\) missed$/m,
  },
  {
    // bench/query/long-range.bench.ts has no option for its directory (bench/out/long-range-…
    // under the working directory): it runs in the temp directory.
    name: 'long-range',
    env: { LONG_RANGE_DAYS: '3', LONG_RANGE_EVENTS_PER_DAY: '100', BENCH_RUNS: '1' },
    cwdTemp: true,
    result: /^\| query \| Tally p50 \| Tally p95 \| floor p50 \| ratio \|$/m,
  },
  {
    // 30 s is the least sustained run the verdict's 10 s windows allow.
    name: 'ingest',
    env: {
      BENCH_DURATION_S: '1',
      BENCH_WARMUP_S: '0',
      BENCH_ROUNDS: '1',
      BENCH_SUSTAINED_S: '30',
    },
    result:
      /^responses: every request answered 2xx.*\ncorrectness: every acknowledged event recovered/m,
    targetMissed: /^targets: \d+ missed$/m,
  },
  {
    name: 'live',
    args: ['--subscribers=100', '--probes=3', '--stream=2'],
    result: /^fan-out +deliveries[\s\S]*^elapsed [\d.]+ s$/m,
  },
  { name: 'dedup', args: ['--sizes=20000'], result: /^case +build +has hit/m },
  { name: 'ingest-path', args: ['--duration=1', '--rounds=1'], result: /^layer +req\/s/m },
  {
    name: 'start',
    args: ['--events=10000', '--days=1', '--runs=1'],
    result: /^snapshot at SIGTERM:/m,
  },
  {
    name: 'export',
    args: ['--runs=1', '--dir=$TMP/data'],
    data: true,
    result: /^format +s min \/ median \/ max/m,
  },
  {
    name: 'backfill-flush',
    args: ['--cases=1000x1,1000x10', '--runs=1'],
    result: /^case +flush s min/m,
  },
  {
    name: 'password-hash',
    args: ['--runs=1', '--burst=2'],
    result: /verifies at once .* a second$/m,
  },
  {
    name: 'read-contention',
    args: ['--probes=1', '--dir=$TMP/data'],
    data: true,
    result: /^phase +probe +s min/m,
  },
  {
    name: 'country-lookup',
    file: 'bench/country-lookup.bench.ts',
    args: ['--networks=1000'],
    result: /countryOf, a new address \(tree walk\)/,
  },
  {
    name: 'dedup-snapshot',
    file: 'bench/dedup-snapshot.bench.ts',
    args: ['--keys=5000'],
    result: /^read \(page cache\) +[\d.]+ s$/m,
  },
  {
    name: 'sqlite-vs-log',
    file: 'bench/sqlite-vs-log.bench.ts',
    args: ['--rows=1000', '--group=100'],
    result: /^file appends \+ fdatasync +[\d,]+ rows\/s$/m,
  },
];

/** Every benchmark's file by name: package.json's bench:* entries, then the other files. */
export function benchmarks(): Map<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const found = new Map<string, string>();
  for (const [entry, command] of Object.entries(pkg.scripts)) {
    const file = /^bun (\S+\.ts)$/.exec(command)?.[1];
    if (entry.startsWith('bench:') && entry !== 'bench:smoke' && file !== undefined) {
      found.set(entry.slice('bench:'.length), file);
    }
  }
  const entered = new Set(found.values());
  for (const file of new Bun.Glob('bench/**/*.bench.ts').scanSync(ROOT)) {
    if (!entered.has(file)) found.set(path.basename(file, '.bench.ts'), file);
  }
  return found;
}

export interface Outcome {
  ok: boolean;
  why: string;
  output: string;
}

/** Stops the case running now, if any (the smoke's own SIGINT/SIGTERM). */
export function stopRunning(): void {
  running?.();
}
let running: (() => void) | null = null;

/**
 * Runs `c` from `file` (relative to the repository) with `tmp` as its temp directory, in a
 * process group of its own: every server it started is killed with it when it ends.
 */
export async function runCase(
  c: Case,
  file: string,
  tmp: string,
  timeoutMs = CASE_TIMEOUT_MS,
): Promise<Outcome> {
  const fill = (s: string) => s.replaceAll('$TMP', tmp);
  const env: Record<string, string | undefined> = {
    ...Bun.env,
    TMPDIR: tmp,
    BENCH_OUT_DIR: path.join(tmp, 'out'),
    ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v)])),
  };
  const argv = [process.execPath, path.resolve(ROOT, file), ...(c.args ?? []).map(fill)];
  const setsid = Bun.which('setsid');
  const proc = Bun.spawn(setsid === null ? argv : [setsid, '--wait', ...argv], {
    cwd: c.cwdTemp ? tmp : ROOT,
    env,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const stopGroup = () => {
    try {
      process.kill(setsid === null ? proc.pid : -proc.pid, 'SIGKILL');
    } catch {
      // ESRCH: the benchmark and everything it started are gone already.
    }
  };
  running = stopGroup;
  const timer = setTimeout(stopGroup, timeoutMs);
  // Read as it comes (a full pipe would stop the benchmark), but ended by the exit: a server
  // the benchmark left behind would hold the pipes open.
  const texts = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  stopGroup();
  running = null;
  const [out, err] = await texts;
  const output = `${out}${err === '' ? '' : `\n--- stderr\n${err}`}`;
  const missedOnly = code === 1 && c.targetMissed?.test(out) === true;
  if (code !== 0 && !missedOnly) {
    const signal = proc.signalCode === null ? '' : ` (${proc.signalCode})`;
    return { ok: false, why: `exited ${code}${signal}`, output };
  }
  if (!c.result.test(out)) return { ok: false, why: `printed no ${c.result}`, output };
  return { ok: true, why: missedOnly ? 'a target missed (not judged)' : '', output };
}
