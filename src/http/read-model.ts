// What the read routes answer, as TypeBox schemas for OpenAPI (`/openapi/json`). The handlers
// build their answers in query/; test/http/reads.test.ts checks real answers against these, so
// a field added there and not here fails a test instead of going undocumented.

import { t } from 'elysia';
import { VISIT_REACH_MINUTES } from '../query/index.ts';
import { StoredEventOut } from './model.ts';

const Count = t.Integer({ minimum: 0 });

/** The range a read resolved, echoed in the zone of the read (null: unbounded). */
const RangeEcho = {
  from: t.Nullable(t.String({ description: 'ISO 8601 with the offset of tz.' })),
  to: t.Nullable(t.String({ description: 'ISO 8601 with the offset of tz.' })),
  tz: t.String({ examples: ['Europe/Berlin'] }),
};

const cursor = t.Nullable(t.String({ description: 'Pass as cursor for the next page.' }));

/** One row of a top list: the value, its events and distinct visitors. */
const top = (key: string, count = 'events') =>
  t.Array(t.Object({ [key]: t.Nullable(t.String()), [count]: Count, visitors: Count }));

/** Entry or exit pages: the path, its distinct visitors and its visits. */
const visitPages = (description: string) =>
  t.Array(t.Object({ path: t.String(), visitors: Count, visits: Count }), { description });

/**
 * Plausible's Campaigns tabs: one list per campaign tag of the visits' entry URLs, each row a
 * value with the visitors and visits entering with it.
 */
const campaignLists = Object.fromEntries(
  (
    [
      ['utm_medium', 'email'],
      ['utm_source', 'newsletter'],
      ['utm_campaign', 'spring_sale'],
      ['utm_content', 'hero'],
      ['utm_term', 'shoes'],
    ] as const
  ).map(([tag, example]) => [
    `top_${tag}s`,
    t.Array(
      t.Object({ [tag]: t.String({ examples: [example] }), visitors: Count, visits: Count }),
      {
        description:
          `Campaigns by ${tag} (Plausible's Campaigns tab), by visit: the ${tag} of a visit's ` +
          'entry URL (its first event), decoded and trimmed' +
          (tag === 'utm_source' ? ' (else source, else ref)' : '') +
          '; visits without it are left out. By visitors, then visits.',
      },
    ),
  ]),
);

