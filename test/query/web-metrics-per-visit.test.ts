// getWebMetrics keyed by visit properties alone counts each kept visit's events, page views and
// visitors in the visits' own aggregation (web-metrics-rows.ts's countedPerVisit); with a time
// bucket among the keys it joins every counted event back to its visit instead. Over random
// events of many shapes (sessions whose visitor changes on the way, events without a session
// joining one or cut by gaps, events outside the range but within a visit's reach, beacons,
// bots, events without a visitor) and random reads (event and visit filters, negated, globs,
// nested, goals, paging, orders by any metric, `(not set)`, Umami's reads without reach), a
// read by visit keys must answer as the same read with one bucket spanning the range.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  getWebMetrics,
  type WebCondition,
  type WebDimension,
  type WebFilter,
  type WebMetric,
  type WebMetricsOptions,
} from '../../src/query/index.ts';
import type { WebKey } from '../../src/query/web-metrics-model.ts';
import { VISIT_PROPERTIES, type VisitProperty } from '../../src/query/web-properties.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const DAY = Date.parse('2026-11-24T00:00:00Z');
const MIN = 60_000;
const METRICS: WebMetric[] = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
  'bounces',
  'visit_seconds',
];
const VALUES: Record<string, string[]> = {
  source: ['Google', 'Hacker News', 'Direct / None'],
  channel: ['Organic Search', 'Direct', 'Referral'],
  referrer: ['https://www.google.com/', 'https://t.co/a'],
  entry_page: ['/', '/a', '/blog/*'],
  exit_page: ['/', '/b', '/blog/*'],
  utm_source: ['nl', 'tw'],
  utm_medium: ['email', '(not set)'],
  utm_campaign: ['c1'],
  browser: ['Chrome', '(not set)'],
  os: ['MacOS', 'Linux'],
  device: ['desktop', 'mobile', '(not set)'],
  country: ['FR', 'US'],
  page: ['/', '/a', '/blog/*'],
  name: ['pageview', 'Signup', 'Purchase'],
  goal: ['Signup', 'Visit /blog/*', 'Visit /'],
};

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

type Pick = <T>(values: readonly T[]) => T;

/** Visitors with sessions of a few events, some switching visitor_id or losing the session. */
function eventsOf(random: () => number, pick: Pick, tenant: string): StoredEvent[] {
  const events: StoredEvent[] = [];
  const paths = ['/', '/a', '/b', '/blog/x', '/blog/y', null];
  const referrers = ['https://www.google.com/', 'https://news.ycombinator.com/x', '', null];
  const names = ['pageview', 'pageview', 'pageview', 'Signup', 'Purchase', '$engagement'];
  const visitors = 3 + Math.floor(random() * 6);
  for (let v = 0; v < visitors; v++) {
    for (let s = 0; s < 1 + Math.floor(random() * 3); s++) {
      const session = random() < 0.7 ? `s${v}-${s}` : null;
      // Many across an edge of the range: some of their events only in the visit's reach.
      const edge = pick([DAY, DAY, DAY + 12 * 60 * MIN, DAY + 24 * 60 * MIN]);
      let at = edge + Math.floor((random() - 0.7) * 90) * MIN;
      let visitor = `v${v}`;
      for (let i = 0; i < 1 + Math.floor(random() * 7); i++) {
        // A login on the way, or another device's visitor sharing the session.
        if (random() < 0.3) visitor = random() < 0.7 ? `user-${v}-${s}` : `v${(v + 1) % visitors}`;
        const path = pick(paths);
        const utm = random() < 0.3 ? `?utm_source=${pick(['nl', 'tw'])}&utm_campaign=c1` : '';
        const name = pick(names);
        events.push(
          makeEvent({
            tenant,
            timestamp: at,
            visitor_id: random() < 0.05 ? (null as unknown as string) : visitor,
            session_id: random() < 0.2 ? null : session,
            name,
            path,
            url: path === null ? null : `https://example.com${path}${utm}`,
            referrer: i === 0 || random() < 0.1 ? pick(referrers) : null,
            os: pick(['MacOS', 'Linux', null]) as string,
            browser: pick(['Chrome', 'Firefox', null]) as string,
            device: pick(['desktop', 'mobile', null]) as string,
            country: pick(['FR', 'US', null]),
            is_bot: random() < 0.05,
            properties:
              name === '$engagement'
                ? { sd: Math.floor(random() * 100), e: Math.floor(random() * 60_000) }
                : random() < 0.2
                  ? { plan: pick(['pro', 'free']), $interactive: random() < 0.8 }
                  : null,
          }),
        );
        at += Math.floor(random() * 40) * MIN;
      }
    }
  }
  return events;
}

