// Text that JSON can carry but UTF-8 cannot: a lone UTF-16 surrogate (`"\ud800"`, e.g. a string
// cut in the middle of an emoji) is stored as U+FFFD, so it can never make the log unreadable
// to DuckDB (which refused the whole hot tier, for every tenant, and every flush after it).

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const REPLACEMENT = '\ufffd';

test('a lone surrogate anywhere in an event is stored as U+FFFD; other tenants read on', async () => {
  expect(
    (await t.post('/api/v1/events', { event_id: 'g1', name: 'ok', tenant_id: 'good' })).status,
  ).toBe(202);
  // Raw bodies: JSON.stringify would escape the backslashes of a test string.
  const raw =
    '{"event_id":"p1","name":"\\ud800","path":"/\\ud83d","tenant_id":"evil",' +
    '"properties":{"k\\udc00":["x\\ud800y",{"deep":"\\ud800"}]}}';
  const res = await t.post('/api/v1/events', raw);
  expect(res.status).toBe(202);
  const pair = '{"event_id":"p2","name":"\\ud83d\\ude00 a\\\\ud800b","tenant_id":"evil"}';
  expect((await t.post('/api/v1/events', pair)).status).toBe(202);

  const good = await t.get('/api/v1/stats?tenant_id=good&date=2026-11-25');
  expect(good.status).toBe(200);
  expect(((await good.json()) as { total_events: number }).total_events).toBe(1);

  const events = await t.get('/api/v1/events?tenant_id=evil&limit=10');
  expect(events.status).toBe(200);
  const stored = ((await events.json()) as { events: Record<string, unknown>[] }).events;
  const byName = new Map(stored.map((e) => [e.name, e]));
  expect(byName.get(REPLACEMENT)).toMatchObject({
    event_id: 'p1',
    path: `/${REPLACEMENT}`,
    properties: { [`k${REPLACEMENT}`]: [`x${REPLACEMENT}y`, { deep: REPLACEMENT }] },
  });
  // Paired surrogates and an escaped backslash followed by "ud800" are kept as they were.
  expect(byName.has('\ud83d\ude00 a\\ud800b')).toBe(true);

  // The log flushes to segments and reads back the same after a restart.
  expect((await t.engine.store.flusher.flush()).rows).toBe(3);
  await t.restart();
  expect(await t.count('evil')).toBe(2);
  expect(await t.count('good')).toBe(1);
});

test('property keys that would become one key as U+FFFD are refused, never merged', async () => {
  const res = await t.post(
    '/api/v1/events/batch',
    '{"events":[{"name":"x","properties":{"\\ud800":1,"\\ud801":2}},' +
      '{"name":"y","properties":{"n":[{"\\udc00":"a","\\ufffd":"b"}]}},' +
      '{"name":"z","properties":{"\\ud800":1,"k":{"\\ud800":2}}}]}',
  );
  expect(res.status).toBe(422);
  const why =
    'differ only in lone UTF-16 surrogates, which are stored as U+FFFD: they would become one key';
  expect(await res.json()).toEqual({
    detail: [
      {
        loc: ['body', 'events', 0, 'properties'],
        msg: `properties has keys that ${why}`,
        type: 'string_unicode',
      },
      {
        loc: ['body', 'events', 1, 'properties', 'n', 0],
        msg: `properties.n.0 has keys that ${why}`,
        type: 'string_unicode',
      },
    ],
  });
  expect(await t.count()).toBe(0);
});

test('an event_id with a lone surrogate is refused, never repaired into another id', async () => {
  const res = await t.post('/api/v1/events', '{"event_id":"\\ud800","name":"x"}');
  expect(res.status).toBe(422);
  expect(await res.json()).toEqual({
    detail: [
      {
        loc: ['body', 'event_id'],
        msg: 'event_id must be well-formed Unicode (it holds a lone UTF-16 surrogate)',
        type: 'string_unicode',
      },
    ],
  });
  expect(await t.count()).toBe(0);
});

test('a "__proto__" property is stored like any other key, also when text is repaired', async () => {
  // Raw bodies: an object literal's "__proto__" would be its prototype, not a key.
  const repaired = '{"event_id":"r","name":"x","properties":{"__proto__":{"a":1},"k":"\\ud800"}}';
  const asSent = '{"event_id":"s","name":"x","properties":{"__proto__":{"a":1},"k":"v"}}';
  for (const raw of [repaired, asSent]) {
    expect((await t.post('/api/v1/events', raw)).status).toBe(202);
  }
  const propertiesOf = async (id: string) => {
    const event = (await (await t.get(`/api/v1/events/${id}`)).json()) as Record<string, unknown>;
    return Object.entries(event.properties as object);
  };
  expect(await propertiesOf('r')).toEqual([
    ['__proto__', { a: 1 }],
    ['k', REPLACEMENT],
  ]);
  expect(await propertiesOf('s')).toEqual([
    ['__proto__', { a: 1 }],
    ['k', 'v'],
  ]);
});
