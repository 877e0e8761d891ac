// GET /api/v1/stats, /timeseries and /events against a plain reference over the events sent:
// two tenants, a Berlin day with visits across its midnights, some events flushed, some
// compacted, some hot, some sent twice, one user erased, events with no user or anonymous id
// (a hashed visitor, the same all along here: the clock stands still), bots, filters and a
// visit filter. Sessions and visits as the README defines them (visit-rows.ts).

import { afterEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { seededRandom } from '../helpers/random.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 ' +
    '(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
];
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const VIEWS = ['page_view', 'pageview', '$pageview', 'page'];
const NAMES = [...VIEWS, 'page_view', 'signup', 'click'];
const MIN = 60_000;
const FROM = Date.parse('2026-11-25T00:00:00+01:00');
const TO = Date.parse('2026-11-26T00:00:00+01:00');

interface Ev {
  event_id: string;
  tenant_id: string;
  name: string;
  timestamp: number;
  user_agent: string;
  ip: string;
  user_id?: string;
  anonymous_id?: string;
  session_id?: string;
  path?: string;
  referrer?: string;
  duration?: number;
  properties?: Record<string, unknown>;
}

/** Visitors of bursts of events, some a session's, starting around the day's midnights. */
function generate(seed: number): Ev[] {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const out: Ev[] = [];
  for (const tenant of ['t1', 't2']) {
    for (let v = 0; v < 10; v++) {
      const kind = pick(['user', 'anon', 'ip']);
      const ua = r() < 0.15 ? BOT : pick(UAS);
      let ts = FROM - 3 * 60 * MIN + Math.floor(r() * 30 * 60 * MIN);
      for (let b = 0; b < 1 + Math.floor(r() * 3); b++) {
        const session = r() < 0.4 ? `s-${tenant}-${v}-${b}` : undefined;
        for (let i = 0; i < 1 + Math.floor(r() * 4); i++) {
          const e: Ev = {
            event_id: `e${out.length}`,
            tenant_id: tenant,
            name: pick(NAMES),
            timestamp: ts + (out.length % 997),
            user_agent: ua,
            ip: `10.0.${v}.1`,
          };
          if (kind === 'user') e.user_id = `u-${tenant}-${v}`;
          if (kind === 'anon') e.anonymous_id = `a-${tenant}-${v}`;
          if (session !== undefined && r() < 0.9) e.session_id = session;
          if (VIEWS.includes(e.name) || r() < 0.3) e.path = pick(['/', '/a', '/b']);
          if (r() < 0.3) e.referrer = pick(['https://google.com/', 'https://x.example/']);
          if (r() < 0.3) e.duration = Math.floor(r() * 100);
          if (r() < 0.3) e.properties = { plan: pick(['pro', 'free']) };
          if (r() < 0.1) e.properties = { ...e.properties, $interactive: false };
          out.push(e);
          ts += Math.floor(r() * 25 * MIN);
        }
        ts += Math.floor(r() * 90 * MIN);
      }
    }
  }
  return out;
}

const visitorOf = (e: Ev) => e.user_id ?? e.anonymous_id ?? `h:${e.ip}:${e.user_agent}`;
const isView = (e: Ev) => VIEWS.includes(e.name);
const inRange = (e: Ev) => e.timestamp >= FROM && e.timestamp < TO;
const byTime = (a: Ev, b: Ev) => a.timestamp - b.timestamp;

/** Visits of `events` within 2 hours of the range: a session's, else cut by 30-minute gaps. */
function visitsOf(events: Ev[]): Ev[][] {
  const near = events.filter(
    (e) => e.timestamp >= FROM - 120 * MIN && e.timestamp < TO + 120 * MIN,
  );
  const visits = new Map<string, Ev[]>();
  const add = (key: string, e: Ev) => visits.set(key, [...(visits.get(key) ?? []), e]);
  const byVisitor = new Map<string, Ev[]>();
  for (const e of near) {
    if (e.session_id !== undefined) add(`s:${e.session_id}`, e);
    byVisitor.set(visitorOf(e), [...(byVisitor.get(visitorOf(e)) ?? []), e]);
  }
  for (const [visitor, list] of byVisitor) {
    let anchor = '';
    let previous: number | undefined;
    for (const e of list.sort(byTime)) {
      if (e.session_id !== undefined) anchor = `s:${e.session_id}`;
      else {
        if (previous === undefined || e.timestamp - previous > 30 * MIN) {
          anchor = `g:${visitor}:${e.timestamp}`;
        }
        add(anchor, e);
      }
      previous = e.timestamp;
    }
  }
  return [...visits.values()].map((vs) => vs.sort(byTime));
}

