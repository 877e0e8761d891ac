// `bun run bench:query`: stats for a tenant-day, a 24 h per-minute series and a 30-day per-day
// series of one tenant over 10M events, through Tally (segments ∪ hot tier, via the HTTP app)
// and, in the same run, the same query functions over one (tenant, timestamp)-sorted Parquet
// file in a bare DuckDB instance: the floor. Prints p50/p95 and the ratio to the floor.

import * as path from 'node:path';
import {
  exportEventPages,
  getCohorts,
  getFunnel,
  getStats,
  getTimeSeries,
  listEvents,
} from '../../src/query/index.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { openBenchApp } from './bench-app.ts';
import { openFloor, timed } from './floor.ts';
import { ensureQueryData, MAIN_TENANT, QUERY_DATA_END_MS } from './generate.ts';

const END_MS = QUERY_DATA_END_MS;
const DAY_MS = 86_400_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);

interface Case {
  name: string;
  path: string;
  /** A POST body (JSON); GET when absent. */
  body?: unknown;
  floor: (source: EventSource) => Promise<unknown>;
  /** The target this case is held to (bench/README.md), or null for one only reported. */
  goal: Goal | null;
  /** Runs at most (a read of seconds): fewer than BENCH_RUNS keep the benchmark short. */
  runsMax?: number;
}

interface Goal {
  text: string;
  met: (tallyP50Ms: number, floorP50Ms: number) => boolean;
}

const WITHIN_2X_FLOOR: Goal = { text: 'p50 ≤ 2× floor', met: (tally, floor) => tally <= 2 * floor };
const WITHIN_100_MS: Goal = { text: 'p50 ≤ 100 ms', met: (tally) => tally <= 100 };

/** The statement of the SQL case: events per name over one day of one tenant. */
const DAY_SQL = `SELECT name, count(*) AS events FROM events
  WHERE "timestamp" >= TIMESTAMPTZ '2026-11-24 00:00:00+00'
    AND "timestamp" < TIMESTAMPTZ '2026-11-25 00:00:00+00'
  GROUP BY name ORDER BY events DESC`;

const lastDay = END_MS - DAY_MS;
const WEEK_FROM = END_MS - 7 * DAY_MS;
const MONTH_FROM = END_MS - 30 * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const noFilters = (fromMs: number, toMs: number) => ({ fromMs, toMs, bots: false, properties: {} });