const isVisit = (name: string): name is VisitProperty =>
  (VISIT_PROPERTIES as readonly string[]).includes(name);

function filterOf(random: () => number, pick: Pick, onVisit: boolean): WebFilter {
  const property: WebFilter['property'] = onVisit
    ? { visit: pick(Object.keys(VALUES).filter(isVisit)) as VisitProperty }
    : random() < 0.2
      ? { prop: 'plan' }
      : { event: pick(['page', 'name', 'goal'] as const) };
  const name = 'visit' in property ? property.visit : 'event' in property ? property.event : '';
  const values = 'prop' in property ? ['pro', '(none)'] : (VALUES[name] ?? []);
  const value = pick(values);
  const match = value.includes('*') ? 'glob' : pick(['is', 'is', 'contains'] as const);
  return { property, values: [value], match, negated: random() < 0.3 };
}

function readOf(random: () => number, pick: Pick): WebMetricsOptions {
  const filters: WebCondition[] = [];
  for (let i = Math.floor(random() * 3); i > 0; i--) {
    filters.push(filterOf(random, pick, random() < 0.6));
  }
  if (random() < 0.15) {
    filters.push({ not: { any: [filterOf(random, pick, true), filterOf(random, pick, true)] } });
  }
  const keys: WebKey[] = [{ property: { visit: pick(VISIT_PROPERTIES) } }];
  if (random() < 0.3) keys.push({ property: { visit: pick(VISIT_PROPERTIES) } });
  // The visitors always: those of a visit whose visitor changed are the subtle count.
  const metrics = METRICS.filter((m) => m === 'visitors' || random() < 0.4);
  if (random() < 0.5) metrics.reverse();
  const ranking = {
    limit: 1 + Math.floor(random() * 4),
    offset: Math.floor(random() * 3),
    countRows: random() < 0.5,
    ...(random() < 0.5 ? { order: [{ by: pick(metrics), desc: random() < 0.5 }] } : {}),
  };
  const shape = random();
  const dimension: WebDimension =
    shape < 0.2
      ? { kind: 'total' }
      : shape < 0.6
        ? { kind: 'property', property: (keys[0] as { property: never }).property, ...ranking }
        : { kind: 'group', keys, ...ranking };
  return {
    fromMs: DAY,
    toMs: DAY + 86_400_000,
    metrics,
    filters,
    dimension,
    reach: random() < 0.7,
    notSet: random() < 0.5,
    byEntryPage: random() < 0.3,
  };
}

/** The same read with a last key, the time bucket of the whole range: every event joined. */
function bucketed(options: WebMetricsOptions): WebMetricsOptions {
  const { dimension } = options;
  const whole: WebKey = { starts: [options.fromMs] };
  const grouped: WebDimension =
    dimension.kind === 'total'
      ? { kind: 'group', keys: [whole], limit: 10, offset: 0 }
      : dimension.kind === 'property'
        ? { ...dimension, kind: 'group', keys: [{ property: dimension.property }, whole] }
        : dimension.kind === 'group'
          ? { ...dimension, keys: [...dimension.keys, whole] }
          : dimension;
  return { ...options, dimension: grouped };
}

test('a read by visit keys counts as the same read joining each event to its visit', async () => {
  let counted = 0;
  for (let seed = 1; seed <= 4; seed++) {
    const random = seededRandom(seed);
    const pick: Pick = (values) => values[Math.floor(random() * values.length)] as never;
    const tenant = `t${seed}`;
    await source.add(eventsOf(random, pick, tenant));
    if (seed % 2 === 0) await source.flush();
    for (let q = 0; q < 15; q++) {
      const options = readOf(random, pick);
      const perVisit = await getWebMetrics(source, tenant, options);
      const joined = await getWebMetrics(source, tenant, bucketed(options));
      const expected = joined.map(({ key, keys, values, totalRows }) => {
        const byVisit = (keys ?? []).slice(0, -1);
        return {
          key: byVisit.length === 0 ? null : key,
          ...(options.dimension.kind === 'group' ? { keys: byVisit } : {}),
          values,
          ...(totalRows === undefined || options.dimension.kind === 'total' ? {} : { totalRows }),
        };
      });
      expect({ options, rows: perVisit }).toEqual({ options, rows: expected });
      counted += perVisit.filter((row) => Object.values(row.values).some((v) => v)).length;
    }
  }
  // Most reads count something: the comparison is not of empty answers.
  expect(counted).toBeGreaterThan(40);
}, 180_000); // 120 reads: ~8 s alone, over 60 s with four test files at once on 2 vCPUs