interface Query {
  tenant: string;
  name?: string;
  plan?: string;
  entry?: string;
  bots?: boolean;
}

function rows<K extends string>(
  events: Ev[],
  key: (e: Ev) => string | undefined,
  name: K,
  count: 'events' | 'views',
) {
  const m = new Map<string, { n: number; visitors: Set<string> }>();
  for (const e of events) {
    const k = key(e);
    if (k === undefined) continue;
    const row = m.get(k) ?? { n: 0, visitors: new Set() };
    row.n++;
    row.visitors.add(visitorOf(e));
    m.set(k, row);
  }
  return [...m]
    .sort(([ka, a], [kb, b]) => b.n - a.n || (ka < kb ? -1 : 1))
    .map(([k, row]) => ({ [name]: k, [count]: row.n, visitors: row.visitors.size }));
}

function reference(all: Ev[], q: Query) {
  let events = all.filter((e) => e.tenant_id === q.tenant && (q.bots || e.user_agent !== BOT));
  if (q.entry !== undefined) {
    const entered = (vs: Ev[]) => vs.find((e) => isView(e) && e.path)?.path === q.entry;
    events = visitsOf(events)
      .filter((vs) => vs.some(inRange) && entered(vs))
      .flat();
  }
  const matches = (e: Ev) =>
    (q.name === undefined || e.name === q.name) &&
    (q.plan === undefined || e.properties?.plan === q.plan);
  const counted = events.filter((e) => inRange(e) && matches(e));
  const visits = visitsOf(events).filter((vs) => vs.some((e) => inRange(e) && matches(e)));
  const durations = counted.flatMap((e) => (e.duration === undefined ? [] : [e.duration]));
  const bounced = (vs: Ev[]) => vs.filter((e) => e.properties?.$interactive !== false).length <= 1;
  const seconds = visits.map((vs) =>
    bounced(vs) ? 0 : ((vs.at(-1) as Ev).timestamp - (vs[0] as Ev).timestamp) / 1000,
  );
  const n = visits.length;
  const distinct = (values: (string | undefined)[]) =>
    new Set(values.filter((v) => v !== undefined)).size;
  return {
    total_events: counted.length,
    page_views: counted.filter(isView).length,
    unique_users: distinct(counted.map((e) => e.user_id)),
    unique_visitors: distinct(counted.map(visitorOf)),
    sessions: distinct(counted.map((e) => e.session_id)),
    avg_duration:
      durations.length === 0 ? null : durations.reduce((a, b) => a + b, 0) / durations.length,
    visits: n,
    bounce_rate: n === 0 ? null : Math.round((100 * visits.filter(bounced).length) / n),
    visit_duration: n === 0 ? null : Math.round(seconds.reduce((a, b) => a + b, 0) / n),
    views_per_visit:
      n === 0 ? null : Math.round((100 * visits.flat().filter(isView).length) / n) / 100,
    top_paths: rows(counted.filter(isView), (e) => e.path, 'path', 'views'),
    top_referrers: rows(counted, (e) => e.referrer, 'referrer', 'events'),
    top_events: rows(counted, (e) => e.name, 'name', 'events'),
    counted,
  };
}

