// A visitor whose user agent names no browser, OS or device, read through Plausible's Stats
// APIs: Plausible stores them empty and lists and filters them as `(not set)`, in v1's
// breakdowns as in v2's dimensions (its Expression.field_or_blank_value); Tally's own reads
// call them Other.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page, WINDOWS } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
  await beacon(t, '2026-11-24T10:00:00Z', '198.51.100.1', page('/'), WINDOWS);
  await beacon(t, '2026-11-24T11:00:00Z', '198.51.100.2', page('/'), 'SomeReader/1.0');
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const DAY = 'period=custom&date=2026-11-24,2026-11-24';

async function v1(query: string) {
  const res = await t.get(`/api/v1/stats/${query}&site_id=example.com&${DAY}`);
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.results;
}

async function v2(body: Json) {
  const res = await t.post('/api/v2/query', {
    site_id: 'example.com',
    metrics: ['visitors'],
    date_range: ['2026-11-24', '2026-11-24'],
    ...body,
  });
  const answer = (await res.json()) as { results: { dimensions: string[]; metrics: number[] }[] };
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer.results.map((r) => [...r.dimensions, ...r.metrics]);
}

describe('an unknown browser, OS and device', () => {
  test('v1 breakdowns list it as (not set)', async () => {
    expect(await v1('breakdown?property=visit:browser')).toEqual([
      { browser: '(not set)', visitors: 1 },
      { browser: 'Chrome', visitors: 1 },
    ]);
    expect(await v1('breakdown?property=visit:os')).toEqual([
      { os: '(not set)', visitors: 1 },
      { os: 'Windows', visitors: 1 },
    ]);
    expect(await v1('breakdown?property=visit:device')).toEqual([
      { device: '(not set)', visitors: 1 },
      { device: 'Desktop', visitors: 1 },
    ]);
  });

  test('v2 dimensions list it as (not set)', async () => {
    expect(await v2({ dimensions: ['visit:browser', 'visit:os', 'visit:device'] })).toEqual([
      ['(not set)', '(not set)', '(not set)', 1],
      ['Chrome', 'Windows', 'Desktop', 1],
    ]);
  });

  test('filters name it (not set), not Other', async () => {
    const visitors = async (filters: string) =>
      ((await v1(`aggregate?filters=${encodeURIComponent(filters)}`)) as Json).visitors;
    expect(await visitors('visit:browser==(not set)')).toEqual({ value: 1 });
    expect(await visitors('visit:os==(not set)')).toEqual({ value: 1 });
    expect(await visitors('visit:device==(not set)')).toEqual({ value: 1 });
    expect(await visitors('visit:browser==Other')).toEqual({ value: 0 });
    expect(await visitors('visit:browser!=(not set)')).toEqual({ value: 1 });
    expect(await v2({ filters: [['is', 'visit:os', ['(not set)']]] })).toEqual([[1]]);
    expect(await v2({ filters: [['is_not', 'visit:device', ['Desktop']]] })).toEqual([[1]]);
    expect(await v2({ filters: [['contains', 'visit:browser', ['Oth']]] })).toEqual([[0]]);
  });
});
