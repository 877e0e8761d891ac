// OpenAPI documentation of Plausible's Stats API v1 routes (plausible-stats.ts): their query
// parameters, answers in Plausible's shapes with examples, and Plausible's error body. Doc
// only: the routes read their parameters by hand, so that every refusal is Plausible's 400.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { queryLimits } from '../../query/index.ts';
import { errorAnswers, jsonAnswer, type ResponseDocs } from './docs.ts';
import { PLAUSIBLE_PERIODS } from './plausible-stats-params.ts';

export const PlausibleErrorOut = t.Object(
  { error: t.String({ description: 'What was refused, in Plausible’s words where it has them.' }) },
  { description: 'Plausible’s error body' },
);

const Value = t.Number();
const AggregateOut = t.Object({
  results: t.Record(
    t.String(),
    t.Object({
      value: Value,
      comparison_value: t.Optional(Value),
      change: t.Optional(t.Union([Value, t.Null()])),
    }),
    { description: 'Per metric asked for: its value (and with compare, the previous one).' },
  ),
});
const TimeseriesOut = t.Object({
  results: t.Array(
    t.Object(
      { date: t.String({ description: 'YYYY-MM-DD, or YYYY-MM-DD HH:00:00 by hour' }) },
      { additionalProperties: t.Union([Value, t.Null()]) },
    ),
  ),
});
const BreakdownOut = t.Object({
  results: t.Array(t.Record(t.String(), t.Union([t.String(), Value]))),
});

type Parameter = OpenAPIV3.ParameterObject;
const param = (name: string, description: string, required = false): Parameter => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type: 'string' },
});

const SITE = param(
  'site_id',
  'The site: a `plausible_domain` alias of the project (AUTH_MODE=required; the bearer is ' +
    "its read key or a member's access token), or in open mode the tenant itself.",
  true,
);
const PERIOD = param(
  'period',
  `One of ${PLAUSIBLE_PERIODS.join(', ')} (default 30d), relative to \`date\` (7d and 30d: ` +
    'the days before it); custom takes `date=YYYY-MM-DD,YYYY-MM-DD` (both days included).',
);
const DATE = param('date', 'The reference day, YYYY-MM-DD (default: today in `tz`).');
const TZ = param(
  'tz',
  'Tally only: the IANA time zone of the days (a Plausible site has one, a Tally project ' +
    'none). Default UTC.',
);
const METRICS = param(
  'metrics',
  'Comma list of visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, ' +
    'events, conversion_rate (with a goal filter or by event:goal), time_on_page (seconds: ' +
    "of engagement when the range holds the tracker's engagement beacons, else Plausible's " +
    'legacy one; with a page filter or by event:page; null in a timeseries; default ' +
    "visitors). No scroll_depth: that is v2's.",
);
const FILTERS = param(
  'filters',
  '`;`-joined `property==value` or `property!=value`; `|` between alternatives, `*` any ' +
    'text: `event:page==/blog/**;visit:source==Google|Twitter`. Or, as Plausible also reads ' +
    "it, a JSON list of v2's filters, all of which must hold: " +
    '`[["is","visit:browser",["Firefox"]],["contains","event:page",["blog"]]]` (is, is_not, ' +
    'contains, contains_not, matches, matches_not, matches_wildcard, matches_wildcard_not: ' +
    '`|` and `*` as above; no and, or, not).',
);
const READ_PARAMS = [SITE, PERIOD, DATE, TZ, METRICS, FILTERS];

const ERRORS: ResponseDocs = errorAnswers(
  {
    400: 'A parameter Plausible or Tally refuses (unknown metric or property, bad period, …)',
    401: 'AUTH_MODE=required: no key, or a key or site_id that may not read the site',
    429: "The key's read rate limit or the tenant's reads at once; see Retry-After",
    503: 'Overloaded; see Retry-After',
  },
  () => PlausibleErrorOut,
);

const AUTH_NOTE = ' Authorization: Bearer <read key rk_… or access token> in AUTH_MODE=required.';

export const REALTIME_DOC = {
  summary: 'Plausible: current visitors',
  description: `Distinct visitors with an event in the last 5 minutes (bots left out).${AUTH_NOTE}`,
  parameters: [SITE],
  responses: {
    200: jsonAnswer('The number of current visitors', t.Integer(), 1),
    ...ERRORS,
  },
};

export const AGGREGATE_DOC = {
  summary: 'Plausible: metrics over a period',
  description:
    'Each metric over the period, as Plausible defines it. compare=previous_period adds the ' +
    'value of the days just before and the change in percent (bounce_rate: in points).' +
    AUTH_NOTE,
  parameters: [
    ...READ_PARAMS,
    param('compare', 'previous_period to compare (optional; another value compares nothing).'),
  ],
  responses: {
    200: jsonAnswer('The metrics', AggregateOut, { results: { visitors: { value: 1 } } }),
    ...ERRORS,
  },
};

export const TIMESERIES_DOC = {
  summary: 'Plausible: metrics per day, month or hour',
  description:
    'Every bucket of the period, empty ones 0 (visit_duration: null). Events count at their ' +
    'time; visits, as Plausible counts sessions, on the day or month of their last event ' +
    '(the last of the period when later) and in every hour they span.' +
    AUTH_NOTE,
  parameters: [
    ...READ_PARAMS,
    param('interval', 'date (or day), month; default hours for period=day, months for 6mo/12mo.'),
  ],
  responses: {
    200: jsonAnswer('One row per bucket', TimeseriesOut, {
      results: [{ date: '2026-11-25', visitors: 1 }],
    }),
    ...ERRORS,
  },
};

export const BREAKDOWN_DOC = {
  summary: 'Plausible: metrics per value of a property',
  description:
    'Rows ranked by the first metric, then the value; each row names its value by the ' +
    'property without its prefix (page, source, goal, …). By event:page, as Plausible: ' +
    'bounce_rate and visit_duration are of the visits that entered at the page (0 where none ' +
    'did; page filters read on the entry page), visitors, visits, pageviews and events of ' +
    'those that viewed it; asked for only those two, the rows are the entry pages.' +
    AUTH_NOTE,
  parameters: [
    ...READ_PARAMS,
    param(
      'property',
      'event:page, event:name, event:goal (custom events), event:props:<key>, visit:source, ' +
        "visit:channel (Plausible's acquisition channels: Organic Search, Paid Search, Email, " +
        'Direct, …), visit:referrer, visit:entry_page, visit:exit_page, visit:utm_source ' +
        '(medium, campaign, content, term), visit:browser, visit:os, visit:device, ' +
        'visit:country (ISO 3166-1 alpha-2, with GEOIP_DB).',
      true,
    ),
    param('limit', `Rows per page, 1–${queryLimits.breakdownRowsMax} (default 100).`),
    param('page', `The page, from 1 (at most ${queryLimits.breakdownPageMax}).`),
  ],
  responses: {
    200: jsonAnswer('One row per value', BreakdownOut, {
      results: [{ page: '/pricing', visitors: 1 }],
    }),
    ...ERRORS,
  },
};