export const StatsOut = t.Object({
  total_events: Count,
  page_views: Count,
  unique_users: Count,
  unique_visitors: Count,
  sessions: Count,
  avg_duration: t.Nullable(t.Number({ description: 'Mean duration (s) of events that have one.' })),
  visits: t.Integer({
    minimum: 0,
    description:
      'Visits: the events of one session_id, else of one visitor with no gap over 30 min ' +
      '(an event without a session_id within 30 min after a session event joins that ' +
      "session's visit; a live Plausible engagement beacon keeps a visit alive, as Plausible's " +
      'does); each with an event in the range, read whole (its events up to ' +
      `${VISIT_REACH_MINUTES / 60} hours around it too); with filters, the visits holding a ` +
      'matching event of the range.',
  }),
  bounce_rate: t.Nullable(
    t.Integer({
      minimum: 0,
      maximum: 100,
      description:
        'Percent of visits with at most one interactive event (whole); null without visits.',
    }),
  ),
  visit_duration: t.Nullable(
    t.Integer({
      minimum: 0,
      description: 'Mean seconds from first to last event of a visit, bounces 0; null without.',
    }),
  ),
  views_per_visit: t.Nullable(
    t.Number({
      minimum: 0,
      description: 'Page views per visit (2 decimals); null without visits.',
    }),
  ),
  top_paths: top('path', 'views'),
  top_referrers: top('referrer'),
  top_entry_pages: visitPages(
    'Entry pages (Plausible\'s "Entry pages" tab): the path of the first page view of a visit, ' +
      'with the visitors and visits entering there; by visitors, then visits.',
  ),
  top_exit_pages: visitPages(
    'Exit pages: the path of the last page view of a visit; visits without a page view have ' +
      'neither; by visitors, then visits.',
  ),
  top_referrer_sources: t.Array(
    t.Object({
      source: t.String(),
      referrer_source: t.String({ description: 'The same as source (its former key).' }),
      visitors: Count,
      visits: Count,
      events: t.Integer({ minimum: 0, description: 'Events of those visits.' }),
    }),
    {
      description:
        "Traffic sources as Plausible's Sources panel, by visit: the source of a visit's " +
        "first event — its url's utm_source (else source, ref), else the referrer host " +
        '(lower-case, no www.), else "Direct / None" (no referrer, or the page\'s own host). ' +
        'By visitors, then visits. Not the event field `source`.',
    },
  ),
  top_channels: t.Array(
    t.Object({
      channel: t.String({ examples: ['Organic Search'] }),
      visitors: Count,
      visits: Count,
    }),
    {
      description:
        "Acquisition channels as Plausible's Channels tab, by visit: Direct, Organic Search, " +
        'Paid Search, Organic Social, Paid Social, Email, Referral … derived from the ' +
        "visit's source and its first event's utm_medium, utm_campaign, ad click id (gclid, " +
        "msclkid) and source tag (utm_source, else source, else ref) by Plausible's rules. " +
        'By visitors, then visits.',
    },
  ),
  ...campaignLists,
  top_events: top('name'),
  os: top('os'),
  browsers: top('browser'),
  devices: top('device'),
  countries: t.Array(
    t.Object({ country: t.String({ examples: ['DE'] }), events: Count, visitors: Count }),
    {
      description:
        'Countries of the client IPs (ISO 3166-1 alpha-2) when a GeoIP database is ' +
        'configured (GEOIP_DB); events without one are left out.',
    },
  ),
  ...RangeEcho,
});

const BucketLabel = t.String({
  description: 'Start of the bucket, ISO 8601 with the offset of tz.',
  examples: ['2026-03-08T00:00:00+01:00'],
});

export const TimeSeriesOut = t.Object({
  metric: t.String(),
  bucket: t.String(),
  group_by: t.Nullable(t.String()),
  ...RangeEcho,
  series: t.Array(
    t.Object({
      key: t.Nullable(t.String({ description: 'The group value; null when not grouped.' })),
      events: Count,
      points: t.Array(t.Object({ bucket: BucketLabel, value: t.Nullable(t.Number()) })),
    }),
  ),
});

export const EventPageOut = t.Object({ events: t.Array(StoredEventOut), next_cursor: cursor });

export const MetricPointOut = t.Object({
  id: t.String({ description: 'The event_id of the point.' }),
  name: t.String(),
  value: t.Number(),
  timestamp: t.String({ format: 'date-time' }),
  received_at: t.String({ format: 'date-time' }),
  tags: t.Nullable(t.Record(t.String(), t.Unknown(), { description: 'Its properties.' })),
  source: t.Nullable(t.String()),
});

export const MetricPageOut = t.Object({ metrics: t.Array(MetricPointOut), next_cursor: cursor });

const stat = t.Nullable(t.Number());

export const MetricAggregateOut = t.Object({
  name: t.String(),
  bucket: t.String(),
  ...RangeEcho,
  buckets: t.Array(
    t.Object({
      bucket: BucketLabel,
      count: Count,
      sum: stat,
      avg: stat,
      min: stat,
      max: stat,
      p50: stat,
      p95: stat,
    }),
  ),
});

export const SqlResultOut = t.Object({
  columns: t.Array(t.Object({ name: t.String(), type: t.String({ examples: ['BIGINT'] }) })),
  rows: t.Array(t.Array(t.Unknown()), { description: 'Rows as arrays, in column order.' }),
  row_count: Count,
  truncated: t.Boolean({
    description: 'True when rows were cut at the row limit or at the size limit of the rows.',
  }),
  elapsed_ms: t.Number(),
});
