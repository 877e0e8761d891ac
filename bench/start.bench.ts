// A start of the real server over a data directory holding N remembered event ids (`bun run
// bench:start --events=N`, default 20M, the default DEDUP_KEYS_MAX): how long `bun src/main.ts`
// takes from its spawn to `ready` when it rebuilds the deduplication index from the segments (a
// start after a crash) and when it loads the index's snapshot (a start after a clean
// shutdown), alternated `--runs` times each. The N events are written straight into segments
// by bench/query/generate.ts (one tenant, spread over the `--days` before today's UTC midnight,
// so that all of them are within the default 7-day DEDUP_WINDOW): at the default HOT_BYTES_MAX
// (512 MiB) the log holds at most ~1–2M unflushed events, so the ids a large index is rebuilt
// from are the segments', which `recoverDedupIndex` reads. Each rebuilding start is stopped
// with SIGTERM (it writes the snapshot the next start loads), each loading one with kill -9
// (leaving none). Times come from the server's own log lines (`store opened`, `ready`).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { removeDedupSnapshot } from '../src/engine/dedup-snapshot.ts';
import { generate } from './query/generate.ts';
import { describeMachine } from './support/machine.ts';
import { median } from './support/median.ts';
import {
  cpuSeconds,
  freePort,
  machineBusySeconds,
  peakRssMiB,
  type ServerProcess,
  spawnServer,
} from './support/processes.ts';
import { formatCount, formatFixed, renderTable } from './support/table.ts';

const DAY_MS = 86_400_000;
/** A start of 20M ids took about a minute; far past that, something is wrong. */
const READY_TIMEOUT_MS = 600_000;
const POLL_MS = 250;
const MARKER = 'start-bench-data';
/** The log lines the result reads. */
const KEPT = [
  'store opened',
  'ready',
  'deduplication index loaded from its snapshot',
  'deduplication index snapshot written',
];

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000000' },
    days: { type: 'string', default: '6' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const events = Number(values.events);
const days = Number(values.days);
const runs = Number(values.runs);
if (!Number.isInteger(events) || events < days) throw new Error(`--events=${values.events}`);
if (!Number.isInteger(days) || days < 1 || days > 6) {
  throw new Error(`--days=${values.days}: 1–6 (within the 7-day window)`);
}
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs=${values.runs}`);

interface Start {
  kind: 'rebuild' | 'snapshot';
  /** From the spawn to the `ready` line. */
  readyMs: number;
  /** The `store opened` line's `ms`: the store's open, the index's recovery in it. */
  openedMs: number;
  dedupKeys: number;
  /** The `store opened` line's `dedup_bytes`: the index's tables. */
  dedupMiB: number;
  peakRssMiB: number;
  /** The CPU other processes took meanwhile, in % of one core. */
  otherCpu: number;
  /** After a rebuild: the snapshot the SIGTERM wrote. */
  snapshotMs?: number;
  snapshotBytes?: number;
}

const endMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const dataDir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tally-start-bench-'));
try {
  await prepare();
  const starts: Start[] = [];
  for (let run = 0; run < runs; run++) {
    starts.push(await startOnce('rebuild', 'SIGTERM'));
    starts.push(await startOnce('snapshot', 'SIGKILL'));
  }
  report(starts);
} finally {
  if (values.dir === undefined && !values.keep) fs.rmSync(dataDir, { recursive: true });
}

/** Generates the data set unless `--dir` already holds this one (same N, same end day). */
async function prepare(): Promise<void> {
  const marker = path.join(dataDir, MARKER);
  const wanted = `${events} ${days} ${endMs}`;
  // The first start rebuilds: a snapshot left in a reused directory is a previous run's.
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === wanted) {
    removeDedupSnapshot(dataDir);
    console.log(`reusing ${dataDir}`);
    return;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  const started = performance.now();
  const n = await generate({
    dataDir,
    mainEvents: events,
    days,
    smallTenants: 0,
    smallEventsPerDay: 0,
    endMs,
  });
  fs.writeFileSync(marker, wanted);
  const s = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`generated ${formatCount(n)} events over ${days} days in ${s} s into ${dataDir}`);
}

async function startOnce(kind: Start['kind'], stop: NodeJS.Signals): Promise<Start> {
  const port = freePort();
  const spawnedAt = Date.now();
  const busyBefore = machineBusySeconds() - cpuSeconds(process.pid);
  const server = spawnServer(
    {
      name: 'tally',
      argv: [process.execPath, 'src/main.ts'],
      env: { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    },
    `http://127.0.0.1:${port}`,
  );
  const seen = new Map<string, Record<string, unknown>>();
  try {
    await waitReady(server, seen);
    const elapsedS = (Date.now() - spawnedAt) / 1000;
    // This process's polling is not other work: it is left out as the server's CPU is.
    const busy = machineBusySeconds() - cpuSeconds(process.pid) - busyBefore;
    const other = busy - cpuSeconds(server.pid);
    const ready = seen.get('ready') ?? {};
    const opened = seen.get('store opened') ?? {};
    const start: Start = {
      kind,
      readyMs: Date.parse(String(ready.ts)) - spawnedAt,
      openedMs: Number(opened.ms),
      dedupKeys: Number(opened.dedup_keys),
      dedupMiB: Number(opened.dedup_bytes) / 1024 ** 2,
      peakRssMiB: peakRssMiB(server.pid),
      otherCpu: (100 * Math.max(0, other)) / elapsedS,
    };
    if (kind === 'rebuild' && seen.has('deduplication index loaded from its snapshot')) {
      throw new Error('a start meant to rebuild loaded a snapshot');
    }
    if (kind === 'snapshot' && !seen.has('deduplication index loaded from its snapshot')) {
      throw new Error('a start meant to load the snapshot did not');
    }
    await server.stop(stop);
    collect(server, seen);
    const written = seen.get('deduplication index snapshot written');
    if (written !== undefined) {
      start.snapshotMs = Number(written.ms);
      start.snapshotBytes = Number(written.bytes);
    }
    console.log(
      `${kind.padEnd(8)} ready ${(start.readyMs / 1000).toFixed(2)} s, store opened ` +
        `${(start.openedMs / 1000).toFixed(2)} s, keys ${formatCount(start.dedupKeys)} ` +
        `(${formatCount(start.dedupMiB)} MiB), ` +
        `peak RSS ${formatCount(start.peakRssMiB)} MiB, other cpu ${start.otherCpu.toFixed(0)} %`,
    );
    return start;
  } finally {
    await server.stop('SIGKILL');
  }
}

