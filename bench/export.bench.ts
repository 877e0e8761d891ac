// A day's export in each format (`bun run bench:export`): `GET /api/v1/export?format=…&date=`
// of one tenant-day of bench:query's data set (10M events over 30 days, 333k a day, in
// segments; generated into bench/out/query-data on the first run, as bench:query does) through
// the HTTP app in-process, the body read to its end. Prints, per format, the time (min / median
// / max of `--runs`, the formats taken in turn each run), the body's size and events a second;
// then NDJSON again in pages of 1,000 events instead of 20,000 (what README says small pages
// cost). The CPU time the process spent is printed too: on a busy host it moves less than the
// wall time. The clock stands at the data's end, so every event is in segments, none in the log.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { queryLimits } from '../src/query/index.ts';
import { createBenchApp, openBenchApp } from './query/bench-app.ts';
import { ensureQueryData, MAIN_TENANT, QUERY_DATA_END_MS } from './query/generate.ts';
import { describeMachine } from './support/machine.ts';
import { median } from './support/median.ts';
import { formatCount, formatFixed, renderTable } from './support/table.ts';

const END_MS = QUERY_DATA_END_MS;
const EVENTS = 10_000_000;
const DAY = '2026-11-24';
const SMALL_PAGE_ROWS = 1000;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: process.env.BENCH_DATA_DIR ?? 'bench/out/query-data' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs=${values.runs}`);

const dataDir = path.resolve(values.dir);
await ensureQueryData(dataDir, EVENTS);

const { engine, app } = await openBenchApp(dataDir, END_MS);
const smallPages = createBenchApp(engine, {
  rows: SMALL_PAGE_ROWS,
  bytes: queryLimits.exportPageBytes,
});

interface Case {
  name: string;
  format: 'ndjson' | 'csv' | 'parquet';
  app: typeof app;
  ms: number[];
  /** CPU seconds of this process (every thread, DuckDB's too) per run: less load-bound. */
  cpuS: number[];
  bytes: number;
  /** Lines of the body (NDJSON: events; CSV: events + the header). */
  lines: number;
}

const cases: Case[] = [
  { name: 'ndjson', format: 'ndjson', app, ms: [], cpuS: [], bytes: 0, lines: 0 },
  { name: 'csv', format: 'csv', app, ms: [], cpuS: [], bytes: 0, lines: 0 },
  { name: 'parquet', format: 'parquet', app, ms: [], cpuS: [], bytes: 0, lines: 0 },
  {
    name: `ndjson, pages of ${SMALL_PAGE_ROWS}`,
    format: 'ndjson',
    app: smallPages,
    ms: [],
    cpuS: [],
    bytes: 0,
    lines: 0,
  },
];

try {
  for (let run = 0; run < runs; run++) {
    for (const c of cases) {
      const query = `tenant_id=${MAIN_TENANT}&format=${c.format}&date=${DAY}`;
      const url = `http://localhost/api/v1/export?${query}`;
      const started = performance.now();
      const cpu = process.cpuUsage();
      const response = await c.app.handle(new Request(url));
      if (response.status !== 200 || response.body === null) {
        throw new Error(`${c.name}: ${response.status} ${await response.text()}`);
      }
      let bytes = 0;
      let lines = 0;
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        bytes += read.value.byteLength;
        for (const byte of read.value) if (byte === 10) lines++;
      }
      c.ms.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      c.cpuS.push((used.user + used.system) / 1e6);
      c.bytes = bytes;
      c.lines = lines;
      console.log(`${c.name}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
    }
  }
} finally {
  await engine.close();
}

const events = cases[0]?.lines ?? Number.NaN;
const m = describeMachine('-');
console.log(
  `\n${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}; ` +
    `${MAIN_TENANT} ${DAY}: ${formatCount(events)} events, ${runs} runs`,
);
const s = (ms: number) => formatFixed(ms / 1000, 2);
const rows = cases.map((c) => [
  c.name,
  `${s(Math.min(...c.ms))} / ${s(median(c.ms))} / ${s(Math.max(...c.ms))}`,
  formatFixed(median(c.cpuS), 2),
  formatFixed(c.bytes / 1e6, 1),
  formatCount(events / (median(c.ms) / 1000)),
]);
const header = ['format', 's min / median / max', 'cpu s (median)', 'MB', 'events/s (median)'];
console.log(renderTable(header, rows));
