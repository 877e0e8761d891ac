// Time zones across the native reads, through the real app and store, against hand-checked
// tables of each zone's rules (the expected instants below are written out, not computed with
// Intl): a bare date is a local day of `tz` on every read that takes dates, including the lists.
// The test clock's now is 2026-11-25T12:00:00Z.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const ok = async (path: string): Promise<Json> => {
  const res = await t.get(path);
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
};
const send = async (events: Json[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};

describe('lists: a bare date is a local day of tz', () => {
  // New York is UTC-5 on 2026-03-07 (its DST begins 2026-03-08 07:00Z): the local day
  // 2026-03-08 begins at 05:00Z. 02:00Z is still 2026-03-07 21:00 there.
  const EVENING_BEFORE = '2026-03-08T02:00:00Z';
  const MORNING = '2026-03-08T06:00:00Z';

  test('GET /api/v1/events reads from/to in tz, as export does', async () => {
    await send([
      { name: 'page_view', event_id: 'evening', timestamp: EVENING_BEFORE },
      { name: 'page_view', event_id: 'morning', timestamp: MORNING },
    ]);
    const ids = async (query: string) =>
      ((await ok(`/api/v1/events?${query}`)).events as Json[]).map((e) => e.event_id);
    expect(await ids('from=2026-03-08&to=2026-03-08&tz=America/New_York')).toEqual(['morning']);
    expect(await ids('from=2026-03-07&to=2026-03-07&tz=America/New_York')).toEqual(['evening']);
    // Without tz, dates are UTC days.
    expect(await ids('from=2026-03-08&to=2026-03-08')).toEqual(['morning', 'evening']);
    const bad = await t.get('/api/v1/events?from=2026-03-08&tz=Mars/Olympus');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: Json[] }).detail[0]?.loc).toEqual(['query', 'tz']);
  });

  test('GET /api/v1/metrics reads from/to in tz', async () => {
    await send([
      { name: 'cpu', value: 1, timestamp: EVENING_BEFORE },
      { name: 'cpu', value: 2, timestamp: MORNING },
    ]);
    const values = async (query: string) =>
      ((await ok(`/api/v1/metrics?name=cpu&${query}`)).metrics as Json[]).map((m) => m.value);
    expect(await values('from=2026-03-08&to=2026-03-08&tz=America/New_York')).toEqual([2]);
    expect(await values('from=2026-03-07&to=2026-03-07&tz=America/New_York')).toEqual([1]);
    expect(await values('from=2026-03-08&to=2026-03-08')).toEqual([2, 1]);
  });
});
