// A number property's text is the one the API shows it by, in every read that compares or
// groups by it: JavaScript writes 1e21 as `1e+21`, DuckDB's JSON functions `1e21`. Through the
// real app and store, from the hot tier and from a segment.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

type Json = Record<string, unknown>;

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const DAY = 'from=2026-11-19&to=2026-11-21';
const VALUES: Record<string, unknown> = {
  big: 1e21,
  bigger: -1.5e300,
  small: 1e-7,
  plain: 123456789012345680000,
  text: '1e21',
};

const ok = async (path: string): Promise<Json> => {
  const res = await t.get(path);
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
};

/** The ids of the events whose property `v` is `text`, as listed and as counted. */
const matching = async (text: string) => {
  const filter = `property.v=${encodeURIComponent(text)}`;
  const listed = (await ok(`/api/v1/events?${filter}`)).events as Json[];
  const stats = await ok(`/api/v1/stats?${DAY}&${filter}`);
  return { ids: listed.map((e) => e.event_id), total: stats.total_events };
};

describe('number properties as the API writes them', () => {
  test('filters, funnel steps and group keys use the text events are listed with', async () => {
    const events = Object.entries(VALUES).map(([id, v], i) => ({
      event_id: id,
      name: 'x',
      timestamp: Date.parse('2026-11-20T00:00:00Z') + i * 1000,
      properties: { v },
    }));
    expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
    for (const where of ['hot tier', 'segment']) {
      if (where === 'segment') await t.engine.store.flusher.flush();
      const big = (await ok('/api/v1/events/big')).properties as Json;
      expect(JSON.stringify(big), where).toBe('{"v":1e+21}');
      expect(await matching('1e+21'), where).toEqual({ ids: ['big'], total: 1 });
      expect(await matching('-1.5e+300'), where).toEqual({ ids: ['bigger'], total: 1 });
      expect(await matching('1e-7'), where).toEqual({ ids: ['small'], total: 1 });
      expect(await matching('123456789012345680000'), where).toEqual({ ids: ['plain'], total: 1 });
      // The string "1e21" is that text; the number is not.
      expect(await matching('1e21'), where).toEqual({ ids: ['text'], total: 1 });
      const steps = 'step=name:x,property.v:1e%2B21&step=name:x';
      const funnel = await ok(`/api/v1/funnel?${DAY}&${steps}`);
      expect((funnel.steps as Json[])[0]?.count, where).toBe(1);
      const series = await ok(`/api/v1/timeseries?${DAY}&group_by=property:v`);
      const keys = (series.series as Json[]).map((s) => s.key).sort();
      expect(keys, where).toEqual(['-1.5e+300', '123456789012345680000', '1e+21', '1e-7', '1e21']);
    }
  });
});
