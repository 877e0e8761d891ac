// Umami's event data over stored events (query/'s getEventData*): only custom events' own
// properties (not a page view's, not `$` keys), flattened with dots, typed as Umami types
// them, with numbers and dates shown as Umami shows them; hot and flushed events alike.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import {
  getEventDataEvents,
  getEventDataFields,
  getEventDataProperties,
  getEventDataStats,
  getEventDataValues,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-04-01T12:00:00Z');
const SCOPE = { fromMs: T - 3_600_000, toMs: T + 3_600_000, filters: [] };

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
  const event = (name: string, properties: Record<string, unknown>, offsetMs = 0) =>
    makeEvent({ timestamp: T + offsetMs, name, properties });
  await source.add([
    event('page_view', { url: 'https://x.test/', title: 'Home', utm_source: 'news' }),
    event('signup', {
      plan: 'pro',
      seats: 3,
      price: 1.5,
      trial: true,
      at: '2026-03-31T10:45:00Z',
      cart: { total: 9, items: ['a', 'b'] },
      empty: null,
      $title: 'Pricing',
    }),
  ]);
  await source.flush();
  await source.add([event('signup', { plan: 'team', seats: 3 }, 1000)]);
  await source.add([event('signup', { plan: 'late' }, 7_200_000)]);
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

test('events: each custom event property with its type and count', async () => {
  const rows = await getEventDataEvents(source, 'acme', { ...SCOPE, values: false, limit: 500 });
  expect(rows).toEqual([
    { eventName: 'signup', propertyName: 'at', dataType: 4, total: 1 },
    { eventName: 'signup', propertyName: 'cart.items', dataType: 5, total: 1 },
    { eventName: 'signup', propertyName: 'cart.total', dataType: 2, total: 1 },
    { eventName: 'signup', propertyName: 'plan', dataType: 1, total: 2 },
    { eventName: 'signup', propertyName: 'price', dataType: 2, total: 1 },
    { eventName: 'signup', propertyName: 'seats', dataType: 2, total: 2 },
    { eventName: 'signup', propertyName: 'trial', dataType: 3, total: 1 },
  ]);
  const values = await getEventDataEvents(source, 'acme', {
    ...SCOPE,
    eventName: 'signup',
    values: true,
    limit: 500,
  });
  expect(values.find((r) => r.propertyName === 'seats')).toEqual({
    eventName: 'signup',
    propertyName: 'seats',
    dataType: 2,
    propertyValue: '3.0000',
    total: 2,
  });
  expect(values.find((r) => r.propertyName === 'at')?.propertyValue).toBe(
    '2026-03-31T10:45:00.000Z',
  );
  expect(values.find((r) => r.propertyName === 'cart.items')?.propertyValue).toBe('["a","b"]');
});

test("dates as Umami's DATETIME_REGEX reads them; strings kept to 500 characters", async () => {
  await source.add([
    makeEvent({
      timestamp: T,
      name: 'note',
      properties: {
        minutes: '2026-03-31T10:45Z',
        west: '2026-03-31T10:45:00-05:00',
        east: '2026-03-31T10:45:00.250+02:00',
        long: 'x'.repeat(600),
      },
    }),
  ]);
  const rows = await getEventDataEvents(source, 'acme', {
    ...SCOPE,
    eventName: 'note',
    values: true,
    limit: 500,
  });
  expect(rows.map((r) => [r.propertyName, r.dataType, r.propertyValue])).toEqual([
    ['east', 4, '2026-03-31T08:45:00.250Z'],
    ['long', 1, 'x'.repeat(500)],
    ['minutes', 1, '2026-03-31T10:45Z'],
    ['west', 1, '2026-03-31T10:45:00-05:00'],
  ]);
});

test('fields and values: numbers without .0000, dates by their hour', async () => {
  const fields = await getEventDataFields(source, 'acme', { ...SCOPE, limit: 100 });
  expect(fields.slice(0, 2)).toEqual([
    { propertyName: 'cart.items', dataType: 5, value: '["a","b"]', total: 1 },
    { propertyName: 'at', dataType: 4, value: '2026-03-31 10:00:00', total: 1 },
  ]);
  expect(fields).toContainEqual({ propertyName: 'price', dataType: 2, value: '1.5000', total: 1 });
  expect(fields).toContainEqual({ propertyName: 'seats', dataType: 2, value: '3', total: 2 });
  expect(fields).toContainEqual({ propertyName: 'trial', dataType: 3, value: 'true', total: 1 });
  const plans = await getEventDataValues(source, 'acme', {
    ...SCOPE,
    propertyName: 'plan',
    limit: 100,
  });
  expect(plans).toEqual([
    { value: 'pro', total: 1 },
    { value: 'team', total: 1 },
  ]);
});

test('properties and stats', async () => {
  const properties = await getEventDataProperties(source, 'acme', { ...SCOPE, limit: 500 });
  expect(properties.slice(0, 2)).toEqual([
    { eventName: 'signup', propertyName: 'plan', total: 2 },
    { eventName: 'signup', propertyName: 'seats', total: 2 },
  ]);
  expect(properties).toHaveLength(7);
  expect(await getEventDataStats(source, 'acme', SCOPE)).toEqual({
    events: 2,
    properties: 7,
    records: 9,
  });
  const other = await getEventDataStats(source, 'other', SCOPE);
  expect(other).toEqual({ events: 0, properties: 0, records: 0 });
});
