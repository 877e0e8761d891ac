// The ingest path without sockets (`bun run bench:ingest-path`): what one single-event request
// costs the JavaScript thread at each layer, measured in-process where wrk and the kernel's
// loopback add no noise. 64 concurrent loops call `handle(new Request(…))` for a few seconds in
// a fresh child process per layer, rounds interleaved; medians are printed. The layers:
//   bare         request.json() + Response.json(): the bare server of bench:ingest
//   route        Tally's route before the engine (readOneEvent in Elysia): its floor server
//   tally-os     the whole app and engine, log written but never fdatasync'ed (DURABILITY=os)
//   tally-fsync  the whole app and engine, as it runs by default: 202 after fdatasync
// Flushing to segments runs every second as in main.ts. What the numbers mean: bench/README.md.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/index.ts';
import { openEngine } from '../src/engine/index.ts';
import { createApp, openTenancy } from '../src/http/index.ts';
import type { Durability } from '../src/storage/index.ts';
import { engineOptions } from '../test/helpers/app.ts';
import { floorRoute } from './support/floor-route.ts';
import { median } from './support/median.ts';
import { formatCount, formatFixed, renderTable } from './support/table.ts';

const LAYERS = ['bare', 'route', 'tally-os', 'tally-fsync'] as const;
type Layer = (typeof LAYERS)[number];

const CONCURRENCY = 64;
const WARMUP_MS = 1500;
const DURATION_S_DEFAULT = 4;
const ROUNDS_DEFAULT = 3;
const FLUSH_EVERY_MS = 1000;
/** Linux reports /proc/<pid>/task/<tid>/stat times in USER_HZ ticks: 100 a second. */
const US_PER_TICK = 10_000;
const RESULT_PREFIX = 'INGEST_PATH ';

type Handle = (request: Request) => Promise<Response> | Response;

interface LayerResult {
  layer: Layer;
  reqPerS: number;
  /** CPU of the JavaScript (main) thread per request. */
  mainUs: number;
  /** CPU of the whole process (I/O, JIT and GC threads too) per request. */
  processUs: number;
  /** Requests per write-ahead-log commit (tally layers). */
  perCommit: number | null;
}

interface Target {
  handle: Handle;
  commits: () => number | null;
}

async function targetFor(layer: Layer, dataDir: string): Promise<Target> {
  if (layer === 'bare') {
    return {
      handle: async (request) => {
        await request.json();
        return Response.json({ status: 'accepted', accepted: 1 }, { status: 202 });
      },
      commits: () => null,
    };
  }
  if (layer === 'route') {
    const app = floorRoute();
    return { handle: (request) => app.handle(request), commits: () => null };
  }
  const durability: Durability = layer === 'tally-os' ? 'os' : 'fsync';
  const engine = await openEngine(engineOptions(dataDir, systemClock, { durability }));
  const app = createApp({
    engine,
    tenancy: openTenancy,
    clock: systemClock,
    log: { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false },
    options: { trustProxy: false, retryAfterSeconds: 1, queryTimeoutMs: 10_000, queryRowsMax: 1 },
    isAccepting: () => true,
  });
  setInterval(() => void engine.store.flusher.flush(), FLUSH_EVERY_MS).unref();
  return {
    handle: (request) => app.handle(request),
    commits: () => engine.store.committer.commits,
  };
}

/** User + system ticks of this process's main thread. */
function mainThreadUs(): number {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * US_PER_TICK;
}

async function runChild(layer: Layer, durationS: number): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-ingest-path-'));
  try {
    const target = await targetFor(layer, dataDir);
    const nonce = Bun.randomUUIDv7();
    let sent = 0;
    const loop = async (until: number) => {
      while (performance.now() < until) {
        const n = sent++;
        const body =
          `{"event_id":"${nonce}-${n}","name":"page_view","path":"/p/${n % 100}",` +
          `"user_id":"u_${n % 1000}"}`;
        const response = await target.handle(
          new Request('http://127.0.0.1/api/v1/events', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
            body,
          }),
        );
        if (response.status !== 202) {
          throw new Error(`${layer}: ${response.status} ${await response.text()}`);
        }
        await response.arrayBuffer();
      }
    };
    const loops = async (ms: number) => {
      const until = performance.now() + ms;
      await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(until)));
    };
    await loops(WARMUP_MS);
    const [sent0, commits0, main0, cpu0, t0] = [
      sent,
      target.commits(),
      mainThreadUs(),
      process.cpuUsage(),
      performance.now(),
    ];
    await loops(durationS * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const requests = sent - sent0;
    const cpu = process.cpuUsage(cpu0);
    const commits = target.commits();
    const result: LayerResult = {
      layer,
      reqPerS: requests / seconds,
      mainUs: (mainThreadUs() - main0) / requests,
      processUs: (cpu.user + cpu.system) / requests,
      perCommit:
        commits === null || commits0 === null ? null : requests / Math.max(1, commits - commits0),
    };
    console.log(RESULT_PREFIX + JSON.stringify(result));
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function spawnLayer(layer: Layer, durationS: number): Promise<LayerResult> {
  const argv = [process.execPath, import.meta.path, '--child', layer, '--duration', `${durationS}`];
  const proc = Bun.spawn(argv, { stdout: 'pipe', stderr: 'inherit' });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || line === undefined) throw new Error(`${layer} exited ${code}: ${out}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as LayerResult;
}

async function runAll(durationS: number, rounds: number): Promise<void> {
  const byLayer = new Map<Layer, LayerResult[]>(LAYERS.map((l) => [l, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const layer of LAYERS) {
      console.error(`[bench:ingest-path] round ${round}/${rounds}: ${layer}`);
      byLayer.get(layer)?.push(await spawnLayer(layer, durationS));
    }
  }
  const bareMain = median((byLayer.get('bare') ?? []).map((r) => r.mainUs));
  const rows = LAYERS.map((layer) => {
    const results = byLayer.get(layer) ?? [];
    const mainUs = median(results.map((r) => r.mainUs));
    const perCommit = results.map((r) => r.perCommit).filter((n): n is number => n !== null);
    return [
      layer,
      formatCount(median(results.map((r) => r.reqPerS))),
      formatFixed(mainUs, 1),
      formatFixed(mainUs - bareMain, 1),
      formatFixed(median(results.map((r) => r.processUs)), 1),
      perCommit.length === 0 ? '-' : formatFixed(median(perCommit), 0),
    ];
  });
  console.log(
    `\nin-process, ${CONCURRENCY} concurrent requests, ${durationS} s per run, ` +
      `median of ${rounds} rounds; bun ${Bun.version}, ${os.availableParallelism()} cores\n`,
  );
  console.log(
    renderTable(
      ['layer', 'req/s', 'main us/req', 'over bare', 'process us/req', 'req/commit'],
      rows,
    ),
  );
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const durationS = Number(values.duration ?? DURATION_S_DEFAULT);
const rounds = Number(values.rounds ?? ROUNDS_DEFAULT);
if (!Number.isInteger(durationS) || durationS < 1 || durationS > 600) {
  throw new Error(`--duration=${values.duration}: give whole seconds from 1 to 600`);
}
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  throw new Error(`--rounds=${values.rounds}: give a whole number from 1 to 20`);
}
if (values.child !== undefined) {
  const layer = LAYERS.find((l) => l === values.child);
  if (layer === undefined) throw new Error(`--child=${values.child}: give one of ${LAYERS}`);
  await runChild(layer, durationS);
  process.exit(0);
} else {
  await runAll(durationS, rounds);
}