const CASES: Case[] = [
  {
    name: 'stats, one tenant-day',
    path: `/api/v1/stats?tenant_id=${MAIN_TENANT}&date=2026-11-24`,
    floor: (s) => getStats(s, MAIN_TENANT, { filters: noFilters(lastDay, END_MS), top: 10 }),
    goal: WITHIN_2X_FLOOR,
  },
  {
    // Reported only: the long-range read a dashboard's "last 30 days" makes (10M events).
    name: 'stats, 30 days',
    path: `/api/v1/stats?tenant_id=${MAIN_TENANT}&from=${iso(MONTH_FROM)}&to=${iso(END_MS)}`,
    floor: (s) => getStats(s, MAIN_TENANT, { filters: noFilters(MONTH_FROM, END_MS), top: 10 }),
    goal: null,
    runsMax: 3,
  },
  {
    // Reported only: a visit filter forms the week's visits, keeps those entering at /p/1 and
    // reads their events (visit-scope.ts).
    name: 'stats, 7 days, entry_page filter',
    path: `/api/v1/stats?tenant_id=${MAIN_TENANT}&from=${iso(WEEK_FROM)}&to=${iso(END_MS)}&entry_page=/p/1`,
    floor: (s) =>
      getStats(s, MAIN_TENANT, {
        filters: noFilters(WEEK_FROM, END_MS),
        top: 10,
        visits: { equals: { entry_page: '/p/1' } },
      }),
    goal: null,
    runsMax: 3,
  },
  {
    // Reported only: the newest 100 events of the 30 days, read newest window first (the
    // clock is at the data's end); the floor reads the sorted file in one window.
    name: 'events, newest 100',
    path: `/api/v1/events?tenant_id=${MAIN_TENANT}&limit=100`,
    floor: (s) => listEvents(s, MAIN_TENANT, { limit: 100 }),
    goal: null,
  },
  {
    // Reported only: a day's events as NDJSON (333k events, ~183 MB), every page read in
    // windows; the floor pages through the sorted file the same way, without the HTTP stream.
    name: 'export, one day as NDJSON',
    path: `/api/v1/export?tenant_id=${MAIN_TENANT}&format=ndjson&date=2026-11-24`,
    floor: async (s) => {
      let events = 0;
      const options = { fromMs: lastDay, toMs: END_MS };
      for await (const page of exportEventPages(s, MAIN_TENANT, options)) events += page.length;
      return events;
    },
    goal: null,
    runsMax: 3,
  },
  {
    name: 'time series, 24 h per minute',
    path: `/api/v1/timeseries?tenant_id=${MAIN_TENANT}&bucket=minute&from=2026-11-24&to=2026-11-25&fill=zero`,
    floor: (s) => getTimeSeries(s, MAIN_TENANT, series('minute', lastDay)),
    goal: WITHIN_2X_FLOOR,
  },
  {
    name: 'time series, 30 days per day',
    path: `/api/v1/timeseries?tenant_id=${MAIN_TENANT}&bucket=day&from=2026-10-26&to=2026-11-25&fill=zero`,
    floor: (s) => getTimeSeries(s, MAIN_TENANT, series('day', END_MS - 30 * DAY_MS)),
    goal: WITHIN_100_MS,
  },
  {
    // Tally runs each statement in a process of its own over an export of the tenant's
    // events; the floor runs the same SQL in-process on the sorted file.
    name: 'SQL, events per name of one day',
    path: `/api/v1/query?tenant_id=${MAIN_TENANT}`,
    body: { sql: DAY_SQL },
    floor: async (s) => {
      const snapshot = await s.snapshot(MAIN_TENANT);
      try {
        const sql = DAY_SQL.replace('FROM events', `FROM ${snapshot.from} AS e`);
        return (await snapshot.connection.runAndReadAll(sql, snapshot.params)).getRows();
      } finally {
        snapshot.release();
      }
    },
    goal: null, // reported only: the price of a process per statement
  },
  {
    // Reported only (no target in the issues): the same statement on the sorted file.
    name: 'funnel, 7 days, 3 steps, window 1 day',
    path:
      `/api/v1/funnel?tenant_id=${MAIN_TENANT}&step=path:/p/1&step=name:signup` +
      `&step=name:purchase&window=1d&from=${iso(WEEK_FROM)}&to=${iso(END_MS)}`,
    floor: (s) =>
      getFunnel(s, MAIN_TENANT, {
        steps: [{ path: '/p/1' }, { name: 'signup' }, { name: 'purchase' }],
        windowMs: DAY_MS,
        by: 'visitor',
        filters: noFilters(WEEK_FROM, END_MS),
      }),
    goal: null,
    runsMax: 10,
  },
  {
    // by=person reads the links (anonymous id → first user) from the tenant's whole history,
    // whatever the range: this case shows what that scan adds to the 7-day funnel above.
    name: 'funnel as above, by person',
    path:
      `/api/v1/funnel?tenant_id=${MAIN_TENANT}&step=path:/p/1&step=name:signup` +
      `&step=name:purchase&window=1d&by=person&from=${iso(WEEK_FROM)}&to=${iso(END_MS)}`,
    floor: (s) =>
      getFunnel(s, MAIN_TENANT, {
        steps: [{ path: '/p/1' }, { name: 'signup' }, { name: 'purchase' }],
        windowMs: DAY_MS,
        by: 'person',
        filters: noFilters(WEEK_FROM, END_MS),
      }),
    goal: null,
    runsMax: 10,
  },
  {
    name: 'cohorts, 30 days by day, 7 periods',
    path:
      `/api/v1/cohorts?tenant_id=${MAIN_TENANT}&period=day&periods=7` +
      `&from=${iso(MONTH_FROM)}&to=${iso(END_MS)}`,
    floor: (s) =>
      getCohorts(s, MAIN_TENANT, {
        startEvent: { name: 'page_view' },
        returnEvent: { name: 'page_view' },
        kind: 'recurring',
        by: 'visitor',
        period: 'day',
        tz: 'UTC',
        periods: 7,
        fromMs: MONTH_FROM,
        toMs: END_MS,
        nowMs: END_MS,
        filters: noFilters(MONTH_FROM, END_MS),
      }),
    goal: null,
    runsMax: 10,
  },
];

function series(bucket: 'minute' | 'day', fromMs: number) {
  return {
    metric: 'count' as const,
    bucket,
    tz: 'UTC',
    fromMs,
    toMs: END_MS,
    filters: noFilters(fromMs, END_MS),
    seriesMax: 10,
    fill: true,
  };
}

const dataDir = path.resolve(process.env.BENCH_DATA_DIR ?? 'bench/out/query-data');
await ensureQueryData(dataDir, EVENTS);
const { engine, app } = await openBenchApp(dataDir, END_MS);

const floor = await openFloor(engine, dataDir, MAIN_TENANT);

console.log(
  `\n${RUNS} runs each (a case of seconds: at most its runsMax); tenant ${MAIN_TENANT}; ${engine.store.catalog.segmentsOf(MAIN_TENANT).length} segments\n`,
);
console.log('| query | Tally p50 | Tally p95 | floor p50 | ratio | goal | result |');
console.log('|---|---|---|---|---|---|---|');
let goalsMissed = 0;
for (const c of CASES) {
  const runs = Math.min(RUNS, c.runsMax ?? RUNS);
  const tally = await timed(async () => {
    const init =
      c.body === undefined
        ? {}
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(c.body),
          };
    const res = await app.handle(new Request(`http://localhost${c.path}`, init));
    if (res.status !== 200) throw new Error(`${c.path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }, runs);
  const bare = await timed(() => c.floor(floor), runs);
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  const met = c.goal === null ? null : c.goal.met(tally.p50, bare.p50);
  if (met === false) goalsMissed++;
  const result = met === null ? '—' : met ? 'pass' : 'FAIL';
  console.log(
    `| ${c.name} | ${f(tally.p50)} | ${f(tally.p95)} | ${f(bare.p50)} | ${(tally.p50 / bare.p50).toFixed(2)}× | ${c.goal?.text ?? 'none'} | ${result} |`,
  );
}
await engine.close();
floor.close();
if (goalsMissed > 0) {
  console.log(`\n${goalsMissed} goal(s) missed`);
  process.exitCode = 1;
}
