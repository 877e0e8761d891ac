// Another tenant's heavy work against a read (`bun run bench:read-contention`): the real server
// (`bun src/main.ts`) over bench:query's data set (10M events of bench-main over 30 days and
// 20 small tenants; generated into bench/out/query-data on the first run), and a probe read
// timed `--probes` times in a row in each phase:
//   idle        bench-main's stats of one day (333k events), nothing else running
//   4 sql       the same while 4 heavy SQL statements (2 small tenants, 2 each: a cross join of
//               their 60k events) run back to back in their processes (niced, QUERY_TIMEOUT)
//   small idle  a small tenant's stats over the 30 days, nothing else running
//   2 reads     the same while bench-main runs 2 heavy reads back to back (its 30-day stats,
//               each ~8 s alone on a quiet host): both hold the server's DuckDB
// A request whose fetch fails (before the read idle-timeout fix, Bun cut reads over its 30 s
// idle timeout) is counted as `cut`, its time left out.
// README's figures (2026-11-29): a day's stats 0.35 s idle, 0.54 s beside 4 heavy statements;
// a small project's 30-day stats 0.17 s alone, 20 s beside bench-main's 2 heavy reads.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureQueryData, MAIN_TENANT } from './query/generate.ts';
import { describeMachine } from './support/machine.ts';
import { median } from './support/median.ts';
import {
  freePort,
  machineBusySeconds,
  type ServerProcess,
  spawnServer,
  waitReady,
} from './support/processes.ts';
import { formatFixed, renderTable } from './support/table.ts';

const MONTH = 'from=2026-10-26&to=2026-11-25';
/** The heavy loops start this long before the probes, so the probes meet them running. */
const SETTLE_MS = 5000;

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '5' },
    dir: { type: 'string', default: process.env.BENCH_DATA_DIR ?? 'bench/out/query-data' },
  },
});
const probes = Number(values.probes);
if (!Number.isInteger(probes) || probes < 1) throw new Error(`--probes=${values.probes}`);

const dataDir = path.resolve(values.dir);
await ensureQueryData(dataDir, 10_000_000);

const DAY_STATS = `/api/v1/stats?tenant_id=${MAIN_TENANT}&date=2026-11-24`;
const SMALL_STATS = `/api/v1/stats?tenant_id=bench-small-0&${MONTH}`;
const HEAVY_READ = `/api/v1/stats?tenant_id=${MAIN_TENANT}&${MONTH}`;
const HEAVY_SQL = 'SELECT sum(a.duration * b.duration) AS x FROM events a, events b';

const port = freePort();
const server = spawnServer(
  {
    name: 'tally',
    argv: [process.execPath, 'src/main.ts'],
    env: { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  },
  `http://127.0.0.1:${port}`,
);
const rows: string[][] = [];
try {
  await waitReady(server, '/ready', 120_000);
  await probe(server, DAY_STATS, 1); // warms the tenant's files and the route up
  rows.push(await phase('idle', DAY_STATS, []));
  const sql = ['bench-small-1', 'bench-small-1', 'bench-small-2', 'bench-small-2'].map(
    (tenant) => ({
      path: `/api/v1/query?tenant_id=${tenant}`,
      body: JSON.stringify({ sql: HEAVY_SQL }),
    }),
  );
  rows.push(await phase('4 sql', DAY_STATS, sql));
  await probe(server, SMALL_STATS, 1);
  rows.push(await phase('small idle', SMALL_STATS, []));
  rows.push(await phase('2 reads', SMALL_STATS, [{ path: HEAVY_READ }, { path: HEAVY_READ }]));
} catch (error) {
  console.error(`the server's last output:\n  ${server.lines.slice(-30).join('\n  ')}`);
  throw error;
} finally {
  await server.stop('SIGTERM');
}
const m = describeMachine('-');
console.log(`\n${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}`);
const header = ['phase', 'probe', 's min / median / max', 'cut', 'heavy answered', 'host busy %'];
console.log(renderTable(header, rows));

interface Heavy {
  path: string;
  body?: string;
}

/** Times `probes` probe reads while `heavy` requests run back to back, each in a loop. */
async function phase(name: string, probePath: string, heavy: readonly Heavy[]) {
  const stop = new AbortController();
  /** The heavy requests' answers by status (408: a statement stopped at QUERY_TIMEOUT). */
  const statuses = new Map<number, number>();
  const loops = heavy.map(async (h) => {
    while (!stop.signal.aborted) {
      const init: RequestInit = { signal: stop.signal, keepalive: false };
      if (h.body !== undefined) {
        Object.assign(init, {
          method: 'POST',
          body: h.body,
          headers: { 'content-type': 'application/json' },
        });
      }
      await fetch(`${server.url}${h.path}`, init)
        .then(async (r) => {
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        })
        .catch(() => {
          if (!stop.signal.aborted) statuses.set(0, (statuses.get(0) ?? 0) + 1);
        });
    }
  });
  if (heavy.length > 0) await Bun.sleep(SETTLE_MS);
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const { ms, cut } = await probe(server, probePath, probes);
  const busy = (100 * (machineBusySeconds() - busyBefore)) / ((performance.now() - started) / 1000);
  stop.abort();
  await Promise.all(loops);
  await Bun.sleep(heavy.length > 0 ? 2000 : 0); // the interrupted statements' ends
  const s = (x: number) => formatFixed(x / 1000, 2);
  const row = [
    name,
    probePath === SMALL_STATS ? 'small, 30 days' : 'main, 1 day',
    `${s(Math.min(...ms))} / ${s(median(ms))} / ${s(Math.max(...ms))}`,
    String(cut),
    [...statuses].map(([status, n]) => `${n}×${status === 0 ? 'cut' : status}`).join(' ') || '-',
    formatFixed(busy, 0),
  ];
  console.log(row.join('  '));
  return row;
}

/** The times of the probes answered, and how many were cut (no answer). */
async function probe(target: ServerProcess, probePath: string, times: number) {
  const ms: number[] = [];
  let cut = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    // A fresh connection each: one the server closed after an aborted request is never reused.
    const response = await fetch(`${target.url}${probePath}`, { keepalive: false }).catch(
      () => null,
    );
    if (response === null) {
      cut++;
      continue;
    }
    const body = await response.text();
    if (response.status !== 200) throw new Error(`${probePath}: ${response.status} ${body}`);
    ms.push(performance.now() - started);
  }
  return { ms, cut };
}
