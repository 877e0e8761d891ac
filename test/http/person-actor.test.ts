// Funnels and cohorts `by=person` through the real app and store: anonymous events before a
// sign-up and identified ones after it are one person, whichever wire shape linked them (PostHog's
// capture, Segment's Tracking API, the native API); the first link of an anonymous id wins; the
// links come from every event of the tenant (flushed or not, in the read's range or not) and
// never from another tenant's, nor of a generic id ("undefined"); only person reads unpruned.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from '../compat/helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const DAY1 = '2026-11-23T10:00:00.000Z';
const DAY2 = '2026-11-24T10:00:00.000Z';
const DAY3 = '2026-11-25T10:00:00.000Z';
const SIGN_UP = 'step=path:/pricing&step=name:signed_up';

const send = async (events: Json[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};
const flush = () => t.engine.store.flusher.flush();
const funnel = async (query: string, by: string) => {
  const res = await t.getJson<{ steps: { count: number }[]; by: string }>(
    `/api/v1/funnel?${query}&by=${by}`,
  );
  expect(res.by).toBe(by);
  return res.steps.map((s) => s.count);
};
const cohorts = async (query: string, by: string) => {
  const res = await t.getJson<{ cohorts: { returned: number[] }[] }>(
    `/api/v1/cohorts?${query}&by=${by}`,
  );
  return res.cohorts.map((c) => c.returned);
};
const view = (timestamp: string, ids: Json, path = '/pricing') => ({
  name: 'page_view',
  path,
  timestamp,
  ...ids,
});
const signedUp = (timestamp: string, ids: Json) => ({ name: 'signed_up', timestamp, ...ids });

describe('by=person across a sign-up', () => {
  test('PostHog: $identify merges the anonymous distinct id, after a reset() too', async () => {
    const device = '0193b5c4-6f00-7a3b-8c4d-000000000d01';
    // posthog-js after reset(): a new anonymous distinct_id, the old $device_id.
    const sdk = (uuid: string, event: string, at: string, distinct: string, extra: Json) => ({
      uuid,
      event,
      timestamp: at,
      distinct_id: distinct,
      properties: {
        $device_id: device,
        $is_identified: distinct === 'user_42',
        $process_person_profile: distinct === 'user_42',
        ...extra,
      },
    });
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        sdk('view', '$pageview', DAY1, 'anon-2', { $pathname: '/pricing' }),
        sdk('identify', '$identify', DAY2, 'user_42', { $anon_distinct_id: 'anon-2' }),
        sdk('signup', 'signed_up', DAY2, 'user_42', {}),
      ],
    });
    expect(res.status).toBe(200);
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 1]);
    expect(await funnel(SIGN_UP, 'visitor')).toEqual([1, 0]);
    // The device was another anonymous id's before the reset: not the view's.
    expect(await funnel(SIGN_UP, 'device')).toEqual([1, 0]);
  });

  test("Segment: identify's anonymousId and an analytics-node alias's previousId", async () => {
    const message = (messageId: string, type: string, at: string, extra: Json) => ({
      messageId,
      type,
      timestamp: at,
      ...extra,
    });
    const page = { properties: { path: '/pricing' } };
    const res = await t.post('/v1/batch', {
      writeKey: 'wk_acme',
      batch: [
        // analytics.js: anonymous, then identify with both ids; the sign-up sent server-side.
        message('p1', 'page', DAY1, { anonymousId: 'a1', ...page }),
        message('i1', 'identify', DAY2, { anonymousId: 'a1', userId: 'u1' }),
        message('s1', 'track', DAY2, { userId: 'u1', event: 'signed_up' }),
        // analytics-node: alias from the anonymous id, no anonymousId.
        message('p2', 'page', DAY1, { anonymousId: 'a2', ...page }),
        message('l2', 'alias', DAY2, { userId: 'u2', previousId: 'a2' }),
        message('s2', 'track', DAY2, { userId: 'u2', event: 'signed_up' }),
      ],
    });
    expect(res.status).toBe(200);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 2]);
    expect(await funnel(SIGN_UP, 'visitor')).toEqual([2, 0]);
    expect(await funnel(SIGN_UP, 'device')).toEqual([2, 0]);
  });

  test('native: an event with both ids links them; before and after the flush', async () => {
    await send([
      view(DAY1, { anonymous_id: 'n1' }),
      signedUp(DAY2, { user_id: 'nu', anonymous_id: 'n1' }),
      // Only anonymous: another person, who never signed up.
      view(DAY1, { anonymous_id: 'n2' }),
    ]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 1]);
    expect(await funnel(SIGN_UP, 'visitor')).toEqual([2, 0]);
    await flush();
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 1]);
    // A link acknowledged after the flush merges flushed events at once (read your writes).
    await send([{ name: 'login', user_id: 'nv', anonymous_id: 'n2', timestamp: DAY2 }]);
    await send([signedUp(DAY3, { user_id: 'nv' })]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 2]);
    await flush();
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 2]);
    expect(await funnel(SIGN_UP, 'user')).toEqual([0, 0]); // the views carry no user id
  });
});