async function expectReads(app: TestApp, all: Ev[]) {
  const queries: Query[] = [
    { tenant: 't1' },
    { tenant: 't2', bots: true, plan: 'pro' },
    { tenant: 't1', name: 'page_view', entry: '/a' },
  ];
  for (const q of queries) {
    const { counted, ...want } = reference(all, q);
    const qs = new URLSearchParams({
      tenant_id: q.tenant,
      date: '2026-11-25',
      tz: 'Europe/Berlin',
    });
    if (q.name) qs.set('name', q.name);
    if (q.plan) qs.set('property.plan', q.plan);
    if (q.entry) qs.set('entry_page', q.entry);
    if (q.bots) qs.set('bots', 'include');
    const stats = (await (await app.get(`/api/v1/stats?${qs}`)).json()) as Record<string, unknown>;
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, stats[k]]));
    // The mean of a sum in another order: equal to 9 places.
    const mean = (v: unknown) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v);
    expect({ q, ...got, avg_duration: mean(got.avg_duration) }).toEqual({
      q,
      ...want,
      avg_duration: mean(want.avg_duration),
    });
    // Hourly counts by name (from the per-minute counts where they answer) and uniques.
    for (const metric of ['count', 'uniques']) {
      const series = (await (
        await app.get(`/api/v1/timeseries?${qs}&bucket=hour&metric=${metric}&group_by=name`)
      ).json()) as { series: { key: string; points: { bucket: string; value: number }[] }[] };
      const points = series.series.flatMap((s) =>
        s.points.map((p) => [s.key, Date.parse(p.bucket), p.value]),
      );
      const hours = new Map<string, Ev[]>();
      for (const e of counted) {
        const key = `${e.name} ${Math.floor(e.timestamp / 3_600_000) * 3_600_000}`;
        hours.set(key, [...(hours.get(key) ?? []), e]);
      }
      const expected = [...hours].map(([key, es]) => {
        const [name, hour] = key.split(' ') as [string, string];
        const value = metric === 'count' ? es.length : new Set(es.map(visitorOf)).size;
        return [name, Number(hour), value];
      });
      const order = (a: unknown[], b: unknown[]) =>
        JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
      expect({ q, metric, points: points.sort(order) }).toEqual({
        q,
        metric,
        points: expected.sort(order),
      });
    }
    // The event list, a page of 10 at a time (bots as the stats take them).
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = new URLSearchParams(qs);
      page.set('limit', '10');
      if (!q.bots) page.set('bots', 'exclude');
      if (cursor !== null) page.set('cursor', cursor);
      const body = (await (await app.get(`/api/v1/events?${page}`)).json()) as {
        events: { event_id: string }[];
        next_cursor: string | null;
      };
      ids.push(...body.events.map((e) => e.event_id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect({ q, ids: ids.sort() }).toEqual({ q, ids: counted.map((e) => e.event_id).sort() });
  }
}

test('stats, series and lists of flushed, compacted and hot events equal a reference', async () => {
  t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
  const all = generate(11);
  const r = seededRandom(12);
  const parts: Ev[][] = [[], [], []];
  for (const e of all) parts[Math.floor(r() * 3)]?.push(e);
  const send = async (events: Ev[]) => {
    const res = await (t as TestApp).post('/api/v1/events/batch', { events });
    expect(res.status).toBe(202);
  };
  await send(parts[0] as Ev[]);
  await t.engine.store.flusher.flush();
  await send(parts[1] as Ev[]);
  await t.engine.store.flusher.flush();
  expect(await t.engine.store.compactor.compact()).toBeGreaterThan(0);
  // An erasure flushes what it cut from: the events after it stay hot.
  const erased = (all.find((e) => e.tenant_id === 't1' && e.user_id) as Ev).user_id;
  await t.engine.erasures.request('t1', 'user_id', erased as string);
  await t.engine.erasures.settled();
  const kept = (events: Ev[]) => events.filter((e) => e.user_id !== erased);
  await send(kept(parts[2] as Ev[]));
  await send(kept([...(parts[0] as Ev[]).slice(0, 10), ...(parts[2] as Ev[]).slice(0, 10)]));
  expect(t.engine.store.hot.bytes).toBeGreaterThan(0);
  await expectReads(t, kept(all));
}, 30_000);
