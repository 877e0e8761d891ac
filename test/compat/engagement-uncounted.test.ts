// Plausible's engagement beacons (stored as `$engagement`) change no counted read: every read
// below answers the same before and after beacons of the same visitors and pages are added,
// hot and flushed: Umami's realtime, events, sessions, stats and metrics, Tally's stats, time
// series, event list, funnel and cohorts, Plausible's realtime visitors and aggregate.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

/** A site id that is also an Umami website id, so that Umami's reads read it. */
const SITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const NOW = '2026-11-25T12:00:00Z';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const send = async (time: string, ip: string, body: Json) => {
  t.clock.set(at(`2026-11-25T${time}:00Z`));
  const res = await t.post('/api/event', JSON.stringify({ ...body, d: SITE }), {
    'content-type': 'text/plain',
    'x-forwarded-for': ip,
  });
  expect(res.status).toBe(202);
};
const engaged = (path: string, sd: number, e: number) => ({
  n: 'engagement',
  u: `https://example.com${path}`,
  sd,
  e,
});

const UMAMI_RANGE = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;
const RANGE = 'from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z';
const READS = [
  `/api/realtime/${SITE}`,
  `/api/websites/${SITE}/events?${UMAMI_RANGE}`,
  `/api/websites/${SITE}/sessions?${UMAMI_RANGE}`,
  `/api/websites/${SITE}/stats?${UMAMI_RANGE}`,
  `/api/websites/${SITE}/metrics?type=event&${UMAMI_RANGE}`,
  `/api/websites/${SITE}/metrics?type=path&${UMAMI_RANGE}`,
  `/api/v1/stats?tenant_id=${SITE}&${RANGE}`,
  `/api/v1/timeseries?tenant_id=${SITE}&${RANGE}&bucket=minute`,
  `/api/v1/events?tenant_id=${SITE}&limit=100`,
  `/api/v1/funnel?tenant_id=${SITE}&${RANGE}&step=path:/a&step=path:/b`,
  `/api/v1/cohorts?tenant_id=${SITE}&${RANGE}&start=name:pageview&return=any&period=day`,
  `/api/v1/stats/realtime/visitors?site_id=${SITE}`,
  `/api/v1/stats/aggregate?site_id=${SITE}&period=day&date=2026-11-25` +
    '&metrics=visitors,visits,pageviews,events,bounce_rate,visit_duration,views_per_visit',
];

async function answers(): Promise<unknown[]> {
  t.clock.set(at(NOW));
  const out: unknown[] = [];
  for (const path of READS) {
    const res = await t.get(path);
    const body = await res.text();
    expect(res.status, `${path}: ${body}`).toBe(200);
    out.push(JSON.parse(body));
  }
  return out;
}

test('beacons change no counted read, hot or flushed', async () => {
  await send('11:40', '198.51.100.51', page('/a'));
  await send('11:42', '198.51.100.51', page('/b'));
  await send('11:50', '198.51.100.52', page('/a'));
  const before = await answers();
  // Beacons of both visitors, one after the last page view (it would lengthen a visit), and
  // one of a visitor with no page view (it would be a visitor, a session, a visit).
  await send('11:41', '198.51.100.51', engaged('/a', 60, 40_000));
  await send('11:48', '198.51.100.51', engaged('/b', 100, 300_000));
  await send('11:55', '198.51.100.52', engaged('/a', 20, 4_000));
  await send('11:56', '198.51.100.53', engaged('/c', 50, 9_000));
  expect(await answers()).toEqual(before);
  await t.engine.store.flusher.flush();
  expect(await answers()).toEqual(before);
});
