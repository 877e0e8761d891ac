import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  type FunnelBreakdownResult,
  type FunnelOptions,
  getFunnel,
  parseFunnelBreakdown,
  queryLimits,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T12:00:00Z');
const SEC = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

/** An event of `who` (its user and visitor id) at T + `offsetMs`. */
const ev = (who: string, name: string, offsetMs: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ user_id: who, visitor_id: who, name, timestamp: T + offsetMs, ...fields });

const SIGNUP_FLOW = [{ name: 'visit' }, { name: 'signup' }, { name: 'purchase' }];

const funnel = (options: Partial<FunnelOptions> = {}) =>
  getFunnel(source, 'acme', {
    steps: SIGNUP_FLOW,
    windowMs: 14 * DAY,
    by: 'visitor',
    filters: {},
    ...options,
  });

/** Each breakdown entry as [value, counts per step] (the folded one's value "<other n>"). */
const table = (breakdowns: FunnelBreakdownResult[] | undefined) =>
  (breakdowns ?? []).map((b) => [
    b.other ? `<other ${b.folded_values}>` : b.value,
    b.steps.map((s) => s.count),
  ]);

const BROWSER = { column: 'browser' } as const;

describe('getFunnel with a breakdown', () => {
  test('by browser: the counting entry’s step-1 value, each actor once', async () => {
    await source.add([
      // a, b: Chrome, reaching 3 and 2.
      ev('a', 'visit', 0, { browser: 'Chrome' }),
      ev('a', 'signup', 10 * SEC),
      ev('a', 'purchase', 70 * SEC),
      ev('b', 'visit', 0, { browser: 'Chrome' }),
      ev('b', 'signup', 30 * SEC),
      // c: Firefox, 1. d: Firefox at step 1, its sign-up on Chrome does not move it.
      ev('c', 'visit', 0, { browser: 'Firefox' }),
      ev('d', 'visit', 0, { browser: 'Firefox' }),
      ev('d', 'signup', 50 * SEC, { browser: 'Chrome' }),
      // e: Safari, 3.
      ev('e', 'visit', 0, { browser: 'Safari' }),
      ev('e', 'signup', SEC),
      ev('e', 'purchase', 2 * SEC),
      // f: an empty browser is no value.
      ev('f', 'visit', 0, { browser: '' }),
      // h: a Chrome entry ran out; the later Firefox entry reached further: Firefox.
      ev('h', 'visit', 0, { browser: 'Chrome' }),
      ev('h', 'visit', 15 * DAY, { browser: 'Firefox' }),
      ev('h', 'signup', 15 * DAY + 10 * SEC),
      // i: the Edge entry reached further than the later Chrome one: Edge.
      ev('i', 'visit', 0, { browser: 'Edge' }),
      ev('i', 'signup', 5 * SEC),
      ev('i', 'visit', HOUR, { browser: 'Chrome' }),
      // j: both entries reach step 2 (the second sign-up after the Opera view): the latest.
      ev('j', 'visit', 0, { browser: 'Chrome' }),
      ev('j', 'signup', 5 * SEC),
      ev('j', 'visit', HOUR, { browser: 'Opera' }),
      ev('j', 'signup', HOUR + 5 * SEC),
    ]);
    const result = await funnel({ breakdown: BROWSER });
    expect(table(result.breakdowns)).toEqual([
      ['Firefox', [3, 2, 0]],
      ['Chrome', [2, 2, 1]],
      ['Edge', [1, 1, 0]],
      ['Opera', [1, 1, 0]],
      ['Safari', [1, 1, 1]],
      [null, [1, 0, 0]],
    ]);
    const [firefox, chrome] = result.breakdowns ?? [];
    expect(firefox).toMatchObject({ value: 'Firefox', other: false, entered: 3, completed: 0 });
    expect(firefox?.steps[1]).toMatchObject({
      conversion_from_previous: 2 / 3,
      dropped: 1,
      // d 50 s, h 10 s.
      median_seconds_from_previous: 30,
      avg_seconds_from_previous: 30,
    });
    expect(chrome?.steps[2]?.median_seconds_from_previous).toBe(60);
    expect(firefox && 'folded_values' in firefox).toBe(false);
    // The values add up to the funnel, which is the funnel without a breakdown.
    const { breakdowns, ...overall } = result;
    expect(overall).toEqual(await funnel());
    expect((await funnel()).breakdowns).toBeUndefined();
    for (const [i, step] of overall.steps.entries()) {
      const sum = (breakdowns ?? []).reduce((n, b) => n + (b.steps[i]?.count ?? 0), 0);
      expect(sum).toBe(step.count);
    }
    expect(overall.entered).toBe(9);
  });

  test('by an event property: its text, missing and empty as none', async () => {
    const steps = SIGNUP_FLOW.slice(0, 2);
    await source.add([
      ev('a', 'visit', 0, { properties: { plan: 'pro' } }),
      ev('a', 'signup', SEC),
      ev('b', 'visit', 0, { properties: { plan: 'pro' } }),
      ev('c', 'visit', 0, { properties: { plan: 3 } }),
      ev('c', 'signup', SEC, { properties: { plan: 'pro' } }),
      ev('d', 'visit', 0, { properties: { plan: true } }),
      ev('e', 'visit', 0, { properties: { other: 'x' } }),
      ev('e', 'signup', SEC),
      ev('f', 'visit', 0, { properties: { plan: '' } }),
      ev('g', 'visit', 0, { properties: { plan: null } }),
      ev('h', 'visit', 0, { properties: { $posthog: { $lib: 'web' }, plan: 'free' } }),
    ]);
    const plan = await funnel({ steps, breakdown: { property: 'plan' } });
    expect(table(plan.breakdowns)).toEqual([
      [null, [3, 1]],
      ['pro', [2, 1]],
      ['3', [1, 1]],
      ['free', [1, 0]],
      ['true', [1, 0]],
    ]);
    // A PostHog SDK property kept under $posthog, as group_by finds it.
    const lib = await funnel({ steps, breakdown: { property: '$lib' } });
    expect(table(lib.breakdowns)).toEqual([
      [null, [7, 3]],
      ['web', [1, 0]],
    ]);
    // A value on a later step only is no value (PostHog's first touch takes it: README).
    await source.add([
      ev('z', 'visit', HOUR),
      ev('z', 'signup', HOUR + SEC, { properties: { plan: 'pro' } }),
    ]);
    const filters = { equals: { user_id: 'z' } };
    const later = await funnel({ steps, breakdown: { property: 'plan' }, filters });
    expect(table(later.breakdowns)).toEqual([[null, [1, 1]]]);
  });

  test('past the listed values, the others fold into one entry, last', async () => {
    const max = queryLimits.funnelBreakdownValuesMax;
    const steps = SIGNUP_FLOW.slice(0, 2);
    const events: StoredEvent[] = [];
    // 3 actors of "z", 2 of no source, then one each of s01 … s(max + 2).
    for (const who of ['z1', 'z2', 'z3']) events.push(ev(who, 'visit', 0, { source: 'z' }));
    events.push(ev('n1', 'visit', 0), ev('n2', 'visit', 0), ev('n2', 'signup', SEC));
    const names = Array.from({ length: max + 2 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
    for (const name of names) events.push(ev(name, 'visit', 0, { source: name }));
    // Two of the folded convert.
    events.push(
      ev(names[max - 1] as string, 'signup', SEC),
      ev(names.at(-1) as string, 'signup', SEC),
    );
    await source.add(events);
    const result = await funnel({ steps, breakdown: { column: 'source' } });
    const listed = names.slice(0, max - 2).map((name) => [name, [1, 0]]);
    expect(table(result.breakdowns)).toEqual([
      ['z', [3, 0]],
      [null, [2, 1]],
      ...listed,
      ['<other 4>', [4, 2]],
    ]);
    expect(result.breakdowns?.at(-1)).toMatchObject({
      value: null,
      other: true,
      folded_values: 4,
      entered: 4,
      completed: 2,
    });
    expect(result.entered).toBe(3 + 2 + max + 2);
  });

  test('by person and by user, with the breakdown of the step-1 event', async () => {
    const steps = [{ path: '/pricing' }, { name: 'signup' }];
    const view = (fields: Partial<StoredEvent>) =>
      makeEvent({ name: 'page_view', path: '/pricing', timestamp: T, ...fields });
    const signup = (fields: Partial<StoredEvent>) =>
      makeEvent({ name: 'signup', timestamp: T + SEC, browser: 'Firefox', ...fields });
    await source.add([
      // An anonymous view on Chrome, then the sign-up linking it to u1.
      view({ anonymous_id: 'a1', visitor_id: 'a1', browser: 'Chrome' }),
      signup({ anonymous_id: 'a1', user_id: 'u1', visitor_id: 'u1' }),
      // u2 identified throughout, on Safari.
      view({ user_id: 'u2', visitor_id: 'u2', browser: 'Safari' }),
      signup({ user_id: 'u2', visitor_id: 'u2' }),
    ]);
    const person = await funnel({ steps, by: 'person', breakdown: BROWSER });
    expect(table(person.breakdowns)).toEqual([
      ['Chrome', [1, 1]],
      ['Safari', [1, 1]],
    ]);
    const user = await funnel({ steps, by: 'user', breakdown: BROWSER });
    expect(table(user.breakdowns)).toEqual([['Safari', [1, 1]]]);
  });

  test('unflushed and flushed events alike; nobody entered: no values', async () => {
    const steps = SIGNUP_FLOW.slice(0, 2);
    expect(await funnel({ steps, breakdown: BROWSER })).toMatchObject({
      entered: 0,
      breakdowns: [],
    });
    await source.add([
      ev('a', 'visit', 0, { os: 'iOS' }),
      ev('b', 'visit', 0, { os: 'Android' }),
      ev('c', 'visit', 0, { os: 'iOS' }),
    ]);
    const os = { column: 'os' } as const;
    const hot = await funnel({ steps, breakdown: os });
    expect(table(hot.breakdowns)).toEqual([
      ['iOS', [2, 0]],
      ['Android', [1, 0]],
    ]);
    await source.flush();
    expect(source.segmentsOf('acme').length).toBe(1);
    expect(await funnel({ steps, breakdown: os })).toEqual(hot);
    // A step unflushed after its entry flushed.
    await source.add([ev('b', 'signup', SEC, { os: 'iOS' })]);
    expect(table((await funnel({ steps, breakdown: os })).breakdowns)).toEqual([
      ['iOS', [2, 0]],
      ['Android', [1, 1]],
    ]);
  });
});

describe('parseFunnelBreakdown', () => {
  test('the columns and property:<key>; else a 422 naming them', () => {
    expect(parseFunnelBreakdown(undefined)).toBeUndefined();
    expect(parseFunnelBreakdown('country')).toEqual({ column: 'country' });
    expect(parseFunnelBreakdown('property:plan')).toEqual({ property: 'plan' });
    for (const bad of ['path', 'name', 'property:', 'Browser', '', `property:${'k'.repeat(121)}`]) {
      let caught: unknown;
      try {
        parseFunnelBreakdown(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({
        status: 422,
        issues: [
          {
            loc: ['query', 'breakdown'],
            msg: expect.stringContaining('os, browser, device, country, source or property:<key>'),
          },
        ],
      });
    }
  });
});
