// GET /api/v1/funnel through the real app and store: events sent through ingest are counted
// before and after a flush, tenants apart, `tz` reading only the range, and every refusal a 422
// naming the parameter (and the step) and the rule.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const counts = async (query: string) => {
  const res = await t.get(`/api/v1/funnel?${query}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { steps: { count: number }[] };
  return body.steps.map((s) => s.count);
};
const send = async (events: Record<string, unknown>[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};
const at = (time: string) => `2026-11-25T${time}Z`;
const FLOW = 'step=name:visit&step=name:signup&step=name:purchase';

describe('GET /api/v1/funnel', () => {
  test('counts events not yet flushed, and the same after the flush', async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: at('10:00:00') },
      { name: 'signup', user_id: 'a', timestamp: at('10:01:00') },
      { name: 'visit', user_id: 'b', timestamp: at('10:00:00') },
    ]);
    const status = await json(await t.get('/api/v1/status'));
    expect(status.flushed_through_seq).toBeLessThan(status.last_seq as number);
    const query = `date=2026-11-25&${FLOW}`;
    const before = await json(await t.get(`/api/v1/funnel?${query}`));
    expect(before).toMatchObject({
      entered: 2,
      completed: 0,
      window_seconds: 14 * 86_400,
      by: 'visitor',
      from: '2026-11-25T00:00:00+00:00',
      to: '2026-11-26T00:00:00+00:00',
      tz: 'UTC',
    });
    expect(before.steps).toMatchObject([
      { step: 1, match: { name: 'visit' }, count: 2 },
      {
        step: 2,
        match: { name: 'signup' },
        count: 1,
        dropped: 1,
        median_seconds_from_previous: 60,
      },
      { step: 3, match: { name: 'purchase' }, count: 0, dropped: 1 },
    ]);
    await t.engine.store.flusher.flush();
    expect(await json(await t.get(`/api/v1/funnel?${query}`))).toEqual(before);
    // A purchase acknowledged after the flush counts at once, on top of flushed steps.
    await send([{ name: 'purchase', user_id: 'a', timestamp: at('10:02:00') }]);
    expect(await counts(query)).toEqual([2, 1, 1]);
  });

  test("another tenant's events never count", async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: at('10:00:00'), tenant_id: 'globex' },
      { name: 'signup', user_id: 'a', timestamp: at('10:01:00'), tenant_id: 'globex' },
      { name: 'visit', user_id: 'b', timestamp: at('10:00:00') },
    ]);
    expect(await counts(`${FLOW}&tenant_id=globex`)).toEqual([1, 1, 0]);
    expect(await counts(FLOW)).toEqual([1, 0, 0]);
    expect(await counts(`${FLOW}&tenant_id=initech`)).toEqual([0, 0, 0]);
  });

  test('a batch without ids or timestamps converts in the order sent', async () => {
    // One receive time (the test clock): ties, broken by the generated ids' order.
    await send([
      { name: 'signup', user_id: 'a' },
      { name: 'login', user_id: 'a' },
    ]);
    expect(await counts('step=name:signup&step=name:login')).toEqual([1, 1]);
    expect(await counts('step=name:login&step=name:signup')).toEqual([1, 0]);
  });

  test('tz reads the range only; the same instants answer the same', async () => {
    // 23:30Z on the 25th is the 26th in Berlin.
    await send([
      { name: 'visit', user_id: 'a', timestamp: at('23:30:00') },
      { name: 'signup', user_id: 'a', timestamp: at('23:45:00') },
    ]);
    expect(await counts(`date=2026-11-25&tz=UTC&${FLOW}`)).toEqual([1, 1, 0]);
    expect(await counts(`date=2026-11-25&tz=Europe/Berlin&${FLOW}`)).toEqual([0, 0, 0]);
    expect(await counts(`date=2026-11-26&tz=Europe/Berlin&${FLOW}`)).toEqual([1, 1, 0]);
    const utc = await json(
      await t.get(`/api/v1/funnel?from=2026-11-25T23:00:00Z&to=2026-11-26T00:00:00Z&${FLOW}`),
    );
    const berlin = await json(
      await t.get(
        '/api/v1/funnel?from=2026-11-26T00:00:00%2B01:00&to=2026-11-26T01:00:00%2B01:00' +
          `&tz=Europe/Berlin&${FLOW}`,
      ),
    );
    expect(berlin.steps).toEqual(utc.steps);
    expect([berlin.from, berlin.tz]).toEqual(['2026-11-26T00:00:00+01:00', 'Europe/Berlin']);
  });

  test('by, window, filters and bots from the query string', async () => {
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await send([
      { name: 'visit', user_id: 'a', session_id: 's1', timestamp: at('10:00:00') },
      { name: 'signup', user_id: 'a', session_id: 's2', timestamp: at('10:30:00') },
      { name: 'visit', anonymous_id: 'x', user_agent: bot, timestamp: at('10:00:00') },
      { name: 'signup', anonymous_id: 'x', user_agent: bot, timestamp: at('10:00:01') },
    ]);
    const steps = 'step=name:visit&step=name:signup';
    expect(await counts(steps)).toEqual([1, 1]);
    expect(await counts(`${steps}&bots=include`)).toEqual([2, 2]);
    expect(await counts(`${steps}&by=session`)).toEqual([1, 0]);
    expect(await counts(`${steps}&by=user&window=30m`)).toEqual([1, 1]);
    expect(await counts(`${steps}&window=1799s`)).toEqual([1, 0]);
    expect(await counts(`${steps}&user_id=b`)).toEqual([0, 0]);
    // Asking for the bot device asks for bots (README: "unless bots=include (or device=bot)").
    expect(await counts(`${steps}&device=bot`)).toEqual([1, 1]);
  });

  test('window takes s, m, h, d and w, from 1 second to 365 days', async () => {
    // README: "a whole number and s, m, h, d or w … from 1 second to 365 days".
    const steps = 'step=name:visit&step=name:signup';
    const windowSeconds = async (window: string) => {
      const res = await t.get(`/api/v1/funnel?${steps}&window=${window}`);
      expect([window, res.status]).toEqual([window, 200]);
      return ((await res.json()) as { window_seconds: number }).window_seconds;
    };
    expect(await windowSeconds('1s')).toBe(1);
    expect(await windowSeconds('90m')).toBe(5400);
    expect(await windowSeconds('36h')).toBe(129_600);
    expect(await windowSeconds('2w')).toBe(1_209_600);
    expect(await windowSeconds('52w')).toBe(364 * 86_400);
    expect(await windowSeconds('365d')).toBe(365 * 86_400);
    // The default, 14 days, is PostHog's.
    const res = await t.get(`/api/v1/funnel?${steps}`);
    expect(((await res.json()) as { window_seconds: number }).window_seconds).toBe(1_209_600);
  });

  test('by visitor follows visitor_id: a daily hash to UTC midnight, not through a user_id', async () => {
    // README: only by=person merges identities. A cookieless visitor's id is a hash under the
    // salt of the day the event is received: after midnight it is another visitor.
    const browser = { ip: '198.51.100.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' };
    t.clock.set(Date.parse('2026-11-25T23:59:00Z'));
    await send([{ ...browser, name: 'page_view', path: '/pricing' }]);
    t.clock.set(Date.parse('2026-11-26T00:01:00Z'));
    await send([{ ...browser, name: 'page_view', path: '/pricing' }]);
    await send([{ ...browser, name: 'signup' }]);
    // Two visitors viewed /pricing; the sign-up converts the one of its own day only.
    expect(await counts('step=path:/pricing&step=name:signup')).toEqual([2, 1]);
    // A person without either id is the visitor too: nothing links a daily hash.
    expect(await counts('step=path:/pricing&step=name:signup&by=person')).toEqual([2, 1]);
    // An anonymous visitor who signs up with a user_id is another visitor from the sign-up on;
    // by user, the views before it (no user_id) are no entries.
    await send([
      { anonymous_id: 'anon-1', name: 'page_view', path: '/docs' },
      { anonymous_id: 'anon-1', user_id: 'bo', name: 'signup' },
    ]);
    expect(await counts('step=path:/docs&step=name:signup')).toEqual([1, 0]);
    expect(await counts('step=path:/docs&step=name:signup&by=user')).toEqual([0, 0]);
    // By person, the sign-up links anon-1 to bo: the view is bo's.
    expect(await counts('step=path:/docs&step=name:signup&by=person')).toEqual([1, 1]);
  });

  test('by device follows the anonymous id across a sign-up; by visitor does not', async () => {
    // The most common funnel: a page view, then the sign-up, which carries the new user_id
    // (so its visitor_id is that user id) and the browser's anonymous_id, as on the view.
    const browser = { ip: '198.51.100.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' };
    await send([
      { ...browser, anonymous_id: 'anon-1', name: 'page_view', path: '/pricing' },
      { ...browser, anonymous_id: 'anon-1', user_id: 'ada', name: 'signup' },
      // Without an anonymous_id the device is the visitor: the daily hash, then the user id.
      { ...browser, name: 'page_view', path: '/pricing' },
      { ...browser, user_id: 'bo', name: 'signup' },
    ]);
    const signups = 'step=path:/pricing&step=name:signup';
    expect(await counts(`${signups}&by=device`)).toEqual([2, 1]);
    // The default is unchanged: the sign-up is another visitor, so no one converts.
    expect(await counts(signups)).toEqual([2, 0]);
    expect(await counts(`${signups}&by=visitor`)).toEqual([2, 0]);
    const answer = await json(await t.get(`/api/v1/funnel?${signups}&by=device`));
    expect(answer).toMatchObject({ by: 'device', entered: 2, completed: 1 });
    await t.engine.store.flusher.flush();
    expect(await counts(`${signups}&by=device`)).toEqual([2, 1]);
  });

  test('refuses bad steps, windows, actors and visit filters with a 422 naming them', async () => {
    const issues = async (query: string) => {
      const res = await t.get(`/api/v1/funnel?${query}`);
      expect(res.status).toBe(422);
      return ((await res.json()) as { detail: { loc: unknown[]; msg: string; type: string }[] })
        .detail;
    };
    for (const query of ['', 'step=name:a']) {
      expect(await issues(query)).toEqual([
        {
          loc: ['query', 'step'],
          msg: expect.stringContaining('2 to 20 steps'),
          type: 'too_short',
        },
      ]);
    }
    const many = Array.from({ length: 21 }, (_, i) => `step=name:e${i}`).join('&');
    expect((await issues(many))[0]).toMatchObject({ loc: ['query', 'step'], type: 'too_long' });
    const bad = await issues(
      `step=name:a&step=signup&step=name:&step=path:/a,path:/b&step=name:${'x'.repeat(121)}`,
    );
    expect(bad.map((i) => i.loc)).toEqual([
      ['query', 'step', 1],
      ['query', 'step', 2],
      ['query', 'step', 3],
      ['query', 'step', 4],
    ]);
    expect(bad.map((i) => i.msg)).toEqual([
      expect.stringContaining('a step is name:<event name>, path:<path>'),
      'the name of a step must not be empty',
      expect.stringContaining('a step names its path once'),
      'the name of a step is at most 120 characters',
    ]);
    const steps = 'step=name:a&step=name:b';
    for (const window of ['14', '0d', '1.5h', '366d', '2y', 'd']) {
      expect(await issues(`${steps}&window=${window}`)).toEqual([
        {
          loc: ['query', 'window'],
          msg: expect.stringContaining('1s to 365d'),
          type: 'value_error',
        },
      ]);
    }
    expect((await issues(`${steps}&by=people`))[0]?.loc).toEqual(['query', 'by']);
    expect(await issues(`${steps}&channel=Email&entry_page=/`)).toMatchObject([
      { loc: ['query', 'channel'], type: 'extra_forbidden' },
      { loc: ['query', 'entry_page'], type: 'extra_forbidden' },
    ]);
    // The refusal names the event filters a funnel takes: all of them, and each one taken.
    const [refusal] = await issues(`${steps}&channel=Email`);
    const named = 'name, path, source, user_id, anonymous_id, visitor_id, os, browser, device';
    expect(refusal?.msg).toBe(
      'a funnel takes no visit filters (channel); filter its events by ' +
        `${named}, country or property.<key>`,
    );
    for (const filter of [...named.split(', '), 'country', 'property.plan']) {
      const res = await t.get(`/api/v1/funnel?${steps}&${filter}=de`);
      expect([filter, res.status]).toEqual([filter, 200]);
    }
    expect((await issues(`${steps}&tz=Mars/Olympus`))[0]?.loc).toEqual(['query', 'tz']);
    expect((await issues(`${steps}&country=Germany`))[0]?.loc).toEqual(['query', 'country']);
  });

  test('breakdown by browser and by property, sent through ingest, flushed or not', async () => {
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/120.0.0.0 Safari/537.36';
    await send([
      { name: 'visit', user_id: 'a', user_agent: firefox, properties: { plan: 'pro' } },
      { name: 'signup', user_id: 'a', user_agent: chrome },
      { name: 'visit', user_id: 'b', user_agent: chrome, properties: { plan: 'pro' } },
      { name: 'visit', user_id: 'c', user_agent: firefox },
      { name: 'signup', user_id: 'c', user_agent: firefox },
    ]);
    const steps = 'step=name:visit&step=name:signup';
    const read = async (query: string) => {
      const res = await t.get(`/api/v1/funnel?${steps}&${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown> & {
        breakdowns: { value: string | null; other: boolean; steps: { count: number }[] }[];
      };
    };
    const table = (body: Awaited<ReturnType<typeof read>>) =>
      body.breakdowns.map((b) => [b.value, b.other, b.steps.map((s) => s.count)]);
    const plain = await read('');
    expect(Object.keys(plain)).toEqual([
      ...['steps', 'entered', 'completed', 'window_seconds', 'by', 'from', 'to', 'tz'],
    ]);
    const browser = await read('breakdown=browser');
    expect(table(browser)).toEqual([
      ['Firefox', false, [2, 2]],
      ['Chrome', false, [1, 0]],
    ]);
    expect(browser).toMatchObject({ breakdown: 'browser', entered: 3, completed: 2 });
    const { breakdown, breakdowns, ...overall } = browser;
    expect(overall).toEqual(plain);
    const plan = await read('breakdown=property:plan');
    expect(plan.breakdown).toBe('property:plan');
    expect(table(plan)).toEqual([
      ['pro', false, [2, 1]],
      [null, false, [1, 1]],
    ]);
    await t.engine.store.flusher.flush();
    expect(await read('breakdown=browser')).toEqual(browser);
    await send([{ name: 'signup', user_id: 'b' }]);
    expect(table(await read('breakdown=browser'))).toEqual([
      ['Firefox', false, [2, 2]],
      ['Chrome', false, [1, 1]],
    ]);
  });

  test('a breakdown with tz reads the range only; the same instants answer the same', async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: at('23:30:00'), properties: { plan: 'pro' } },
      { name: 'signup', user_id: 'a', timestamp: at('23:45:00') },
      { name: 'visit', user_id: 'b', timestamp: at('22:30:00'), properties: { plan: 'free' } },
    ]);
    const query = `${FLOW}&breakdown=property:plan`;
    const utc = await json(
      await t.get(`/api/v1/funnel?from=2026-11-25T22:00:00Z&to=2026-11-26T00:00:00Z&${query}`),
    );
    const tokyo = await json(
      await t.get(
        '/api/v1/funnel?from=2026-11-26T07:00:00%2B09:00&to=2026-11-26T09:00:00%2B09:00' +
          `&tz=Asia/Tokyo&${query}`,
      ),
    );
    expect(tokyo.breakdowns).toEqual(utc.breakdowns);
    expect(utc.breakdowns).toMatchObject([
      { value: 'free', entered: 1, completed: 0 },
      { value: 'pro', entered: 1, completed: 0, steps: [{ count: 1 }, { count: 1 }, {}] },
    ]);
    // The day of the 26th in Berlin holds a's entry only (23:30Z), not b's (22:30Z).
    const berlin = await json(
      await t.get(`/api/v1/funnel?date=2026-11-26&tz=Europe/Berlin&${query}`),
    );
    expect(berlin.breakdowns).toMatchObject([{ value: 'pro', entered: 1 }]);
  });

  test('refuses a bad breakdown with a 422 naming the allowed values', async () => {
    const steps = 'step=name:a&step=name:b';
    for (const bad of [
      'path',
      'os,browser',
      'property:',
      'Browser',
      `property:${'k'.repeat(121)}`,
    ]) {
      const res = await t.get(`/api/v1/funnel?${steps}&breakdown=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(422);
      const { detail } = (await res.json()) as { detail: { loc: unknown[]; msg: string }[] };
      expect(detail[0]?.loc).toEqual(['query', 'breakdown']);
    }
    const res = await t.get(`/api/v1/funnel?${steps}&breakdown=referrer`);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['query', 'breakdown'],
          msg:
            'breakdown must be one of os, browser, device, country, source or property:<key> ' +
            '(a key of 1 to 120 characters; got "referrer")',
          type: 'value_error',
        },
      ],
    });
  });

  test('a step with property conditions: only pro purchases, flushed or not', async () => {
    await send([
      { name: 'visit', user_id: 'a', timestamp: at('10:00:00') },
      { name: 'purchase', user_id: 'a', timestamp: at('10:01:00'), properties: { plan: 'free' } },
      { name: 'visit', user_id: 'b', timestamp: at('10:00:00') },
      { name: 'purchase', user_id: 'b', timestamp: at('10:02:00'), properties: { plan: 'pro' } },
      { name: 'visit', user_id: 'c', timestamp: at('10:00:00'), properties: { seats: 3 } },
      {
        name: 'purchase',
        user_id: 'c',
        timestamp: at('10:03:00'),
        properties: { plan: 'pro', seats: 3, note: 'a,b:c' },
      },
    ]);
    // A value with a comma and a colon, URL-encoded or not, and a number compared as text.
    const note = encodeURIComponent('name:purchase,property.note:a,b:c');
    const query = 'date=2026-11-25&step=name:visit&step=name:purchase,property.plan:pro';
    const read = async (q: string) => {
      const res = await t.get(`/api/v1/funnel?${q}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown> & {
        steps: { match: unknown; count: number }[];
      };
    };
    const before = await read(query);
    expect(before.steps.map((s) => [s.match, s.count])).toEqual([
      [{ name: 'visit' }, 3],
      [{ name: 'purchase', properties: { plan: 'pro' } }, 2],
    ]);
    const text = await (await t.get(`/api/v1/funnel?${query}`)).text();
    expect(text).toContain('"match":{"name":"purchase","properties":{"plan":"pro"}}');
    // A step without conditions answers as before: no properties key.
    expect(text).toContain('"match":{"name":"visit"},');
    expect(
      (await read(`date=2026-11-25&step=name:visit,property.seats:3&step=${note}`)).steps.map(
        (s) => s.count,
      ),
    ).toEqual([1, 1]);
    await t.engine.store.flusher.flush();
    expect(await read(query)).toEqual(before);
    await send([
      { name: 'purchase', user_id: 'a', timestamp: at('10:05:00'), properties: { plan: 'pro' } },
    ]);
    expect(await counts(query)).toEqual([3, 3]);
    // With a breakdown and by person, the conditions hold the same.
    const plan = await read(`${query}&by=person&breakdown=property:seats`);
    expect(plan).toMatchObject({ entered: 3, completed: 3, breakdown: 'property:seats' });
  });

  test('refuses bad property conditions at the step, naming the rule', async () => {
    const res = await t.get(
      '/api/v1/funnel?step=name:a&step=property.plan:pro&step=name:b,property.plan:' +
        `&step=name:c,property.k:1,property.k:2&step=name:d,property.${'k'.repeat(121)}:v`,
    );
    expect(res.status).toBe(422);
    const { detail } = (await res.json()) as { detail: { loc: unknown[]; msg: string }[] };
    expect(detail.map((i) => [i.loc, i.msg])).toEqual([
      [
        ['query', 'step', 1],
        'a step\'s property conditions go with a name or a path (got "property.plan:pro")',
      ],
      [['query', 'step', 2], 'the value of property.plan in a step must not be empty'],
      [
        ['query', 'step', 3],
        'a step names property.k once (got "name:c,property.k:1,property.k:2")',
      ],
      [['query', 'step', 4], "the key of a step's property condition is at most 120 characters"],
    ]);
    const many = Array.from({ length: 17 }, (_, i) => `property.k${i}:v`).join(',');
    const tooMany = await t.get(`/api/v1/funnel?step=name:a&step=name:b,${many}`);
    expect(((await tooMany.json()) as { detail: unknown[] }).detail).toEqual([
      {
        loc: ['query', 'step', 1],
        msg: 'a step has at most 16 property conditions',
        type: 'too_long',
      },
    ]);
  });

  test('is documented, its steps parameter included', async () => {
    const doc = (await json(await t.get('/openapi/json'))) as {
      paths: Record<string, { get?: { summary?: string; parameters?: { name: string }[] } }>;
    };
    const op = doc.paths['/api/v1/funnel']?.get;
    expect(op?.summary).toBeString();
    const names = op?.parameters?.map((p) => p.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining(['step', 'window', 'by', 'breakdown', 'from', 'to', 'tz']),
    );
    const step = op?.parameters?.find((p) => p.name === 'step') as { description?: string };
    expect(step.description).toContain('`property.<key>:<value>` conditions');
    expect(step.description).toContain('at most 16 property conditions a step');
    expect(JSON.stringify(doc)).toContain('"properties":{"type":"object","patternProperties"');
  });
});
