// Every read gives the same answer before and after a restart, whether the events are still in
// the log (replayed) or already in segments.

import { afterEach, expect, test } from 'bun:test';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
];

const READS = [
  '/api/v1/stats?date=2026-11-25',
  '/api/v1/stats?date=2026-11-25&tz=America/New_York&bots=include',
  '/api/v1/timeseries?bucket=hour&from=2026-11-24&to=2026-11-26&tz=Europe/Berlin',
  '/api/v1/timeseries?bucket=day&metric=uniques&group_by=path&from=2026-11-20&to=2026-11-26',
  '/api/v1/events?limit=7',
  '/api/v1/metrics?name=latency_ms&limit=5',
  '/api/v1/metrics/aggregate/latency_ms?bucket=hour&from=2026-11-25&to=2026-11-26',
  '/api/v1/metrics/latest/latency_ms',
];

async function readAll(app: TestApp): Promise<string[]> {
  const answers = await Promise.all(
    READS.map(async (p) => {
      const res = await app.get(p);
      expect([p, res.status]).toEqual([p, 200]);
      return `${p} ${await res.text()}`;
    }),
  );
  const sql = await app.post('/api/v1/query', {
    sql: 'SELECT name, path, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL',
  });
  expect(sql.status).toBe(200);
  const body = (await sql.json()) as Record<string, unknown>;
  return [...answers, JSON.stringify({ ...body, elapsed_ms: 0 })];
}

test('reads are identical before and after restarts, from the log and from segments', async () => {
  t = await makeTestApp();
  const events = Array.from({ length: 300 }, (_, i) => ({
    event_id: `e${i}`,
    name: i % 4 === 0 ? 'signup' : 'page_view',
    path: `/p${i % 7}`,
    user_id: i % 3 === 0 ? `u${i % 11}` : undefined,
    session_id: `s${i % 13}`,
    timestamp: T0 - (i % 50) * 3_600_000,
    user_agent: UAS[i % UAS.length],
    duration: i % 9,
  }));
  const metrics = Array.from({ length: 40 }, (_, i) => ({
    event_id: `m${i}`,
    name: 'latency_ms',
    value: (i * 37) % 100,
    timestamp: T0 - i * 600_000,
  }));
  const res = await t.post('/api/v1/events/batch', { events: [...events, ...metrics] });
  expect(res.status).toBe(202);

  const before = await readAll(t);
  // Pinned, so "identical" cannot be empty answers compared with empty answers.
  const stats = await (
    await t.get('/api/v1/stats?from=2026-11-20&to=2026-11-26&bots=include')
  ).json();
  expect(stats).toMatchObject({ total_events: 340 });
  expect(before.at(-1)).toContain('["latency_ms",null,40],["page_view","/p0",32]');
  await t.restart(); // everything comes back from the log
  expect(await readAll(t)).toEqual(before);
  await t.engine.store.flusher.flush();
  expect(await readAll(t)).toEqual(before);
  await t.restart(); // everything comes back from segments
  expect(await readAll(t)).toEqual(before);
});
