// Property conditions of a funnel step or a cohort event (query/step-match.ts): compared as
// the read filters compare (a number 1 and "1" alike, true and "true" alike, a `$` key also
// under `$posthog`), ANDed with the step's name and path, key and value bound, in funnels (by
// person, with a breakdown) and cohort reads, unflushed and flushed events alike.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  type CohortOptions,
  type FunnelOptions,
  type FunnelStep,
  getCohorts,
  getFunnel,
  propertyFiltersOf,
  queryLimits,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T12:00:00Z');
const SEC = 1000;
const DAY = 86_400_000;

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
const props = (properties: Record<string, unknown>) => ({ properties });

const funnel = (options: Partial<FunnelOptions>) =>
  getFunnel(source, 'acme', {
    steps: [{ name: 'visit' }, { name: 'purchase' }],
    windowMs: 14 * DAY,
    by: 'visitor',
    filters: {},
    ...options,
  });
const counts = async (options: Partial<FunnelOptions>) =>
  (await funnel(options)).steps.map((s) => s.count);
/** Who reaches a second step `purchase` with these property conditions, after a visit. */
const purchasesWith = (properties: Record<string, string>) =>
  counts({ steps: [{ name: 'visit' }, { name: 'purchase', properties }] });

describe('a step with property conditions', () => {
  test('typed values compare as the filters compare them, as text', async () => {
    const buyers: [string, Record<string, unknown>][] = [
      ['a', { n: 1 }],
      ['b', { n: '1' }],
      ['c', { n: 1.5 }],
      ['d', { n: '01' }],
      ['e', { flag: true }],
      ['f', { flag: 'true' }],
      ['g', { flag: false }],
      ['h', { $posthog: { $lib: 'web' } }],
      ['i', { $lib: 'node', $posthog: { $lib: 'web' } }],
      ['j', {}],
    ];
    await source.add(
      buyers.flatMap(([who, p]) => [ev(who, 'visit', 0), ev(who, 'purchase', SEC, props(p))]),
    );
    for (const tier of ['unflushed', 'flushed']) {
      expect([tier, await purchasesWith({ n: '1' })]).toEqual([tier, [10, 2]]);
      expect([tier, await purchasesWith({ n: '1.5' })]).toEqual([tier, [10, 1]]);
      expect([tier, await purchasesWith({ flag: 'true' })]).toEqual([tier, [10, 2]]);
      expect([tier, await purchasesWith({ flag: 'false' })]).toEqual([tier, [10, 1]]);
      // A `$` key missing at the top is looked up under $posthog, as the filters look.
      expect([tier, await purchasesWith({ $lib: 'web' })]).toEqual([tier, [10, 1]]);
      expect([tier, await purchasesWith({ $lib: 'node' })]).toEqual([tier, [10, 1]]);
      // Conditions are ANDed.
      expect([tier, await purchasesWith({ n: '1', flag: 'true' })]).toEqual([tier, [10, 0]]);
      await source.flush();
    }
  });

  test('only purchases with plan=pro count; the others are not the step', async () => {
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'purchase', SEC, props({ plan: 'free' })),
      ev('b', 'visit', 0),
      ev('b', 'purchase', SEC, props({ plan: 'pro' })),
      // c buys free, then pro: the later pro purchase is the step.
      ev('c', 'visit', 0),
      ev('c', 'purchase', SEC, props({ plan: 'free' })),
      ev('c', 'purchase', 60 * SEC, props({ plan: 'pro' })),
      // d's pro purchase comes first: not after the visit.
      ev('d', 'purchase', 0, props({ plan: 'pro' })),
      ev('d', 'visit', SEC),
    ]);
    const steps: FunnelStep[] = [
      { name: 'visit' },
      { name: 'purchase', properties: { plan: 'pro' } },
    ];
    const result = await funnel({ steps });
    expect(result.steps.map((s) => [s.count, s.median_seconds_from_previous])).toEqual([
      [4, null],
      [2, 30.5],
    ]);
    expect(result.steps[1]?.match).toEqual({ name: 'purchase', properties: { plan: 'pro' } });
    // Without the condition, every purchase after a visit counts.
    expect(await counts({})).toEqual([4, 3]);
    // A condition on step 1 picks who enters.
    const proFirst = [{ name: 'purchase', properties: { plan: 'pro' } }, { name: 'visit' }];
    expect(await counts({ steps: proFirst })).toEqual([3, 1]);
  });

  test('by person, with a breakdown of the step-1 event', async () => {
    const view = (fields: Partial<StoredEvent>) =>
      makeEvent({ name: 'page_view', path: '/pricing', timestamp: T, ...fields });
    const signup = (fields: Partial<StoredEvent>, plan: string) =>
      makeEvent({ name: 'signup', timestamp: T + SEC, ...props({ plan }), ...fields });
    const add = () =>
      source.add([
        // Anonymous views on Chrome, then sign-ups linking them: a1 to u1 (pro), a2 to u2.
        view({ anonymous_id: 'a1', visitor_id: 'a1', browser: 'Chrome' }),
        signup({ anonymous_id: 'a1', user_id: 'u1', visitor_id: 'u1' }, 'pro'),
        view({ anonymous_id: 'a2', visitor_id: 'a2', browser: 'Chrome' }),
        signup({ anonymous_id: 'a2', user_id: 'u2', visitor_id: 'u2' }, 'free'),
        // u3 identified throughout, on Safari, signs up pro.
        view({ user_id: 'u3', visitor_id: 'u3', browser: 'Safari' }),
        signup({ user_id: 'u3', visitor_id: 'u3' }, 'pro'),
      ]);
    await add();
    const steps = [{ path: '/pricing' }, { name: 'signup', properties: { plan: 'pro' } }];
    const read = async () => {
      const result = await funnel({ steps, by: 'person', breakdown: { column: 'browser' } });
      const rows = (result.breakdowns ?? []).map((b) => [b.value, b.steps.map((s) => s.count)]);
      return [result.steps.map((s) => s.count), rows];
    };
    const expected = [
      [3, 2],
      [
        ['Chrome', [2, 1]],
        ['Safari', [1, 1]],
      ],
    ];
    expect(await read()).toEqual(expected);
    await source.flush();
    expect(await read()).toEqual(expected);
    // By visitor the anonymous views are other visitors than the sign-ups.
    expect(await counts({ steps })).toEqual([3, 1]);
  });

  test('keys and values are bound: no injection, any character matches as itself', async () => {
    const key = `k') = '' OR true --"/~0~1[$.*]`;
    const value = `' OR '1'='1`;
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'purchase', SEC, props({ [key]: value })),
      ev('b', 'visit', 0),
      ev('b', 'purchase', SEC, props({ plan: 'pro' })),
    ]);
    expect(await purchasesWith({ [key]: value })).toEqual([2, 1]);
    expect(await purchasesWith({ plan: value })).toEqual([2, 0]);
    expect(await purchasesWith({ "plan') OR true --": 'x' })).toEqual([2, 0]);
    expect(await purchasesWith({ "plan' OR '1'='1": 'pro' })).toEqual([2, 0]);
  });
  test('a key named __proto__ filters the read as it conditions a step', async () => {
    // JSON.parse keeps "__proto__" as a key like any other, so events are stored with it.
    const proto = JSON.parse('{"__proto__":"x"}') as Record<string, unknown>;
    await source.add([
      ev('a', 'visit', 0, props(proto)),
      ev('a', 'purchase', SEC, props(proto)),
      ev('b', 'visit', 0),
      ev('b', 'purchase', SEC, props({ plan: 'pro' })),
    ]);
    const condition = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    expect(await purchasesWith(condition)).toEqual([2, 1]);
    // The same key as a read filter (`property.__proto__=x`, on every step) keeps a's events.
    const properties = propertyFiltersOf('http://localhost/api/v1/funnel?property.__proto__=x');
    expect(Object.entries(properties)).toEqual([['__proto__', 'x']]);
    expect(await counts({ filters: { properties } })).toEqual([1, 1]);
  });

  test('a read combines at most propertyFiltersMax property filters, as a step does', () => {
    const max = queryLimits.propertyFiltersMax;
    expect(max).toBe(queryLimits.stepPropertiesMax);
    const url = (n: number) =>
      `http://localhost/api/v1/stats?${Array.from({ length: n }, (_, i) => `property.k${i}=v`).join('&')}`;
    expect(Object.keys(propertyFiltersOf(url(max)))).toHaveLength(max);
    expect(() => propertyFiltersOf(url(max + 1))).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ msg: `at most ${max} property filters may be combined` }),
        ],
      }),
    );
  });
});

