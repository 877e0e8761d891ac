// Fitting an SDK event's properties into the unified event's limits (core/properties.ts): the
// order values are cut in, ties, the key bound, the `$posthog` bag, the marker's own size, and
// that properties within the limits are never touched.

import { describe, expect, test } from 'bun:test';
import {
  CUT_PROPERTIES_KEY,
  eventLimits,
  fitProperties,
  normalizeEvent,
  type Properties,
  propertiesFit,
  propertyFitLimits,
  type RequestContext,
} from '../../src/core/index.ts';
import { seededRandom } from '../helpers/random.ts';

const NONE = { keep: new Set<string>() };
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const { propertiesBytesMax: BYTES_MAX, propertiesKeysMax: KEYS_MAX } = eventLimits;

describe('fitProperties', () => {
  test('properties within the limits are returned untouched, the same object', () => {
    const exact = { blob: 'x'.repeat(BYTES_MAX - bytesOf({ blob: '' })) };
    expect(bytesOf(exact)).toBe(BYTES_MAX);
    const keys = Object.fromEntries(Array.from({ length: KEYS_MAX }, (_, i) => [`k${i}`, i]));
    const mine = { [CUT_PROPERTIES_KEY]: ['mine'], a: 1 };
    for (const properties of [exact, keys, mine, {}]) {
      const json = JSON.stringify(properties);
      const fitted = fitProperties(properties, NONE);
      expect(fitted.properties).toBe(properties);
      expect(fitted.cut).toEqual([]);
      expect(JSON.stringify(fitted.properties)).toBe(json);
    }
  });

  test('over 8 KB: the largest values go first, only until the rest fits', () => {
    const properties = {
      order_id: 'o_1093',
      products: Array.from({ length: 200 }, (_, i) => ({ sku: `sku-${i}`, name: 'Mug', qty: 1 })),
      notes: 'n'.repeat(3000),
      coupon: 'c'.repeat(6000),
    };
    const fitted = fitProperties(properties, NONE);
    // products (a value too large alone: dropped whole, never trimmed inside), then coupon;
    // notes is kept, since the rest fits once those two are gone.
    expect(fitted.cut).toEqual(['products', 'coupon']);
    expect(fitted.properties).toEqual({
      order_id: 'o_1093',
      notes: 'n'.repeat(3000),
      [CUT_PROPERTIES_KEY]: ['products', 'coupon'],
    });
    expect(properties.products).toHaveLength(200); // the input is not changed
  });

  test('ties are cut in name order, whatever order the keys were sent in', () => {
    const value = 'v'.repeat(3000);
    const sent = { c: value, a: value, b: value, d: value };
    const fitted = fitProperties(sent, NONE);
    expect(fitted.cut).toEqual(['a', 'b']);
    const reversed = fitProperties({ d: value, b: value, a: value, c: value }, NONE);
    expect(reversed.cut).toEqual(['a', 'b']);
    // What is left keeps the order it was sent in, the marker last.
    expect(Object.keys(fitted.properties)).toEqual(['c', 'd', CUT_PROPERTIES_KEY]);
  });

  test('the size is that of "key":value, so a long key counts', () => {
    const fitted = fitProperties({ ['k'.repeat(4300)]: 1, short: 's'.repeat(4000) }, NONE);
    expect(fitted.cut).toEqual(['k'.repeat(propertyFitLimits.cutNameCharsMax)]);
    expect(fitted.properties).toMatchObject({ short: 's'.repeat(4000) });
  });

  test('over 64 keys: keys go, largest first, until 63 are left beside the marker', () => {
    const properties: Properties = {};
    for (let i = 0; i < 100; i++) properties[`k${String(i).padStart(3, '0')}`] = 'x'.repeat(i);
    properties.utm_source = 'x'.repeat(500); // the largest, but a campaign key: kept
    const fitted = fitProperties(properties, NONE);
    expect(Object.keys(fitted.properties)).toHaveLength(KEYS_MAX);
    expect(fitted.properties.utm_source).toBe('x'.repeat(500));
    // 38 cut, k099 down to k062; the marker lists 15 names and counts the rest.
    const listed = propertyFitLimits.cutNamesListedMax;
    const marker = fitted.properties[CUT_PROPERTIES_KEY] as string[];
    expect(marker).toHaveLength(listed);
    expect(marker.slice(0, 3)).toEqual(['k099', 'k098', 'k097']);
    expect(marker.at(-1)).toBe(`+${38 - (listed - 1)} more`);
    expect(fitted.properties.k061).toBe('x'.repeat(61));
    expect(fitted.properties.k062).toBeUndefined();
  });

  test("the caller's keys, campaign keys and the bag go last", () => {
    const keep = { keep: new Set(['$set']) };
    const fitted = fitProperties(
      {
        $set: { bio: 'b'.repeat(5500) },
        utm_campaign: 'u'.repeat(3000),
        plan: 'p'.repeat(10),
        $posthog: { $lib: 'l'.repeat(50) },
      },
      keep,
    );
    // plan and the bag's entry are not enough: then the largest of the kept keys goes.
    expect(fitted.cut).toEqual(['$posthog.$lib', 'plan', '$set']);
    expect(fitted.properties).toEqual({
      utm_campaign: 'u'.repeat(3000),
      $posthog: {},
      [CUT_PROPERTIES_KEY]: ['$posthog.$lib', 'plan', '$set'],
    });
  });

  test("the $posthog bag is trimmed entry by entry among the event's values", () => {
    const frames = Array.from({ length: 300 }, (_, i) => ({ fn: `handler${i}`, line: i }));
    const properties = {
      plan: 'pro',
      note: 'n'.repeat(900),
      $set: { email: 'ada@example.com' },
      $posthog: {
        $lib: 'posthog-node',
        $exception_list: [{ type: 'Error', stacktrace: { frames } }],
        $elements_chain: 'e'.repeat(1000),
      },
    };
    const fitted = fitProperties(properties, { keep: new Set(['$set']) });
    expect(fitted.cut).toEqual(['$posthog.$exception_list']);
    expect(fitted.properties).toEqual({
      plan: 'pro',
      note: 'n'.repeat(900),
      $set: { email: 'ada@example.com' },
      $posthog: { $lib: 'posthog-node', $elements_chain: 'e'.repeat(1000) },
      [CUT_PROPERTIES_KEY]: ['$posthog.$exception_list'],
    });
  });

  test('the marker counts in the limit: a cut that fits without it is not enough', () => {
    // Dropping `a` alone leaves the rest 10 bytes under the limit, which the marker's own
    // `,"$tally_cut":["a"]` does not fit in: the next largest (b1, first of its ties) goes too.
    const rest: Properties = {};
    for (let i = 1; i <= 8; i++) rest[`b${i}`] = 'b'.repeat(990);
    rest.pad = 'p'.repeat(BYTES_MAX - 10 - bytesOf({ ...rest, pad: '' }));
    expect(bytesOf(rest)).toBe(BYTES_MAX - 10);
    expect(bytesOf({ ...rest, [CUT_PROPERTIES_KEY]: ['a'] })).toBeGreaterThan(BYTES_MAX);
    const fitted = fitProperties({ a: 'a'.repeat(5000), ...rest }, NONE);
    expect(fitted.cut).toEqual(['a', 'b1']);
    const { b1: _, ...left } = rest;
    expect(fitted.properties).toEqual({ ...left, [CUT_PROPERTIES_KEY]: ['a', 'b1'] });
  });

  test('the marker itself is bounded: long names are cut, and it always fits', () => {
    // 200 keys of 100 control characters each (6 bytes a character once serialized).
    const properties: Properties = {};
    for (let i = 0; i < 200; i++) properties[`${'\u0001'.repeat(100)}${i}`] = i;
    const fitted = fitProperties(properties, NONE);
    expect(propertiesFit(fitted.properties)).toBe(true);
    const marker = fitted.properties[CUT_PROPERTIES_KEY] as string[];
    expect(marker).toHaveLength(propertyFitLimits.cutNamesListedMax);
    for (const name of marker.slice(0, -1)) {
      expect(name).toBe('\u0001'.repeat(propertyFitLimits.cutNameCharsMax));
    }
    expect(bytesOf(marker)).toBeLessThan(BYTES_MAX);
  });

  test('a marker the client sent is replaced when properties are cut', () => {
    const fitted = fitProperties({ [CUT_PROPERTIES_KEY]: ['forged'], big: 'x'.repeat(9000) }, NONE);
    expect(fitted.properties).toEqual({ [CUT_PROPERTIES_KEY]: ['big'] });
  });

  test('a "__proto__" key stays a key', () => {
    const properties = JSON.parse(`{"__proto__":{"x":1},"big":"${'x'.repeat(9000)}"}`);
    const fitted = fitProperties(properties, NONE);
    expect(Object.keys(fitted.properties)).toEqual(['__proto__', CUT_PROPERTIES_KEY]);
    expect(Object.getPrototypeOf(fitted.properties)).toBe(Object.prototype);
  });

  test('a `$posthog` bag is read only as an own property, never through the prototype', () => {
    const inherited = Object.create({ $posthog: { a: 'x'.repeat(8000) } }) as Properties;
    inherited.big1 = 'z'.repeat(4500);
    inherited.big2 = 'z'.repeat(4500);
    const fitted = fitProperties(inherited, NONE);
    expect(fitted.cut).toEqual(['big1']);
    expect(fitted.properties).toEqual({ big2: 'z'.repeat(4500), [CUT_PROPERTIES_KEY]: ['big1'] });
  });

  test('random properties always fit, deterministically, and fit again untouched', () => {
    const random = seededRandom(20261127);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
    const texts = ['a', 'é', '中', '\u0001', '"', '😀', '\ud800'];
    for (let round = 0; round < 500; round++) {
      const properties: Properties = {};
      const keys = Math.floor(random() * 150);
      for (let i = 0; i < keys; i++) {
        const text = pick(texts).repeat(Math.floor(random() ** 3 * 4000));
        const key = `${random() < 0.1 ? 'utm_' : ''}${pick(texts).repeat(random() * 90)}${i}`;
        properties[key] = random() < 0.5 ? text : { nested: [text, i] };
      }
      if (random() < 0.5) {
        const bag = Array.from({ length: 60 }, (_, i) => [`$p${i}`, 'z'.repeat(random() * 600)]);
        properties.$posthog = Object.fromEntries(bag);
      }
      const fitted = fitProperties(properties, NONE);
      expect(propertiesFit(fitted.properties)).toBe(true);
      expect(fitProperties(properties, NONE)).toEqual(fitted);
      expect(fitProperties(fitted.properties, NONE).properties).toBe(fitted.properties);
      expect(fitted.cut.length === 0).toBe(fitted.properties === properties);
    }
  });
});

