// Time edges of Plausible's Stats API v2 through the real app and store: the `all` range when
// the only events are stored ahead of now (Tally's ingest takes up to 24 hours ahead).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const query = async (body: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...body });
  const answer = (await res.json()) as Json;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer as { results: Json[]; meta: Json; query: Json };
};

describe('date_range "all"', () => {
  test('an event stored ahead of now starts no range after today', async () => {
    // Stored at 2026-11-26T01:00Z while it is 2026-11-25T12:00Z: tomorrow, in UTC.
    await beacon(t, '2026-11-26T01:00:00Z', '198.51.100.9', page('/soon'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const answer = await query({
      metrics: ['visitors'],
      date_range: 'all',
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(answer.query.date_range).toEqual([
      '2026-11-25T00:00:00+00:00',
      '2026-11-25T23:59:59+00:00',
    ]);
    expect(answer.meta.time_labels).toEqual(['2026-11-25']);
    expect(answer.results).toEqual([]);
  });
});

describe('the last days of year 9999', () => {
  // The day after 9999-12-31 is 10000-01-01, which sorts before it as text: a range ending on
  // 9999-12-31 listed the dates of years 10000 to 99990 (32 million, minutes of one request
  // holding the server) before stopping.
  test("v1 timeseries by date lists the range's dates alone", async () => {
    const started = performance.now();
    const res = await t.get(
      '/api/v1/stats/timeseries?site_id=example.com&period=custom&date=9999-12-30,9999-12-31' +
        '&metrics=visitors&tz=Pacific/Kiritimati',
    );
    const answer = (await res.json()) as Json;
    expect(res.status, JSON.stringify(answer).slice(0, 300)).toBe(200);
    expect(answer.results).toEqual([
      { date: '9999-12-30', visitors: 0 },
      { date: '9999-12-31', visitors: 0 },
    ]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("v2 time:day labels the range's dates alone", async () => {
    const answer = await query({
      metrics: ['visitors'],
      date_range: ['9999-12-31', '9999-12-31'],
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(answer.meta.time_labels).toEqual(['9999-12-31']);
    expect(answer.results).toEqual([]);
  });
});
