// OpenAPI documentation of Plausible's Stats API v2 route (plausible-query.ts): the query body
// with an example, the answer in Plausible's shape, and Plausible's error body. Doc only: the
// route reads its body by hand, so that every refusal is Plausible's 400 naming the field.

import { t } from 'elysia';
import { queryLimits } from '../../query/index.ts';
import {
  errorAnswers,
  jsonAnswer,
  jsonInteger,
  jsonRequestBody,
  openObject,
  SLOW_BODY_TEXT,
} from './docs.ts';
import { PlausibleErrorOut } from './plausible-stats-docs.ts';

const Strings = t.Array(t.String());

const QueryIn = t.Object(
  {
    site_id: t.String({
      description:
        'The site: a `plausible_domain` alias of the project (AUTH_MODE=required; the bearer ' +
        "is its read key or a member's access token), or in open mode the tenant itself.",
    }),
    metrics: t.Array(t.String(), {
      description:
        'visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events, ' +
        'percentage, conversion_rate and group_conversion_rate (with an event:goal filter or ' +
        'dimension), time_on_page (whole seconds of engagement per visit when the range ' +
        "holds the tracker's engagement beacons, else Plausible's legacy time between page " +
        'views; with an event:page filter or dimension; null beside other dimensions), ' +
        "scroll_depth (percent: each visit's greatest, averaged; with a top-level " +
        'event:page filter or the event:page dimension alone), exit_rate (visits that left ' +
        'at the page ÷ its page views × 100, 1 decimal; with the dimension visit:exit_page ' +
        'alone and no event filter). By event:page, bounce_rate and visit_duration are of ' +
        'the visits that entered at the page (0 where none did), the other metrics of those ' +
        'that viewed it.',
    }),
    date_range: t.Union([t.String(), Strings], {
      description:
        'day, 7d, 28d, 30d, 91d (any `<n>d`: the n days before today), month, 6mo, 12mo (any ' +
        '`<n>mo`: the n months before this one), year, all; or two dates `YYYY-MM-DD`; or ' +
        'two ISO 8601 date-times with their offsets (the last second included).',
    }),
    dimensions: t.Optional(
      t.Array(t.String(), {
        description:
          `Up to ${queryLimits.statsQueryDimensionsMax}, one row per combination: event:page, ` +
          'event:name, event:goal, event:props:<key>, visit:source, visit:referrer, ' +
          'visit:entry_page, visit:exit_page, visit:utm_*, visit:device, visit:browser, ' +
          'visit:os, visit:channel, visit:country and visit:country_name (with GEOIP_DB), ' +
          'and one of time, time:hour, time:day, time:week, time:month.',
      }),
    ),
    filters: t.Optional(
      t.Array(t.Array(t.Unknown()), {
        description:
          '`[op, dimension, [values]]` with is, is_not, contains, contains_not, matches, ' +
          'matches_not (RE2), an optional `{"case_sensitive": false}`; nested with ' +
          '`["and", [...]]`, `["or", [...]]`, `["not", filter]`. The dimensions, and ' +
          'visit:screen (the device).',
      }),
    ),
    order_by: t.Optional(
      t.Array(t.Array(t.String()), {
        description: '`[metric or dimension, "asc" | "desc"]` entries.',
      }),
    ),
    include: t.Optional(
      t.Object({
        time_labels: t.Optional(t.Boolean()),
        total_rows: t.Optional(t.Boolean()),
        imports: t.Optional(t.Boolean()),
      }),
    ),
    pagination: t.Optional(
      t.Object({
        limit: t.Optional(jsonInteger({ minimum: 1, maximum: queryLimits.statsQueryRowsMax })),
        offset: t.Optional(jsonInteger({ minimum: 0, maximum: queryLimits.statsQueryOffsetMax })),
      }),
    ),
    tz: t.Optional(
      t.String({
        description:
          'Tally only: the IANA time zone of the days (a Plausible site has one, a Tally ' +
          'project none). Default UTC.',
      }),
    ),
  },
  { additionalProperties: false },
);

const QueryOut = t.Object({
  results: t.Array(
    t.Object({
      metrics: t.Array(t.Union([t.Number(), t.Null()])),
      dimensions: Strings,
    }),
  ),
  meta: openObject(
    'time_labels, total_rows, imports_included and imports_skip_reason, when include asks for them',
  ),
  query: openObject('The query as run: `time` resolved, the order spelled out'),
});

const EXAMPLE = {
  site_id: 'example.com',
  metrics: ['visitors', 'pageviews', 'bounce_rate'],
  date_range: '7d',
  dimensions: ['visit:source'],
  filters: [['contains', 'event:page', ['/blog']]],
};

export const QUERY_DOC = {
  summary: 'Plausible: query the stats (Stats API v2)',
  description:
    'Metrics over a date range, in total or by dimensions (properties and a time bucket), ' +
    'filtered, ordered and paged as Plausible’s Stats API v2. Authorization: Bearer <read ' +
    'key rk_… or access token> in AUTH_MODE=required.',
  requestBody: jsonRequestBody(QueryIn, EXAMPLE),
  responses: {
    200: jsonAnswer('The rows', QueryOut, {
      results: [{ metrics: [3, 4, 33], dimensions: ['Google'] }],
      meta: {},
      query: {
        site_id: 'example.com',
        metrics: ['visitors', 'pageviews', 'bounce_rate'],
        date_range: ['2026-11-18T00:00:00+00:00', '2026-11-24T23:59:59+00:00'],
        filters: [['contains', 'event:page', ['/blog']]],
        dimensions: ['visit:source'],
        order_by: [['visitors', 'desc']],
        include: {},
        pagination: { limit: queryLimits.statsQueryRowsMax, offset: 0 },
      },
    }),
    ...errorAnswers(
      {
        400: 'A query Plausible or Tally refuses, the field named (`#/metrics/0: …`)',
        401: 'AUTH_MODE=required: no key, or a key or site_id that may not read the site',
        408: SLOW_BODY_TEXT,
        413: `A body over ${queryLimits.statsQueryBytesMax} bytes`,
        415: 'A body that is not JSON',
        429: "The key's read rate limit or the tenant's reads at once; see Retry-After",
        503: 'Overloaded; see Retry-After',
      },
      () => PlausibleErrorOut,
    ),
  },
};