/** Polls /ready until 200, keeping the log lines the result reads as they pass. */
async function waitReady(
  server: ServerProcess,
  seen: Map<string, Record<string, unknown>>,
): Promise<void> {
  let exitCode: number | null = null;
  void server.exited.then((code) => {
    exitCode = code;
  });
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    collect(server, seen);
    if (exitCode !== null) throw failure(server, `exited with ${exitCode}`);
    const ok = await fetch(`${server.url}/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) {
      await Bun.sleep(POLL_MS); // the `ready` line may trail the first 200 by a write
      collect(server, seen);
      if (seen.has('ready')) return;
    }
    await Bun.sleep(POLL_MS);
  }
  throw failure(server, `not ready within ${READY_TIMEOUT_MS} ms`);
}

/** Keeps the lines of KEPT (the first of each) before the output's buffer drops them. */
function collect(server: ServerProcess, seen: Map<string, Record<string, unknown>>): void {
  for (const line of server.lines) {
    for (const msg of KEPT) {
      if (!seen.has(msg) && line.includes(`"msg":"${msg}"`)) seen.set(msg, JSON.parse(line));
    }
  }
}

function failure(server: ServerProcess, what: string): Error {
  return new Error(`tally ${what}; its last output:\n  ${server.lines.slice(-20).join('\n  ')}`);
}

function report(starts: readonly Start[]): void {
  const m = describeMachine('-');
  console.log(
    `\n${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}; ` +
      `${formatCount(events)} events over ${days} days`,
  );
  const s = (ms: number) => formatFixed(ms / 1000, 2);
  const rows = (['rebuild', 'snapshot'] as const).map((kind) => {
    const of = starts.filter((x) => x.kind === kind);
    const ready = of.map((x) => x.readyMs);
    const opened = of.map((x) => x.openedMs);
    return [
      kind,
      `${s(Math.min(...ready))} / ${s(median(ready))} / ${s(Math.max(...ready))}`,
      `${s(Math.min(...opened))} / ${s(median(opened))} / ${s(Math.max(...opened))}`,
      formatCount(Math.max(...of.map((x) => x.dedupKeys))),
      formatCount(Math.max(...of.map((x) => x.peakRssMiB))),
      of.map((x) => x.otherCpu.toFixed(0)).join('/'),
    ];
  });
  const header = ['start', 'ready s min/med/max', 'store opened s', 'keys', 'peak MiB', 'other %'];
  console.log(renderTable(header, rows));
  const written = starts.filter((x) => x.snapshotMs !== undefined);
  const ms = written.map((x) => x.snapshotMs as number);
  console.log(
    `snapshot at SIGTERM: ${formatCount(written[0]?.snapshotBytes ?? Number.NaN)} bytes, ` +
      `written in ${s(Math.min(...ms))}–${s(Math.max(...ms))} s`,
  );
}
