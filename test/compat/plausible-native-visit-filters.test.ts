// The visit filters of Tally's own reads (GET /api/v1/stats: referrer_source, channel,
// entry_page, exit_page, utm_*) against the same filters through Plausible's Stats API v2
// (`visit:source`, `visit:channel`, …) over the same generated traffic: visitors, visits, page
// views and events must be the same, bots included or not, values with unicode, `%`, `+`,
// quotes and malformed escapes among them.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { seededRandom } from '../helpers/random.ts';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

const SITE = 'visits.example';
const HOURS = 36;
const [FROM, TO] = ['2026-11-24', '2026-11-25'] as const;
const DAYS = [FROM, TO];

const REFERRERS = [
  undefined,
  'https://www.google.com/search',
  'https://news.ycombinator.com/item?id=1',
  'https://duckduckgo.com/',
  'https://l.facebook.com/',
  `https://${SITE}/elsewhere`,
  'android-app://com.google.android.gm/',
];
const QUERIES = [
  '',
  '',
  '?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale',
  '?utm_source=google&utm_medium=cpc&utm_campaign=%E2%82%AC+deal&utm_term=a%25b',
  '?utm_medium=social&utm_campaign=50%_off&utm_content=it%27s',
  "?utm_campaign=o'neil&utm_content=x_y&ref=producthunt",
  '?utm_campaign=%E0%A4%A&utm_source=%20spaced%20',
  '?source=partner&utm_medium=affiliate',
];
const PATHS = ['/', '/pricing', '/blog/ünï', '/docs_1', '/50%'];
const BOT_UA = 'Googlebot/2.1 (+http://www.google.com/bot.html)';

/** Visits of 40 visitors over 36 hours: sessions and gap-cut visits, some bots. */
function traffic(): Record<string, unknown>[] {
  const random = seededRandom(7);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  const events: Record<string, unknown>[] = [];
  for (let v = 0; v < 40; v++) {
    let at = T0 - HOURS * 3_600_000 + Math.floor(random() * 3_600_000);
    const bot = v % 9 === 0;
    for (let visit = 0; visit < 3; visit++) {
      const session = random() < 0.5 ? `s${v}-${visit}` : undefined;
      const query = pick(QUERIES);
      const referrer = pick(REFERRERS);
      const views = 1 + Math.floor(random() * 3);
      for (let i = 0; i < views; i++) {
        const path = pick(PATHS);
        events.push({
          tenant_id: SITE,
          name: random() < 0.8 ? 'page_view' : 'signup',
          timestamp: at,
          anonymous_id: `v${v}`,
          session_id: session,
          path,
          url: `https://${SITE}${path}${i === 0 ? query : ''}`,
          referrer: i === 0 ? referrer : `https://${SITE}/`,
          user_agent: bot ? BOT_UA : undefined,
        });
        at += Math.floor(random() * 20) * 60_000;
      }
      at += Math.floor(random() * 5 * 3_600_000);
      if (at >= T0) break;
    }
  }
  return events;
}

let t: CompatApp;
beforeAll(async () => {
  t = await makeCompatApp();
  const res = await t.post('/api/v1/events/batch', { events: traffic() });
  expect(res.status).toBe(202);
});
afterAll(() => t.close());

type Json = Record<string, unknown>;

/** [visitors, visits, pageviews, events] of the native /stats with these parameters. */
async function native(params: Record<string, string>): Promise<number[]> {
  const query = new URLSearchParams({ tenant_id: SITE, from: FROM, to: TO, ...params });
  const stats = await t.getJson<Json>(`/api/v1/stats?${query}`);
  return ['unique_visitors', 'visits', 'page_views', 'total_events'].map((k) => stats[k] as number);
}

/** The same through Plausible's Stats API v2. */
async function plausible(filters: unknown[]): Promise<number[]> {
  const res = await t.post('/api/v2/query', {
    site_id: SITE,
    metrics: ['visitors', 'visits', 'pageviews', 'events'],
    date_range: DAYS,
    filters,
  });
  const body = (await res.json()) as { results: { metrics: number[] }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.results[0]?.metrics ?? [];
}

/** Every value v2 lists for the visit dimension (breakdown), `(not set)` left out. */
async function valuesOf(dimension: string): Promise<string[]> {
  const res = await t.post('/api/v2/query', {
    site_id: SITE,
    metrics: ['visits'],
    date_range: DAYS,
    dimensions: [dimension],
  });
  const body = (await res.json()) as { results: { dimensions: string[] }[] };
  return body.results.map((r) => r.dimensions[0] as string).filter((v) => v !== '(not set)');
}

const PAIRS = [
  ['referrer_source', 'visit:source'],
  ['channel', 'visit:channel'],
  ['entry_page', 'visit:entry_page'],
  ['exit_page', 'visit:exit_page'],
  ['utm_source', 'visit:utm_source'],
  ['utm_medium', 'visit:utm_medium'],
  ['utm_campaign', 'visit:utm_campaign'],
  ['utm_content', 'visit:utm_content'],
  ['utm_term', 'visit:utm_term'],
] as const;

describe('native visit filters = Plausible v2 visit: filters', () => {
  test('without a filter the totals agree', async () => {
    expect(await native({})).toEqual(await plausible([]));
  });

  for (const [param, dimension] of PAIRS) {
    test(`${param} = ${dimension}, for each value v2 lists`, async () => {
      const values = await valuesOf(dimension);
      expect(values.length).toBeGreaterThan(0);
      for (const value of values) {
        const filter = [['is', dimension, [value]]];
        expect(await native({ [param]: value }), `${param}=${value}`).toEqual(
          await plausible(filter),
        );
      }
    });
  }

  test("campaign lists of /stats = v2's breakdowns by the tag (visitors, visits)", async () => {
    const query = new URLSearchParams({ tenant_id: SITE, from: FROM, to: TO, top: '50' });
    const stats = await t.getJson<Json>(`/api/v1/stats?${query}`);
    for (const tag of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term']) {
      const res = await t.post('/api/v2/query', {
        site_id: SITE,
        metrics: ['visitors', 'visits'],
        date_range: DAYS,
        dimensions: [`visit:${tag}`],
      });
      const body = (await res.json()) as { results: { dimensions: string[]; metrics: number[] }[] };
      const theirs = body.results
        .filter((r) => r.dimensions[0] !== '(not set)')
        .map((r) => [r.dimensions[0], ...r.metrics]);
      const ours = (stats[`top_${tag}s`] as Json[]).map((r) => [r[tag], r.visitors, r.visits]);
      const sorted = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
      expect(sorted(ours), tag).toEqual(sorted(theirs));
    }
  });

  test('the same answers before and after the events are flushed to a segment', async () => {
    const queries: Record<string, string>[] = [
      { channel: 'Organic Search' },
      { utm_campaign: '€ deal' },
      { exit_page: '/' },
    ];
    const before = await Promise.all(queries.map(native));
    await t.engine.store.flusher.flush();
    expect(await Promise.all(queries.map(native))).toEqual(before);
    expect(before.map((counts) => counts[3])).not.toContain(0);
  });

  test('two visit filters at once', async () => {
    const both = [
      ['is', 'visit:channel', ['Organic Search']],
      ['is', 'visit:entry_page', ['/pricing']],
    ];
    expect(await native({ channel: 'Organic Search', entry_page: '/pricing' })).toEqual(
      await plausible(both),
    );
  });
});