describe('normalizeEvent with fitProperties', () => {
  const ctx: RequestContext = {
    receivedAt: Date.parse('2026-11-25T12:00:00Z'),
    userAgent: null,
    ip: null,
    keepIp: false,
    newEventId: () => 'id-1',
  };
  const fitting: RequestContext = { ...ctx, fitProperties: NONE };
  const big = { plan: 'pro', blob: 'x'.repeat(9000) };

  test('properties over the limits are fitted and the cut reported, not refused', () => {
    const r = normalizeEvent({ name: 'x', properties: big }, 't', fitting, ['body']);
    expect(r).toEqual({
      ok: true,
      event: expect.objectContaining({
        properties: { plan: 'pro', [CUT_PROPERTIES_KEY]: ['blob'] },
      }),
      cut: ['blob'],
    });
    const refused = normalizeEvent({ name: 'x', properties: big }, 't', ctx, ['body']);
    expect(refused.ok).toBe(false);
  });

  test('an event within the limits reports no cut', () => {
    const r = normalizeEvent({ name: 'x', properties: { plan: 'pro' } }, 't', fitting, []);
    expect(r).toEqual({
      ok: true,
      event: expect.objectContaining({ properties: { plan: 'pro' } }),
    });
  });

  test('a number past the double range is refused only when its value is kept', () => {
    const infinite = { plan: 'pro', huge: Number.POSITIVE_INFINITY };
    const kept = normalizeEvent({ name: 'x', properties: infinite }, 't', fitting, []);
    expect(kept.ok ? [] : kept.issues.map((i) => i.type)).toEqual(['finite_number']);
    const cut = { ...infinite, blob: 'x'.repeat(9000), nested: [Number.NEGATIVE_INFINITY] };
    const inCut = normalizeEvent({ name: 'x', properties: cut }, 't', fitting, []);
    expect(inCut.ok).toBe(false); // `huge` is small and kept: still refused
    const onlyCut = { blob: [Number.POSITIVE_INFINITY, 'x'.repeat(9000)], plan: 'pro' };
    const fine = normalizeEvent({ name: 'x', properties: onlyCut }, 't', fitting, []);
    expect(fine.ok && fine.event.properties).toEqual({
      plan: 'pro',
      [CUT_PROPERTIES_KEY]: ['blob'],
    });
  });
});
