// README "Reads": the example answers of GET /api/v1/stats, GET /api/v1/funnel (with its
// breakdown example under Funnels), GET /api/v1/cohorts and GET /api/v1/events/{event_id} are
// what Tally answers for the story its comment tells, sent through the ingest route. The
// expected bodies are read from the README itself (its `# ` comment lines), so the two cannot
// drift apart; only the stats' `os` and `browsers`, which it elides as `[…]`, are left out, and
// values the event example elides (`…`) are compared by their start.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

const B = 'http://127.0.0.1:8080';
const STATS_PATH = '/api/v1/stats?date=2026-11-25&tz=Europe/Berlin';
const FUNNEL_PATH =
  '/api/v1/funnel?date=2026-11-25&tz=Europe/Berlin&step=path:/pricing&step=name:signup';
const FUNNEL_BREAKDOWN_PATH = `${FUNNEL_PATH}&breakdown=browser`;

const COHORTS_PATH =
  '/api/v1/cohorts?from=2026-11-02&to=2026-11-22&tz=Europe/Berlin&period=week&periods=3' +
  '&by=user&start=name:signup&return=any';

/** The answer the README prints under its example of `route`, without the elided lists. */
function readmeAnswer(route: string): Record<string, unknown> {
  const readme = readFileSync(path.join(import.meta.dir, '..', '..', 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const curl = `curl -s '${B}${route}'`;
  const start = lines.findIndex((line, i) => line === curl && lines[i + 1]?.startsWith('# {'));
  expect(start).toBeGreaterThan(0);
  // The comment lines up to the one that closes the answer (another comment may follow).
  const comment: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('# ')) break;
    comment.push(line.slice(2).trim());
    const json = comment.join('').replace('"os":[…],"browsers":[…],', '');
    if (json.endsWith('}') && isJson(json)) return JSON.parse(json) as Record<string, unknown>;
  }
  throw new Error(`no answer under ${curl} in README.md`);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/130.0.0.0 Safari/537.36';
const ana = { ip: '203.0.113.1', user_agent: DESKTOP };
const ben = { ip: '203.0.113.2', user_agent: DESKTOP };

let t: TestApp;
/** The event_id the ingest answered for ana's signup (README reads it back by that id). */
let anaSignupId = '';
beforeAll(async () => {
  t = await makeTestApp();
  // Berlin is UTC+1 in November: 10:00 local is 09:00Z.
  const events = [
    // ana arrives from Hacker News on / at 10:00, reads /pricing, signs up three minutes later…
    {
      ...ana,
      name: 'page_view',
      path: '/',
      url: 'https://acme.example/',
      referrer: 'https://news.ycombinator.com/item?id=1',
      timestamp: '2026-11-25T09:00:00Z',
    },
    {
      ...ana,
      name: 'page_view',
      path: '/pricing',
      url: 'https://acme.example/pricing',
      timestamp: '2026-11-25T09:01:00Z',
    },
    { ...ana, name: 'signup', timestamp: '2026-11-25T09:03:00Z' },
    // …and comes back at 14:00 to /docs: a new visit, no referrer.
    {
      ...ana,
      name: 'page_view',
      path: '/docs',
      url: 'https://acme.example/docs',
      timestamp: '2026-11-25T13:00:00Z',
    },
    // ben opens /pricing?utm_source=newsletter from a link on shop.example.
    {
      ...ben,
      name: 'page_view',
      path: '/pricing',
      url: 'https://acme.example/pricing?utm_source=newsletter',
      referrer: 'https://shop.example/',
      timestamp: '2026-11-25T10:00:00Z',
    },
  ];
  const res = await t.post('/api/v1/events/batch', { events });
  expect(res.status).toBe(202);
  const { results } = (await res.json()) as { results: { event_id: string }[] };
  anaSignupId = results[2]?.event_id ?? '';
  // The cohorts' story, in the weeks before (Berlin is UTC+1: 10:00 local is 09:00Z).
  const user = (user_id: string, name: string, timestamp: string) => ({ user_id, name, timestamp });
  const cohorts = [
    // cat, dan and eve sign up in the week of 2 November (eve on Sunday 8th, 23:30 local)…
    user('cat', 'signup', '2026-11-02T09:00:00Z'),
    user('dan', 'signup', '2026-11-04T09:00:00Z'),
    user('eve', 'signup', '2026-11-08T22:30:00Z'),
    // …cat comes back the next week and the one after, dan only the week after next…
    user('cat', 'page_view', '2026-11-10T09:00:00Z'),
    user('cat', 'page_view', '2026-11-18T09:00:00Z'),
    user('dan', 'login', '2026-11-19T09:00:00Z'),
    // …fay signs up on 10 November and comes back on 17 November.
    user('fay', 'signup', '2026-11-10T09:00:00Z'),
    user('fay', 'page_view', '2026-11-17T09:00:00Z'),
  ];
  expect((await t.post('/api/v1/events/batch', { events: cohorts })).status).toBe(202);
});
afterAll(() => t.close());

test("README's stats example is the answer to its story", async () => {
  const res = await t.get(STATS_PATH);
  expect(res.status).toBe(200);
  const { os, browsers, ...rest } = (await res.json()) as Record<string, unknown>;
  expect(rest).toEqual(readmeAnswer(STATS_PATH));
  expect(os).toEqual([{ os: 'Windows', events: 5, visitors: 2 }]);
  expect(browsers).toEqual([{ browser: 'Chrome', events: 5, visitors: 2 }]);
});

test("README's funnel example is the answer to its story", async () => {
  const res = await t.get(FUNNEL_PATH);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(readmeAnswer(FUNNEL_PATH));
});

test("README's funnel breakdown example is the answer to its story", async () => {
  const res = await t.get(FUNNEL_BREAKDOWN_PATH);
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body).toEqual(readmeAnswer(FUNNEL_BREAKDOWN_PATH));
});

test("README's cohorts example is the answer to its story", async () => {
  const res = await t.get(COHORTS_PATH);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(readmeAnswer(COHORTS_PATH));
});

// The answer under `curl -s http://127.0.0.1:8080/api/v1/events/<event_id>`: ana's signup. A
// value ending in `…` is shown by its start only.
test("README's event-by-id example is ana's signup as stored", async () => {
  const readme = readFileSync(path.join(import.meta.dir, '..', '..', 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const at = lines.indexOf(`curl -s ${B}/api/v1/events/<event_id>`);
  expect(at).toBeGreaterThan(0);
  const comment: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('# ')) break;
    comment.push(line.slice(2).trim());
  }
  const shown = JSON.parse(comment.join('')) as Record<string, unknown>;
  const res = await t.get(`/api/v1/events/${anaSignupId}`);
  expect(res.status).toBe(200);
  const stored = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(stored)).toEqual(Object.keys(shown));
  for (const [key, value] of Object.entries(shown)) {
    if (typeof value === 'string' && value.endsWith('…')) {
      // Generated ids (`01a21bf7-…`, `dfa07795…`) differ from run to run: their shape is the
      // sample's (hex digits where it has them); other text starts as shown.
      const start = value.slice(0, -1);
      const shape = (text: string) => text.replace(/[0-9a-f]/g, 'h');
      const generated = /^[0-9a-f-]+$/.test(start);
      const actual = String(stored[key]);
      expect([key, generated ? shape(actual) : actual]).toEqual([
        key,
        expect.stringMatching(new RegExp(`^${RegExp.escape(generated ? shape(start) : start)}`)),
      ]);
      continue;
    }
    expect([key, stored[key]]).toEqual([key, value]);
  }
});