describe('the links of by=person', () => {
  test('two anonymous devices linked to one user are one person', async () => {
    await send([
      view(DAY1, { anonymous_id: 'phone' }),
      view(DAY1, { anonymous_id: 'laptop' }),
      signedUp(DAY2, { user_id: 'ada', anonymous_id: 'laptop' }),
      { name: 'login', user_id: 'ada', anonymous_id: 'phone', timestamp: DAY3 },
    ]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 1]);
    expect(await funnel(SIGN_UP, 'device')).toEqual([2, 1]);
    await flush();
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 1]);
  });

  test('an anonymous id linked to two users is the first one’s (time, then event_id)', async () => {
    await send([
      // Sent first, but later: the second link.
      { name: 'login', user_id: 'bob', anonymous_id: 'shared', timestamp: DAY3 },
      view(DAY1, { anonymous_id: 'shared' }),
      { name: 'login', user_id: 'ada', anonymous_id: 'shared', timestamp: DAY2 },
      signedUp(DAY3, { user_id: 'bob' }),
      // Of two links of one millisecond, the smaller event_id.
      view(DAY1, { anonymous_id: 'tied' }),
      { event_id: 'b-1', name: 'login', user_id: 'cy', anonymous_id: 'tied', timestamp: DAY2 },
      { event_id: 'a-1', name: 'login', user_id: 'di', anonymous_id: 'tied', timestamp: DAY2 },
      signedUp(DAY3, { user_id: 'cy' }),
    ]);
    // The views are ada's and di's: bob's and cy's sign-ups follow no view of theirs.
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 0]);
    await send([signedUp(DAY3, { user_id: 'ada' }), signedUp(DAY3, { user_id: 'di' })]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 2]);
  });

  test('a generic id (undefined, null, guest …) links no one, as PostHog refuses it', async () => {
    // PostHog's isDistinctIdIllegal: a merge naming such an id on either side is refused.
    const anonymous = ['undefined', '0', 'Guest', '"anonymous"', "'NaN'", ' \t'];
    const users = ['null', 'None', 'EMAIL', "'false'", '[object Object]', ''.padEnd(3)];
    await send([
      ...anonymous.flatMap((id, i) => [
        view(DAY1, { anonymous_id: id }),
        { name: 'login', user_id: `u${i}`, anonymous_id: id, timestamp: DAY2 },
        signedUp(DAY3, { user_id: `u${i}` }),
      ]),
      // A generic user id: the anonymous id is not merged into it either.
      ...users.flatMap((id, i) => [
        view(DAY1, { anonymous_id: `device-${i}` }),
        signedUp(DAY2, { user_id: id, anonymous_id: `device-${i}` }),
      ]),
      // Case matters where PostHog's does: `nan` and `NONE` are ids like any other.
      view(DAY1, { anonymous_id: 'nan' }),
      signedUp(DAY2, { user_id: 'ok', anonymous_id: 'nan' }),
      view(DAY1, { anonymous_id: 'dev' }),
      signedUp(DAY2, { user_id: 'NONE', anonymous_id: 'dev' }),
    ]);
    const views = anonymous.length + users.length + 2;
    expect(await funnel(SIGN_UP, 'person')).toEqual([views, 2]);
    await flush();
    expect(await funnel(SIGN_UP, 'person')).toEqual([views, 2]);
  });

  test('every generic id README lists, in its cases and quotes, links no one', async () => {
    // README: "blank, anonymous, guest, distinctid, distinct_id, id, not_authenticated, email,
    // undefined, true, false in any case, null, none, None, NaN, 0, [object Object] as
    // written, each also in single or double quotes".
    const anyCase = ['anonymous', 'guest', 'distinctid', 'distinct_id', 'id'];
    anyCase.push('not_authenticated', 'email', 'undefined', 'true', 'false');
    const written = ['null', 'none', 'None', 'NaN', '0', '[object Object]'];
    const plain = [
      ...anyCase.flatMap((id) => [id, id.toUpperCase(), id[0]?.toUpperCase() + id.slice(1)]),
      ...written,
    ];
    const ids = [...plain.flatMap((id) => [id, `'${id}'`, `"${id}"`]), ' ', '\t \u00a0'];
    // On the anonymous side (a login pairing it with a user) and on the user side (a sign-up
    // sent with a device's anonymous id): neither merges the device's view into the user. The
    // two sides apart (other paths and names): an unlinked anonymous id and a user id of the
    // same text are one person, as one distinct id is in PostHog.
    await send(
      ids.flatMap((id, i) => [
        view(DAY1, { anonymous_id: id }),
        { name: 'login', user_id: `u${i}`, anonymous_id: id, timestamp: DAY2 },
        signedUp(DAY3, { user_id: `u${i}` }),
        view(DAY1, { anonymous_id: `device-${i}` }, '/docs'),
        { name: 'registered', user_id: id, anonymous_id: `device-${i}`, timestamp: DAY2 },
      ]),
    );
    expect(await funnel(SIGN_UP, 'person')).toEqual([ids.length, 0]);
    expect(await funnel('step=path:/docs&step=name:registered', 'person')).toEqual([ids.length, 0]);
    // The same events with an id of no such kind merge (the check above can fail).
    await send([
      view(DAY1, { anonymous_id: 'nobody-special' }),
      { name: 'login', user_id: 'ok', anonymous_id: 'nobody-special', timestamp: DAY2 },
      signedUp(DAY3, { user_id: 'ok' }),
    ]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([ids.length + 1, 1]);
  });

  test('one hop: a user id is never merged into another, even named as an anonymous id', async () => {
    const res = await t.post('/v1/batch', {
      writeKey: 'wk_acme',
      batch: [
        // old_user viewed as a user; an alias from that user id to another merges nothing.
        { messageId: 'p', type: 'page', userId: 'old_user', properties: { path: '/pricing' } },
        { messageId: 'l', type: 'alias', userId: 'new_user', previousId: 'old_user' },
        { messageId: 's', type: 'track', userId: 'new_user', event: 'signed_up' },
      ].map((m, i) => ({ ...m, timestamp: [DAY1, DAY2, DAY3][i] })),
    });
    expect(res.status).toBe(200);
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 0]);
    // A chain: a1 is u1's, and u1 named as the anonymous id of u2's event moves a1 nowhere.
    await send([
      view(DAY1, { anonymous_id: 'a1' }),
      { name: 'login', user_id: 'u1', anonymous_id: 'a1', timestamp: DAY1 },
      { name: 'login', user_id: 'u2', anonymous_id: 'u1', timestamp: DAY2 },
      signedUp(DAY3, { user_id: 'u2' }),
    ]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 0]);
    await send([signedUp(DAY3, { user_id: 'u1' })]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([2, 1]);
  });

  test("another tenant's link does not merge this tenant's actors", async () => {
    await send([
      view(DAY1, { anonymous_id: 'z' }),
      signedUp(DAY2, { user_id: 'u' }),
      { name: 'login', user_id: 'u', anonymous_id: 'z', timestamp: DAY2, tenant_id: 'globex' },
      view(DAY1, { anonymous_id: 'z', tenant_id: 'globex' }),
      signedUp(DAY2, { user_id: 'u', tenant_id: 'globex' }),
    ]);
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 0]);
    expect(await funnel(`${SIGN_UP}&tenant_id=globex`, 'person')).toEqual([1, 1]);
    await flush();
    expect(await funnel(SIGN_UP, 'person')).toEqual([1, 0]);
    expect(await funnel(`${SIGN_UP}&tenant_id=globex`, 'person')).toEqual([1, 1]);
  });

  test('links outside the range and filters count; the counted events stay in them', async () => {
    await send([
      view(DAY1, { anonymous_id: 'q', properties: { plan: 'pro' } }),
      signedUp(DAY1, { user_id: 'qu', properties: { plan: 'pro' } }),
      // The link: two days after the range read, and kept by no step or filter.
      { name: 'login', user_id: 'qu', anonymous_id: 'q', timestamp: DAY3 },
    ]);
    await flush();
    const query = `${SIGN_UP}&from=2026-11-23&to=2026-11-23&window=1h`;
    expect(await funnel(query, 'person')).toEqual([1, 1]);
    expect(await funnel(`${query}&property.plan=pro`, 'person')).toEqual([1, 1]);
    expect(await funnel(`${query}&property.plan=pro`, 'visitor')).toEqual([1, 0]);
    // The range still holds the step-1 events: none on the link's day.
    expect(await funnel(`${SIGN_UP}&date=2026-11-25`, 'person')).toEqual([0, 0]);
  });
});

