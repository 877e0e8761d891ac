// The flush of a backfill (`bun run bench:backfill-flush`): a flush writes one segment (and its
// minute counts) per tenant and UTC day its events span, so events spread over many days cost
// a file each. For each case EVENTSxDAYS (default: 1,000 events on one day, 1,000 events on
// 1,000 days, 100,000 events over 1,826 days, five years), `--runs` times in a fresh data
// directory: the events are ingested through src/engine's Ingestor (batches of 1,000, one
// tenant, received now, timestamps one a day or spread evenly back in time), then one
// `flusher.flush()` is timed. Prints the flush's time, the segments it wrote and the time per
// segment: README's "~10–30 ms each … 1,000 days ~20 s, 100k events over 5 years ~1 min".

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ManualClock } from '../src/core/index.ts';
import { openEngine } from '../src/engine/index.ts';
import { engineOptions } from '../test/helpers/app.ts';
import { makeEvent } from '../test/helpers/memory-source.ts';
import { describeMachine } from './support/machine.ts';
import { median } from './support/median.ts';
import { formatCount, formatFixed, renderTable } from './support/table.ts';

const DAY_MS = 86_400_000;
const BATCH = 1000;
const TENANT = 'backfill';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000x1,1000x1000,100000x1826' },
    runs: { type: 'string', default: '2' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs=${values.runs}`);
const cases = values.cases.split(',').map((c) => {
  const [events, days] = c.split('x').map(Number) as [number, number];
  if (!(events >= days && days >= 1)) throw new Error(`--cases: ${c} is not EVENTSxDAYS`);
  return { events, days };
});

const now = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2; // noon UTC today
const rows: string[][] = [];
for (const { events, days } of cases) {
  const flushMs: number[] = [];
  let segments = 0;
  for (let run = 0; run < runs; run++) {
    const result = await flushOnce(events, days);
    flushMs.push(result.ms);
    segments = result.segments;
    console.log(
      `${events}x${days}: flush ${formatFixed(result.ms / 1000, 2)} s, ${segments} segments`,
    );
  }
  const med = median(flushMs);
  rows.push([
    `${formatCount(events)} events, ${formatCount(days)} days`,
    `${formatFixed(Math.min(...flushMs) / 1000, 2)} / ${formatFixed(med / 1000, 2)}`,
    formatCount(segments),
    formatFixed(med / segments, 1),
  ]);
}
const m = describeMachine('-');
console.log(`\n${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}`);
console.log(renderTable(['case', 'flush s min / median', 'segments', 'ms a segment'], rows));

async function flushOnce(events: number, days: number): Promise<{ ms: number; segments: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-backfill-flush-'));
  const engine = await openEngine(engineOptions(dataDir, new ManualClock(now)));
  try {
    const first = now - DAY_MS; // yesterday's noon, then back one day at a time
    for (let from = 0; from < events; from += BATCH) {
      const batch = [];
      for (let i = from; i < Math.min(events, from + BATCH); i++) {
        const day = Math.floor((i * days) / events);
        const timestamp = first - day * DAY_MS + (i % 1000);
        batch.push(makeEvent({ event_id: `bf-${i}`, tenant: TENANT, timestamp, received_at: now }));
      }
      const outcome = await engine.ingestor.ingest(batch);
      if (outcome.kind !== 'ok') throw new Error(`ingest: ${JSON.stringify(outcome)}`);
    }
    const before = engine.store.catalog.segmentsOf(TENANT).length;
    const started = performance.now();
    await engine.store.flusher.flush();
    const ms = performance.now() - started;
    return { ms, segments: engine.store.catalog.segmentsOf(TENANT).length - before };
  } finally {
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
