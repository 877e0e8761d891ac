// Every read that presents stored events (an event, the event and metric lists, an export, the
// offset-paged listing of the compatibility APIs) reads a row as one JSON text DuckDB writes
// (event-rows.ts): each field must come back as it was stored, from the hot tier and from a
// segment alike, nulls, extremes and awkward properties included.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { EPOCH_MS_MIN, presentEvent, type StoredEvent } from '../../src/core/index.ts';
import {
  exportEventPages,
  getEvent,
  getMetric,
  listEventPage,
  listEvents,
  listMetrics,
} from '../../src/query/index.ts';
import { rowsOnly } from '../helpers/export-pages.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-04-01T12:00:00Z');

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

/** Events with every field null, every field set, extremes, and properties of each shape. */
function events(): StoredEvent[] {
  const every = {
    user_id: 'u-1',
    anonymous_id: 'anon "quoted"',
    session_id: 's\\1',
    source: 'web',
    path: '/a?b=1&c=é',
    referrer: 'https://example.com/\u2028',
    url: 'https://x.test/a?b=1',
    user_agent: 'Mozilla/5.0 \u0000 nul',
    ip: '2001:db8::1',
    country: 'DE',
    is_bot: true,
    os: '',
    browser: 'Other',
    device: 'bot',
  };
  const deep = { a: { b: { c: [1, 'x', null, { d: true }], e: -0.5e-300 } }, '': 'empty key' };
  return [
    makeEvent({ event_id: 'nulls', timestamp: T }),
    makeEvent({ event_id: 'every', timestamp: T - 1, received_at: T + 5, ...every }),
    makeEvent({ event_id: 'year0', timestamp: EPOCH_MS_MIN, received_at: T, value: 0 }),
    makeEvent({ event_id: 'pre1970', timestamp: -1, duration: 0, value: -1e292 }),
    makeEvent({
      event_id: 'huge',
      timestamp: T - 2,
      duration: 1.7976931348623157e308,
      value: 1e292,
    }),
    makeEvent({ event_id: 'tiny', timestamp: T - 3, duration: 5e-324, value: -5e-324 }),
    makeEvent({ event_id: 'ints', timestamp: T - 4, duration: 2 ** 53, value: -(2 ** 53) + 1 }),
    makeEvent({ event_id: 'zero', timestamp: T - 8, duration: -0, value: -0 }),
    makeEvent({ event_id: 'deep', timestamp: T - 5, properties: deep, value: 1.5 }),
    makeEvent({ event_id: 'empty', timestamp: T - 6, properties: {} }),
    makeEvent({
      event_id: 'numbers',
      timestamp: T - 7,
      properties: { big: 1.2345678901234568e22, neg: -1e-7, n: 100, f: 0.1 + 0.2 },
    }),
  ];
}

/** Stored events whose properties are not an object (no ingest path stores one): none shown. */
function oddProperties(): StoredEvent[] {
  const odd = [[1, 2], 'text', '{"a":1}', 5, true];
  return odd.map((p, i) =>
    makeEvent({
      event_id: `odd${i}`,
      timestamp: T - 100 - i,
      properties: p as unknown as StoredEvent['properties'],
    }),
  );
}

async function store(all: StoredEvent[]): Promise<void> {
  // Half flushed to a segment, half in the hot tier.
  await source.add(all.filter((_, i) => i % 2 === 0));
  await source.flush();
  await source.add(all.filter((_, i) => i % 2 === 1));
}

test('every read presents each stored field as it was stored, hot or flushed', async () => {
  const all = events();
  await store(all);
  const expected = new Map(all.map((e) => [e.event_id, presentEvent(e)]));
  for (const e of all)
    expect(await getEvent(source, 'acme', e.event_id)).toEqual(
      expected.get(e.event_id) as Record<string, unknown>,
    );
  const listed = await listEvents(source, 'acme', { limit: 1000, nowMs: T });
  expect(listed.events).toHaveLength(all.length);
  for (const e of listed.events)
    expect(e).toEqual(expected.get(String(e.event_id)) as Record<string, unknown>);
  const exported: Record<string, unknown>[] = [];
  for await (const page of exportEventPages(source, 'acme', {}, undefined, rowsOnly(3)))
    exported.push(...page);
  expect(exported).toHaveLength(all.length);
  for (const e of exported)
    expect(e).toEqual(expected.get(String(e.event_id)) as Record<string, unknown>);
  const paged = await listEventPage(source, 'acme', { page: 1, pageSize: 100 });
  expect(paged.total).toBe(all.length);
  const stored = new Map(all.map((e) => [e.event_id, e]));
  for (const e of paged.items) expect(e).toEqual(stored.get(e.event_id) as StoredEvent);
  const valued = all.filter((e) => e.value !== null);
  const metrics = await listMetrics(source, 'acme', { limit: 1000, nowMs: T });
  expect(metrics.metrics.map((m) => [m.id, m.value, m.tags])).toEqual(
    [...valued]
      .sort((a, b) => b.timestamp - a.timestamp)
      .map((e) => [e.event_id, e.value, e.properties ?? {}]),
  );
  for (const e of valued) {
    const metric = await getMetric(source, 'acme', e.event_id);
    expect(metric?.value).toBe(e.value as number);
    expect(Object.is(metric?.value, e.value)).toBe(true);
  }
});

test('properties stored as something other than an object are shown as none', async () => {
  const odd = oddProperties();
  await store(odd);
  for (const e of odd) {
    const shown = await getEvent(source, 'acme', e.event_id);
    expect({ id: e.event_id, properties: shown?.properties }).toEqual({
      id: e.event_id,
      properties: null,
    });
  }
});
