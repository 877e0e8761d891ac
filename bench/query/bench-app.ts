// The engine and HTTP app the query benchmarks read Tally through: the engine over a generated
// data directory with DuckDB's memory as a server has it by default (the test helper's 256 MiB
// made the 30-day reads spill to disk, ~2× slower than the floor's unbounded DuckDB), open
// tenancy, no request log, and a 60 s limit on SQL statements.

import { defaultTunables, ManualClock } from '../../src/core/index.ts';
import { type Engine, openEngine } from '../../src/engine/index.ts';
import { type App, createApp, openTenancy } from '../../src/http/index.ts';
import type { PageBounds } from '../../src/query/index.ts';
import { engineOptions } from '../../test/helpers/app.ts';

export async function openBenchApp(
  dataDir: string,
  nowMs: number,
): Promise<{ engine: Engine; app: App }> {
  const clock = new ManualClock(nowMs);
  const engine = await openEngine(
    engineOptions(dataDir, clock, { duckdbMemoryBytesMax: defaultTunables.duckdbMemoryBytesMax }),
  );
  return { engine, app: createBenchApp(engine) };
}

/** An app over `engine` as above; `exportPage` bounds its exports' pages (queryLimits'). */
export function createBenchApp(engine: Engine, exportPage?: PageBounds): App {
  return createApp({
    engine,
    tenancy: openTenancy,
    clock: engine.clock,
    log: { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false },
    options: {
      trustProxy: false,
      retryAfterSeconds: 1,
      queryTimeoutMs: 60_000,
      queryRowsMax: 10_000,
      ...(exportPage === undefined ? {} : { exportPage }),
    },
    isAccepting: () => true,
  });
}
