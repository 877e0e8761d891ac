import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { type FunnelOptions, getFunnel } from '../../src/query/index.ts';
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

const funnel = (options: Partial<FunnelOptions> = {}, tenant = 'acme') =>
  getFunnel(source, tenant, {
    steps: SIGNUP_FLOW,
    windowMs: 14 * DAY,
    by: 'visitor',
    filters: {},
    ...options,
  });

const counts = async (options: Partial<FunnelOptions> = {}, tenant = 'acme') =>
  (await funnel(options, tenant)).steps.map((s) => s.count);

describe('getFunnel', () => {
  test('counts each actor at its furthest step, in order only', async () => {
    await source.add([
      // a: all three; b: two; c: the first only.
      ev('a', 'visit', 0),
      ev('a', 'signup', 10 * SEC),
      ev('a', 'purchase', 70 * SEC),
      ev('b', 'visit', 0),
      ev('b', 'signup', 30 * SEC),
      ev('c', 'visit', 0),
      // d never enters: its later steps alone count nothing.
      ev('d', 'signup', 0),
      ev('d', 'purchase', SEC),
      // e: purchase before signup, so step 3 is not reached after step 2.
      ev('e', 'visit', 0),
      ev('e', 'purchase', SEC),
      ev('e', 'signup', 50 * SEC),
      // f: all backwards: enters, nothing after.
      ev('f', 'purchase', 0),
      ev('f', 'signup', SEC),
      ev('f', 'visit', 2 * SEC),
    ]);
    const result = await funnel();
    expect(result).toEqual({
      entered: 5,
      completed: 1,
      steps: [
        {
          step: 1,
          match: { name: 'visit' },
          count: 5,
          conversion_from_previous: 1,
          conversion_from_start: 1,
          dropped: 0,
          median_seconds_from_previous: null,
          avg_seconds_from_previous: null,
        },
        {
          step: 2,
          match: { name: 'signup' },
          count: 3,
          conversion_from_previous: 3 / 5,
          conversion_from_start: 3 / 5,
          dropped: 2,
          // 10, 30 and 50 seconds.
          median_seconds_from_previous: 30,
          avg_seconds_from_previous: 30,
        },
        {
          step: 3,
          match: { name: 'purchase' },
          count: 1,
          conversion_from_previous: 1 / 3,
          conversion_from_start: 1 / 5,
          dropped: 2,
          median_seconds_from_previous: 60,
          avg_seconds_from_previous: 60,
        },
      ],
    });
  });

  test('a step not reached stops the chain, also over thousands of entries', async () => {
    // Over a few thousand entries (here 6,000) DuckDB's ASOF join matches a NULL inequality
    // key with the first row of the actor's partition: an entry that missed step 2 would then
    // "reach" step 3 through the actor's first purchase, one before the entry.
    const actors = Array.from({ length: 3000 }, (_, i) => `a${i}`);
    await source.add(
      actors.flatMap((who) => [
        ev(who, 'purchase', 0),
        ev(who, 'visit', SEC),
        ev(who, 'purchase', 2 * SEC),
      ]),
    );
    // Half of them sign up: they, and only they, go on to step 3.
    await source.add(actors.filter((_, i) => i % 2 === 0).map((who) => ev(who, 'signup', 1500)));
    // A second entry, with nothing after it.
    await source.add(actors.map((who) => ev(who, 'visit', 5 * SEC)));
    expect(await counts()).toEqual([3000, 1500, 1500]);
  });

  test('nobody entered: zeros, null times', async () => {
    await source.add([ev('a', 'signup', 0)]);
    const result = await funnel();
    expect(result.entered).toBe(0);
    expect(result.steps[1]).toMatchObject({
      count: 0,
      conversion_from_previous: 0,
      conversion_from_start: 0,
      dropped: 0,
      median_seconds_from_previous: null,
    });
  });

  test('the window counts from the step-1 event and includes its last millisecond', async () => {
    await source.add([
      // on the edge: step 3 exactly an hour after step 1.
      ev('edge', 'visit', 0),
      ev('edge', 'signup', 30 * 60 * SEC),
      ev('edge', 'purchase', HOUR),
      // a millisecond past it: step 3 is out, even though it is soon after step 2.
      ev('late', 'visit', 0),
      ev('late', 'signup', HOUR - SEC),
      ev('late', 'purchase', HOUR + 1),
      // step 2 past the window: nothing after counts either.
      ev('slow', 'visit', 0),
      ev('slow', 'signup', HOUR + 1),
      ev('slow', 'purchase', HOUR + 2),
    ]);
    expect(await counts({ windowMs: HOUR })).toEqual([3, 2, 1]);
    expect(await counts({ windowMs: HOUR + 2 })).toEqual([3, 3, 3]);
  });

  test('a later entry converts where an earlier one ran out of time', async () => {
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'visit', 20 * DAY),
      ev('a', 'signup', 21 * DAY),
      ev('a', 'purchase', 22 * DAY),
    ]);
    expect(await counts()).toEqual([1, 1, 1]);
    // Two entries reach step 2: the times are those of the latest (PostHog restarts there).
    await source.add([
      ev('b', 'visit', 0),
      ev('b', 'visit', 10 * SEC),
      ev('b', 'signup', 30 * SEC),
    ]);
    const result = await funnel({ steps: SIGNUP_FLOW.slice(0, 2) });
    expect(result.steps[1]?.count).toBe(2);
    // a: 1 day; b: 20 s from its latest entry.
    expect(result.steps[1]?.median_seconds_from_previous).toBe((DAY / SEC + 20) / 2);
  });

  test('an actor that converted twice reports its latest conversion, not its first', async () => {
    // README: PostHog reports the first path to reach the furthest step (60 s); Tally the
    // latest entry that reached it (300 s). Pinned so the README's comparison stays true.
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'signup', 60 * SEC),
      ev('a', 'visit', 3 * DAY),
      ev('a', 'signup', 3 * DAY + 300 * SEC),
    ]);
    const result = await funnel({ steps: SIGNUP_FLOW.slice(0, 2) });
    expect(result.steps[1]?.count).toBe(1);
    expect(result.steps[1]?.median_seconds_from_previous).toBe(300);
  });

  test('an actor counts once, at its furthest step over all its entries', async () => {
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'signup', SEC),
      ev('a', 'purchase', 2 * SEC),
      ev('a', 'visit', 3 * SEC),
      ev('a', 'visit', 4 * SEC),
    ]);
    const result = await funnel();
    expect(result.steps.map((s) => s.count)).toEqual([1, 1, 1]);
    expect(result.steps[2]?.median_seconds_from_previous).toBe(1);
  });

  test('events of one millisecond convert in event_id order, one event per step', async () => {
    const steps = [{ name: 'signup' }, { name: 'login' }];
    await source.add([
      ev('a', 'signup', 0, { event_id: 'a-1' }),
      ev('a', 'login', 0, { event_id: 'a-2' }),
      ev('b', 'login', 0, { event_id: 'b-1' }),
      ev('b', 'signup', 0, { event_id: 'b-2' }),
    ]);
    expect(await counts({ steps })).toEqual([2, 1]);
    expect(await counts({ steps: [...steps].reverse() })).toEqual([2, 1]);
    // One page view is not two steps; a second one, even in the same millisecond, is.
    const twice = [{ path: '/pricing' }, { path: '/pricing' }];
    await source.add([ev('c', 'page_view', 0, { path: '/pricing' })]);
    expect(await counts({ steps: twice })).toEqual([1, 0]);
    await source.add([ev('c', 'pageview', 0, { path: '/pricing' })]);
    expect(await counts({ steps: twice })).toEqual([1, 1]);
    expect((await funnel({ steps: twice })).steps[1]?.median_seconds_from_previous).toBe(0);
  });

  test('event_id breaks ties in byte order, not in a case-blind one', async () => {
    // README: "events by timestamp, then event_id (byte order)": 'B' (0x42) sorts before 'a'.
    const steps = [{ name: 'signup' }, { name: 'login' }];
    await source.add([
      ev('x', 'login', 0, { event_id: 'a-1' }),
      ev('x', 'signup', 0, { event_id: 'B-2' }),
    ]);
    expect(await counts({ steps })).toEqual([1, 1]);
    expect(await counts({ steps: [...steps].reverse() })).toEqual([1, 0]);
  });

  test('times between steps keep their milliseconds', async () => {
    // README: seconds "milliseconds kept; the median of an even count is the mean of the
    // middle two".
    const steps = [{ name: 'visit' }, { name: 'signup' }];
    await source.add([
      ev('a', 'visit', 0),
      ev('a', 'signup', 1_250),
      ev('b', 'visit', 0),
      ev('b', 'signup', 2_001),
    ]);
    const result = await funnel({ steps });
    expect(result.steps[1]).toMatchObject({
      median_seconds_from_previous: 1.6255,
      avg_seconds_from_previous: 1.6255,
    });
    await source.add([ev('c', 'visit', 0), ev('c', 'signup', 7)]);
    expect((await funnel({ steps })).steps[1]).toMatchObject({
      median_seconds_from_previous: 1.25,
      avg_seconds_from_previous: 1.086,
    });
  });

  test('steps match names, page views of a path (any alias), or both', async () => {
    await source.add([
      ev('a', '$pageview', 0, { path: '/pricing' }),
      ev('a', 'signup', SEC, { path: '/welcome' }),
      ev('b', 'signup', 0, { path: '/pricing' }), // not a page view of /pricing
      ev('b', 'signup', SEC, { path: '/other' }),
      ev('c', 'page', 0, { path: '/pricing' }),
      ev('c', 'signup', SEC, { path: '/other' }),
    ]);
    const pricing = { path: '/pricing' };
    expect(await counts({ steps: [pricing, { name: 'signup' }] })).toEqual([2, 2]);
    expect(await counts({ steps: [pricing, { name: 'signup', path: '/welcome' }] })).toEqual([
      2, 1,
    ]);
    // A page view name matches every page view, as a page view is any of them.
    expect(await counts({ steps: [{ name: 'page_view' }, { name: 'signup' }] })).toEqual([2, 2]);
    expect(
      await counts({ steps: [{ name: 'pageview', path: '/pricing' }, { name: 'signup' }] }),
    ).toEqual([2, 2]);
  });

  test('by user, visitor or session', async () => {
    const steps = [{ name: 'visit' }, { name: 'signup' }];
    await source.add([
      // u1 starts in one session and signs up in another, on another device (visitor).
      makeEvent({ name: 'visit', timestamp: T, user_id: 'u1', visitor_id: 'v1', session_id: 's1' }),
      makeEvent({
        name: 'signup',
        timestamp: T + SEC,
        user_id: 'u1',
        visitor_id: 'v2',
        session_id: 's2',
      }),
      // an anonymous visitor converts in one session; with no user id it is no user.
      makeEvent({ name: 'visit', timestamp: T, visitor_id: 'v3', session_id: 's3' }),
      makeEvent({ name: 'signup', timestamp: T + SEC, visitor_id: 'v3', session_id: 's3' }),
    ]);
    expect(await counts({ steps, by: 'user' })).toEqual([1, 1]);
    expect(await counts({ steps, by: 'visitor' })).toEqual([2, 1]);
    expect(await counts({ steps, by: 'session' })).toEqual([2, 1]);
    await source.add([makeEvent({ name: 'signup', timestamp: T + 2 * SEC, visitor_id: 'v1' })]);
    expect(await counts({ steps, by: 'visitor' })).toEqual([2, 2]);
    expect(await counts({ steps, by: 'session' })).toEqual([2, 1]);
  });

  test('by device: the anonymous id across a sign-up, else the visitor', async () => {
    const steps = [{ path: '/pricing' }, { name: 'signup' }];
    const view = (fields: Partial<StoredEvent>) =>
      makeEvent({ name: 'page_view', path: '/pricing', timestamp: T, ...fields });
    const signup = (fields: Partial<StoredEvent>) =>
      makeEvent({ name: 'signup', timestamp: T + SEC, ...fields });
    await source.add([
      // The browser's anonymous id on both; the sign-up carries the new user id, so its
      // visitor (user_id first) is another one.
      view({ anonymous_id: 'a1', visitor_id: 'a1' }),
      signup({ anonymous_id: 'a1', user_id: 'u1', visitor_id: 'u1' }),
      // No anonymous id: the device is the visitor (here a user id on both).
      view({ user_id: 'u2', visitor_id: 'u2' }),
      signup({ user_id: 'u2', visitor_id: 'u2' }),
      // Another browser signs up as another user: it did not view /pricing.
      signup({ anonymous_id: 'a3', user_id: 'u3', visitor_id: 'u3' }),
    ]);
    expect(await counts({ steps, by: 'device' })).toEqual([2, 2]);
    expect(await counts({ steps, by: 'visitor' })).toEqual([2, 1]);
    expect(await counts({ steps, by: 'user' })).toEqual([1, 1]);
  });

  test('filters apply to every step; bots only when included', async () => {
    await source.add([
      ev('a', 'visit', 0, { os: 'iOS', properties: { plan: 'pro' } }),
      ev('a', 'signup', SEC, { os: 'iOS', properties: { plan: 'pro' } }),
      ev('b', 'visit', 0, { os: 'iOS', properties: { plan: 'pro' } }),
      ev('b', 'signup', SEC, { os: 'Android', properties: { plan: 'pro' } }),
      ev('c', 'visit', 0, { os: 'iOS' }),
      ev('c', 'signup', SEC, { os: 'iOS' }),
      ev('bot', 'visit', 0, { is_bot: true, device: 'bot' }),
      ev('bot', 'signup', SEC, { is_bot: true, device: 'bot' }),
    ]);
    const steps = SIGNUP_FLOW.slice(0, 2);
    expect(await counts({ steps })).toEqual([3, 3]);
    expect(await counts({ steps, filters: { includeBots: true } })).toEqual([4, 4]);
    expect(await counts({ steps, filters: { equals: { os: 'iOS' } } })).toEqual([3, 2]);
    const pro = { equals: { os: 'iOS' }, properties: { plan: 'pro' } };
    expect(await counts({ steps, filters: pro })).toEqual([2, 1]);
  });

  test('entries in the range; later steps up to the window after, past its end', async () => {
    const fromMs = T;
    const toMs = T + DAY;
    await source.add([
      // before the range: no entry, although its signup is in the range.
      ev('early', 'visit', -SEC),
      ev('early', 'signup', SEC),
      // in the range, converting after its end (within the window).
      ev('a', 'visit', DAY - 1),
      ev('a', 'signup', DAY + HOUR),
      ev('a', 'purchase', 10 * DAY),
      // entering at the range's end: not in it.
      ev('late', 'visit', DAY),
      ev('late', 'signup', DAY + SEC),
    ]);
    const result = await funnel({ filters: { fromMs, toMs } });
    expect(result.steps.map((s) => s.count)).toEqual([1, 1, 1]);
    // A window that ends before the purchase.
    expect(await counts({ filters: { fromMs, toMs }, windowMs: 2 * DAY })).toEqual([1, 1, 0]);
  });

  test('reads unflushed events, and the same after a flush; tenants apart', async () => {
    const events = [
      ev('a', 'visit', 0),
      ev('a', 'signup', SEC),
      ev('b', 'visit', 0),
      ev('x', 'visit', 0, { tenant: 'globex' }),
      ev('x', 'signup', SEC, { tenant: 'globex' }),
      ev('x', 'purchase', 2 * SEC, { tenant: 'globex' }),
    ];
    await source.add(events);
    const hot = await funnel();
    expect(hot.steps.map((s) => s.count)).toEqual([2, 1, 0]);
    expect(await counts({}, 'globex')).toEqual([1, 1, 1]);
    await source.flush();
    expect(source.segmentsOf('acme').length).toBe(1);
    expect(await funnel()).toEqual(hot);
    // A later step unflushed after an entry flushed.
    await source.add([ev('b', 'signup', SEC)]);
    expect(await counts()).toEqual([2, 2, 0]);
    expect(await counts({}, 'nobody')).toEqual([0, 0, 0]);
  });

  test('a read whose client went away stops, holding nothing', async () => {
    await source.add([ev('a', 'visit', 0)]);
    const gone = getFunnel(
      source,
      'acme',
      { steps: SIGNUP_FLOW, windowMs: DAY, by: 'visitor', filters: {} },
      AbortSignal.abort(),
    );
    await expect(gone).rejects.toMatchObject({ status: 499, code: 'client_closed' });
    expect(await counts()).toEqual([1, 0, 0]);
  });
});