describe('a cohort event with property conditions', () => {
  const ms = (iso: string) => Date.parse(iso);
  const at = (who: string, name: string, iso: string, p: Record<string, unknown> = {}) =>
    makeEvent({ user_id: who, visitor_id: who, name, timestamp: ms(iso), ...props(p) });
  const cohorts = async (options: Partial<CohortOptions>) =>
    (
      await getCohorts(source, 'acme', {
        startEvent: { name: 'purchase' },
        returnEvent: 'any',
        kind: 'recurring',
        by: 'visitor',
        period: 'day',
        tz: 'UTC',
        periods: 3,
        nowMs: ms('2027-01-01T00:00:00Z'),
        filters: {},
        fromMs: ms('2026-03-01T00:00:00Z'),
        toMs: ms('2026-03-03T00:00:00Z'),
        ...options,
      })
    ).cohorts.map((c) => c.returned);

  test('on its start or its return event, by person, unflushed and flushed', async () => {
    await source.add([
      at('a', 'purchase', '2026-03-01T10:00:00Z', { plan: 'pro' }),
      at('a', 'open', '2026-03-02T10:00:00Z', { plan: 'pro' }),
      at('b', 'purchase', '2026-03-01T10:00:00Z', { plan: 'free' }),
      at('b', 'open', '2026-03-02T10:00:00Z', { plan: 'free' }),
      // c's anonymous pro purchase, then the login linking it to user c.
      makeEvent({
        name: 'purchase',
        anonymous_id: 'anon-c',
        visitor_id: 'anon-c',
        timestamp: ms('2026-03-01T11:00:00Z'),
        ...props({ plan: 1 }),
      }),
      makeEvent({
        name: 'login',
        anonymous_id: 'anon-c',
        user_id: 'c',
        visitor_id: 'c',
        timestamp: ms('2026-03-01T12:00:00Z'),
      }),
      at('c', 'open', '2026-03-02T09:00:00Z', { plan: 1 }),
    ]);
    const pro = { name: 'purchase', properties: { plan: 'pro' } };
    const one = { name: 'purchase', properties: { plan: '1' } };
    for (const tier of ['unflushed', 'flushed']) {
      expect([tier, await cohorts({})]).toEqual([tier, [[3, 2], [0]]]);
      expect([tier, await cohorts({ startEvent: pro })]).toEqual([tier, [[1, 1], [0]]]);
      // The number 1 matches "1"; by visitor, anon-c never comes back, by person it does.
      expect([tier, await cohorts({ startEvent: one })]).toEqual([tier, [[1, 0], [0]]]);
      expect([tier, await cohorts({ startEvent: one, by: 'person' })]).toEqual([
        tier,
        [[1, 1], [0]],
      ]);
      // On the return event: only an `open` with plan=free counts as coming back.
      const free = { name: 'open', properties: { plan: 'free' } };
      expect([tier, await cohorts({ returnEvent: free })]).toEqual([tier, [[3, 1], [0]]]);
      expect([tier, await cohorts({ returnEvent: free, by: 'person' })]).toEqual([
        tier,
        [[3, 1], [0]],
      ]);
      await source.flush();
    }
  });
});