describe('cohorts by=person', () => {
  test('a return made anonymously on another device, linked later, counts', async () => {
    await send([
      signedUp(DAY1, { user_id: 'ada', anonymous_id: 'laptop' }),
      // Day 3: back on the phone, anonymously; the phone is linked on the 26th, after `to`.
      view(DAY3, { anonymous_id: 'phone' }, '/docs'),
      { name: 'login', user_id: 'ada', anonymous_id: 'phone', timestamp: '2026-11-26T09:00:00Z' },
    ]);
    const query = 'start=name:signed_up&return=any&from=2026-11-23&to=2026-11-25T12:00:00Z';
    const expected = [[1, 0, 1], [0, 0], [0]];
    expect(await cohorts(query, 'person')).toEqual(expected);
    expect(await cohorts(query, 'device')).toEqual([[1, 0, 0], [0, 0], [0]]);
    expect(await cohorts(query, 'user')).toEqual([[1, 0, 0], [0, 0], [0]]);
    await flush();
    expect(await cohorts(query, 'person')).toEqual(expected);
    expect(await cohorts(`${query}&cohort=first`, 'person')).toEqual(expected);
  });
});

describe('what by=person reads', () => {
  test('every segment for person only: the other actors keep their pruned range', async () => {
    const store = t.engine.store;
    const ranges: unknown[] = [];
    const snapshot = store.snapshot.bind(store);
    store.snapshot = (tenant, range) => {
      ranges.push(range);
      return snapshot(tenant, range);
    };
    const day = '&from=2026-11-24&to=2026-11-24&window=1h';
    const from = Date.parse('2026-11-24T00:00:00Z');
    const to = Date.parse('2026-11-25T00:00:00Z');
    for (const by of ['visitor', 'device', 'user', 'session', 'person']) {
      await funnel(`${SIGN_UP}${day}`, by);
    }
    const pruned = { fromMs: from, toMs: to + 3_600_000 };
    expect(ranges.splice(0)).toEqual([pruned, pruned, pruned, pruned, {}]);
    for (const by of ['visitor', 'device', 'user', 'person']) {
      await cohorts(`start=name:signed_up${day}`, by);
    }
    expect(ranges.splice(0)).toEqual([...Array(3).fill({ fromMs: from, toMs: to }), {}]);
  });
});

describe('by=person is a value of by', () => {
  test('both routes take it and answer it; a bad value names person among the choices', async () => {
    for (const route of ['funnel', 'cohorts']) {
      const res = await t.get(`/api/v1/${route}?${SIGN_UP}&by=people`);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { detail: { loc: string[]; msg: string }[] };
      expect(body.detail[0]?.loc).toEqual(['query', 'by']);
      expect(body.detail[0]?.msg).toContain('person');
    }
  });
});
