// GET /api/v1/cohorts through the real app and store: events sent through ingest are counted
// before and after a flush, tenants apart, periods in tz, the defaults echoed, and every refusal
// a 422 naming the parameter and the rule. The test clock's now is 2026-11-25T12:00:00Z.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
type Answer = { cohorts: { start: string; size: number; returned: number[] }[] };
const returned = async (query: string) => {
  const res = await t.get(`/api/v1/cohorts?${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Answer).cohorts.map((c) => c.returned);
};
const send = async (events: Record<string, unknown>[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};
const on = (day: number, time = '10:00:00') => `2026-11-${day}T${time}Z`;
const VISITS = 'start=name:visit&from=2026-11-23&to=2026-11-25';

describe('GET /api/v1/cohorts', () => {
  test('counts events not yet flushed, and the same after the flush', async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: on(23) },
      { name: 'visit', user_id: 'a', timestamp: on(24) },
      { name: 'visit', user_id: 'b', timestamp: on(23) },
    ]);
    const status = await json(await t.get('/api/v1/status'));
    expect(status.flushed_through_seq).toBeLessThan(status.last_seq as number);
    const before = await json(await t.get(`/api/v1/cohorts?${VISITS}`));
    expect(before).toEqual({
      cohorts: [
        { start: '2026-11-23T00:00:00+00:00', size: 2, returned: [2, 1, 0] },
        { start: '2026-11-24T00:00:00+00:00', size: 1, returned: [1, 0] },
        { start: '2026-11-25T00:00:00+00:00', size: 0, returned: [0] },
      ],
      period: 'day',
      cohort: 'recurring',
      by: 'visitor',
      periods: 7,
      start: { name: 'visit' },
      return: { name: 'visit' },
      from: '2026-11-23T00:00:00+00:00',
      to: '2026-11-26T00:00:00+00:00',
      tz: 'UTC',
    });
    await t.engine.store.flusher.flush();
    expect(await json(await t.get(`/api/v1/cohorts?${VISITS}`))).toEqual(before);
    // A return acknowledged after the flush counts at once, on top of flushed cohorts.
    await send([{ name: 'visit', user_id: 'b', timestamp: on(25, '11:00:00') }]);
    expect(await returned(VISITS)).toEqual([[2, 1, 1], [1, 0], [1]]);
  });

  test('by default: page views, returning as page views, the last 7 days to now', async () => {
    await send([
      { name: 'page_view', path: '/', user_id: 'a', timestamp: on(19, '00:00:00') },
      { name: '$pageview', path: '/docs', user_id: 'a', timestamp: on(25, '11:59:59') },
      // Before the range, and after now: neither counts.
      { name: 'page_view', user_id: 'b', timestamp: on(18, '23:59:59') },
      { name: 'page_view', user_id: 'b', timestamp: on(25, '12:30:00') },
      { name: 'signup', user_id: 'c', timestamp: on(20) },
    ]);
    const answer = await json(await t.get('/api/v1/cohorts'));
    expect(answer).toMatchObject({
      start: { name: 'page_view' },
      return: { name: 'page_view' },
      periods: 7,
      from: '2026-11-19T00:00:00+00:00',
      to: '2026-11-25T12:00:00+00:00',
    });
    expect((answer as Answer).cohorts.map((c) => c.returned)).toEqual([
      [1, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0],
      [0, 0],
      [1],
    ]);
    // `periods` without `from`: that many periods, ending with today.
    expect(await returned('periods=2')).toEqual([[0, 0], [1]]);
    // `to` without `from`: that many periods, ending with the one `to` ends in (the 20th).
    const before = await json(await t.get('/api/v1/cohorts?periods=2&to=2026-11-20'));
    expect(before).toMatchObject({
      from: '2026-11-19T00:00:00+00:00',
      to: '2026-11-21T00:00:00+00:00',
    });
    expect((before as Answer).cohorts.map((c) => c.returned)).toEqual([[1, 0], [0]]);
  });

  test("another tenant's events never count", async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: on(23), tenant_id: 'globex' },
      { name: 'visit', user_id: 'a', timestamp: on(24), tenant_id: 'globex' },
      { name: 'visit', user_id: 'b', timestamp: on(23) },
    ]);
    expect(await returned(`${VISITS}&tenant_id=globex`)).toEqual([[1, 1, 0], [1, 0], [0]]);
    expect(await returned(VISITS)).toEqual([[1, 0, 0], [0, 0], [0]]);
    expect(await returned(`${VISITS}&tenant_id=initech`)).toEqual([[0, 0, 0], [0, 0], [0]]);
  });

  test('weeks and months at local boundaries of tz', async () => {
    // Monday 2 November 00:30 in Berlin is Sunday 1 November 23:30Z.
    await send([
      { name: 'visit', user_id: 'a', timestamp: '2026-11-01T23:30:00Z' },
      { name: 'visit', user_id: 'a', timestamp: on(10) },
      { name: 'visit', user_id: 'a', timestamp: '2026-10-15T10:00:00Z' },
      // Sunday 1 November 00:30 in Berlin, still Saturday 31 October in UTC.
      { name: 'visit', user_id: 'b', timestamp: '2026-10-31T23:30:00Z' },
      { name: 'visit', user_id: 'b', timestamp: on(20) },
    ]);
    const weeks = 'start=name:visit&period=week&from=2026-10-26&to=2026-11-15';
    const berlin = await json(await t.get(`/api/v1/cohorts?${weeks}&tz=Europe/Berlin`));
    expect(berlin).toMatchObject({
      period: 'week',
      from: '2026-10-26T00:00:00+01:00',
      to: '2026-11-16T00:00:00+01:00',
      tz: 'Europe/Berlin',
    });
    expect((berlin as Answer).cohorts.map((c) => [c.start, c.returned])).toEqual([
      ['2026-10-26T00:00:00+01:00', [1, 0, 0]],
      ['2026-11-02T00:00:00+01:00', [1, 1]],
      ['2026-11-09T00:00:00+01:00', [1]],
    ]);
    expect(await returned(weeks)).toEqual([[2, 0, 1], [0, 0], [1]]);
    const months = 'start=name:visit&period=month&from=2026-10-01&to=2026-11-30';
    expect(await returned(months)).toEqual([[2, 2], [2]]);
    expect(await returned(`${months}&tz=Europe/Berlin`)).toEqual([[1, 1], [2]]);
  });

  test('return, cohort, by, periods, filters and bots from the query string', async () => {
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await send([
      { name: 'signup', user_id: 'a', timestamp: on(20) },
      { name: 'signup', user_id: 'a', timestamp: on(23), source: 'ios' },
      { name: 'login', user_id: 'a', timestamp: on(24), source: 'ios' },
      { name: 'signup', anonymous_id: 'x', user_agent: bot, timestamp: on(23) },
      { name: 'login', anonymous_id: 'x', user_agent: bot, timestamp: on(24) },
    ]);
    const signups = 'start=name:signup&from=2026-11-23&to=2026-11-24';
    expect(await returned(signups)).toEqual([[1, 0], [0]]);
    expect(await returned(`${signups}&return=name:login`)).toEqual([[1, 1], [0]]);
    expect(await returned(`${signups}&return=any&bots=include`)).toEqual([[2, 2], [0]]);
    expect(await returned(`${signups}&return=any&by=user&bots=include`)).toEqual([[1, 1], [0]]);
    // Asking for the bot device asks for bots (README: "unless bots=include (or device=bot)").
    expect(await returned(`${signups}&return=any&device=bot`)).toEqual([[1, 1], [0]]);
    // a signed up first on the 20th, before the range (on no source).
    expect(await returned(`${signups}&return=any&cohort=first`)).toEqual([[0, 0], [0]]);
    expect(await returned(`${signups}&return=any&source=ios`)).toEqual([[1, 1], [0]]);
    expect(await returned(`${signups}&return=any&source=ios&cohort=first`)).toEqual([[1, 1], [0]]);
    expect(await returned(`${signups}&return=any&periods=1`)).toEqual([[1], [0]]);
    expect(await returned(`${signups}&return=name:login,path:/app`)).toEqual([[1, 0], [0]]);
  });

  test('a visitor known by its daily hash alone is a new visitor on another day', async () => {
    // No user_id or anonymous_id: the visitor is a hash under the salt of the day received.
    const browser = { ip: '203.0.113.9', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' };
    const days = 'from=2026-11-24&to=2026-11-25';
    t.clock.set(Date.parse(on(24)));
    await send([{ ...browser, name: 'page_view', timestamp: on(24) }]);
    await send([{ ...browser, name: 'page_view', anonymous_id: 'anon-1', timestamp: on(24) }]);
    t.clock.set(Date.parse(on(25, '12:00:00')));
    await send([{ ...browser, name: 'page_view', timestamp: on(25) }]);
    await send([{ ...browser, name: 'page_view', anonymous_id: 'anon-1', timestamp: on(25) }]);
    expect(await returned(days)).toEqual([[2, 1], [2]]);
  });

  test('by device follows the anonymous id across a sign-up; by visitor does not', async () => {
    // A browser views /pricing on the 23rd, signs up on the 24th with the new user_id and the
    // same anonymous_id; another browser with no anonymous_id does the same.
    await send([
      { anonymous_id: 'anon-1', name: 'page_view', path: '/pricing', timestamp: on(23) },
      { anonymous_id: 'anon-1', user_id: 'ada', name: 'signup', timestamp: on(24) },
      { user_id: 'bo', name: 'page_view', path: '/pricing', timestamp: on(23) },
      { user_id: 'bo', name: 'signup', timestamp: on(24) },
    ]);
    const query = 'start=path:/pricing&return=name:signup&from=2026-11-23&to=2026-11-24';
    expect(await returned(`${query}&by=device`)).toEqual([[2, 2], [0]]);
    expect(await returned(query)).toEqual([[2, 1], [0]]);
    const answer = await json(await t.get(`/api/v1/cohorts?${query}&by=device`));
    expect(answer).toMatchObject({ by: 'device' });
  });

  test('refuses bad events, periods, cohorts, actors and visit filters, naming them', async () => {
    const issues = async (query: string) => {
      const res = await t.get(`/api/v1/cohorts?${query}`);
      expect(res.status).toBe(422);
      return ((await res.json()) as { detail: { loc: unknown[]; msg: string; type: string }[] })
        .detail;
    };
    expect(await issues('start=signup&return=name:')).toEqual([
      {
        loc: ['query', 'start'],
        msg: expect.stringContaining('or any (every event) (got "signup")'),
        type: 'value_error',
      },
      {
        loc: ['query', 'return'],
        msg: 'the name of a step must not be empty',
        type: 'string_too_short',
      },
    ]);
    expect(await issues('start=name:a&start=name:b')).toEqual([
      { loc: ['query', 'start'], msg: 'give start once (got 2)', type: 'too_long' },
    ]);
    expect(await issues('start=name:a&return=name:b&return=any')).toEqual([
      { loc: ['query', 'return'], msg: 'give return once (got 2)', type: 'too_long' },
    ]);
    expect((await issues(`return=path:${'x'.repeat(2049)}`))[0]).toMatchObject({
      loc: ['query', 'return'],
      type: 'string_too_long',
    });
    for (const [query, loc] of [
      ['period=year', 'period'],
      ['period=hour', 'period'],
      ['periods=0', 'periods'],
      ['periods=367', 'periods'],
      ['periods=two', 'periods'],
      ['cohort=second', 'cohort'],
      ['by=session', 'by'],
      ['tz=Mars/Olympus', 'tz'],
      ['from=yesterday', 'from'],
      ['date=2026-11-25&from=2026-11-01', 'date'],
    ]) {
      expect([query, (await issues(query as string))[0]?.loc]).toEqual([query, ['query', loc]]);
    }
    // 2025-01-01 to the end of 2026-01-01 is 366 days, the most; a day more is too many.
    expect(await returned('from=2025-01-01&to=2026-01-01')).toHaveLength(366);
    expect(await issues('from=2025-01-01&to=2026-01-02')).toEqual([
      {
        loc: ['query', 'period'],
        msg:
          'the range holds more than 366 day periods (cohorts); ' +
          'use a longer period or a shorter range',
        type: 'too_long',
      },
    ]);
    expect(await returned('from=2025-01-01&to=2026-01-02&period=week')).toHaveLength(53);
    expect(await issues('channel=Email&entry_page=/')).toMatchObject([
      { loc: ['query', 'channel'], type: 'extra_forbidden' },
      { loc: ['query', 'entry_page'], type: 'extra_forbidden' },
    ]);
    // It names every event filter a cohort read takes, the ids an erasure takes among them.
    expect((await issues('channel=Email'))[0]?.msg).toContain(
      'filter its events by name, path, source, user_id, anonymous_id, visitor_id, os,',
    );
  });

  test('a start or return event with property conditions, flushed or not', async () => {
    await send([
      { name: 'purchase', user_id: 'a', timestamp: on(23), properties: { plan: 'pro' } },
      { name: 'open', user_id: 'a', timestamp: on(24), properties: { beta: true } },
      { name: 'purchase', user_id: 'b', timestamp: on(23), properties: { plan: 'free' } },
      { name: 'open', user_id: 'b', timestamp: on(24) },
    ]);
    const range = 'from=2026-11-23&to=2026-11-24&periods=2';
    const query = `${range}&start=name:purchase,property.plan:pro&return=any`;
    const before = await json(await t.get(`/api/v1/cohorts?${query}`));
    expect(before).toMatchObject({
      cohorts: [
        { size: 1, returned: [1, 1] },
        { size: 0, returned: [0] },
      ],
      start: { name: 'purchase', properties: { plan: 'pro' } },
      return: 'any',
    });
    // The return event defaults to the start event, conditions included.
    const same = await json(await t.get(`/api/v1/cohorts?${range}&start=name:open`));
    expect(same.return).toEqual({ name: 'open' });
    const beta = `${range}&start=name:purchase&return=name:open,property.beta:true&by=person`;
    expect(await returned(beta)).toEqual([[2, 1], [0]]);
    await t.engine.store.flusher.flush();
    expect(await json(await t.get(`/api/v1/cohorts?${query}`))).toEqual(before);
    expect(await returned(beta)).toEqual([[2, 1], [0]]);
    const res = await t.get('/api/v1/cohorts?start=name:a,property.plan:&return=property.x:1');
    expect(res.status).toBe(422);
    expect(
      ((await res.json()) as { detail: { loc: unknown[] }[] }).detail.map((i) => i.loc),
    ).toEqual([
      ['query', 'start'],
      ['query', 'return'],
    ]);
    // README "Limits": `any` takes no conditions.
    const anyWith = await t.get(
      `/api/v1/cohorts?${range}&start=name:a&return=any,property.plan:pro`,
    );
    expect(anyWith.status).toBe(422);
    const [issue] = ((await anyWith.json()) as { detail: { loc: unknown[]; msg: string }[] })
      .detail;
    expect(issue?.loc).toEqual(['query', 'return']);
    expect(issue?.msg).toContain('or any (every event) (got "any,property.plan:pro")');
  });

  test('is documented, start and return included', async () => {
    const doc = (await json(await t.get('/openapi/json'))) as {
      paths: Record<string, { get?: { summary?: string; parameters?: { name: string }[] } }>;
    };
    const op = doc.paths['/api/v1/cohorts']?.get;
    expect(op?.summary).toBeString();
    const names = op?.parameters?.map((p) => p.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining([
        'start',
        'return',
        'period',
        'periods',
        'cohort',
        'by',
        'from',
        'tz',
      ]),
    );
  });
});
