// The query parameters and the SQL body of the read routes, as TypeBox schemas: what Elysia
// validates (422 naming the parameter) and what OpenAPI documents for each of them.

import { t } from 'elysia';
import { eventLimits } from '../core/index.ts';
import {
  BUCKET_UNITS,
  type BucketUnit,
  CHANNELS,
  cursorCharsMax,
  EXPORT_FORMATS,
  queryLimits,
  SERIES_METRICS,
  VISIT_REACH_MINUTES,
} from '../query/index.ts';
import { tenantIdSchema } from './model.ts';

const text = (description: string, example: string, maxLength: number = eventLimits.idCharsMax) =>
  t.Optional(t.String({ maxLength, description, examples: [example] }));

/**
 * What leaving an empty parameter out means, said with its 422 (http/errors.ts): no stored
 * name, path, source, user or session is empty, so `name=` could only ever match nothing.
 */
const NO_FILTER = { 'x-empty': 'leave the parameter out for no filter' };

/** A filter's value: 1 to maxLength characters; an empty one is a 422 naming the parameter. */
const filterText = (
  description: string,
  example: string,
  maxLength: number = eventLimits.idCharsMax,
) =>
  t.Optional(t.String({ minLength: 1, maxLength, description, examples: [example], ...NO_FILTER }));

/**
 * The tenant of every read (native reads, metrics, events by id, live sockets): checked by the
 * rule ingest checks it by, so a name no event can carry (empty, `a/b`, NUL) is a 422 rather
 * than an empty answer for a tenant that cannot exist.
 */
export const tenantParam = { tenant_id: t.Optional(tenantIdSchema()) };

export const rangeParams = {
  from: text(
    'Start (inclusive): ISO 8601 with an offset, epoch ms, or YYYY-MM-DD (local midnight in tz).',
    '2026-03-08T00:00:00-05:00',
    64,
  ),
  to: text('End (exclusive); a bare YYYY-MM-DD includes that whole day.', '2026-03-09', 64),
};

/**
 * A choice among literals, as a parameter or an answer's field. (Not t.UnionEnum: Elysia fills
 * a missing optional UnionEnum with its first value.)
 */
export const literalsOf = <T extends string>(
  values: readonly T[],
  options: { description: string; examples?: T[] },
) =>
  t.Union(
    values.map((v) => t.Literal(v)),
    options,
  );

/** An optional choice among literals. */
export const oneOf = <T extends string>(
  values: readonly T[],
  options: { description: string; examples?: T[] },
) => t.Optional(literalsOf(values, options));

export const tzParam = {
  tz: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone of dates and buckets; UTC when absent.',
      examples: ['America/New_York'],
      'x-empty': 'leave the parameter out for UTC',
    }),
  ),
};

export const filterParams = {
  name: filterText('Only events with this name.', 'page_view', eventLimits.nameCharsMax),
  path: filterText('Only events on this path.', '/pricing', eventLimits.urlCharsMax),
  source: filterText('Only events from this source.', 'web'),
  user_id: filterText('Only events of this user.', 'user_42'),
  anonymous_id: filterText(
    "Only events of this anonymous id (a browser's or device's, as an SDK sends it).",
    'anon_5d1e',
  ),
  visitor_id: filterText(
    "Only events of this visitor_id (the user_id, else the anonymous_id, else Tally's daily " +
      'hash of the address and agent): the ids an erasure takes.',
    'dfa07795c2a94f1b8e0d4a6b9c3e7f21',
  ),
  os: filterText('Only events from this operating system.', 'macOS'),
  browser: filterText('Only events from this browser.', 'Chrome'),
  device: filterText('Only events from this device type.', 'mobile'),
  country: t.Optional(
    t.String({
      pattern: '^[A-Za-z]{2}$',
      description: 'Only events from this country: ISO 3166-1 alpha-2 (GEOIP_DB).',
      examples: ['DE'],
    }),
  ),
  bots: oneOf(['include', 'exclude'], {
    description: 'Bot traffic is excluded unless `include`; `device=bot` includes it.',
    examples: ['include'],
  }),
};

/** A funnel's step, a cohort read's start or return (query/step-syntax.ts), as documented. */
export const STEP_SYNTAX =
  '`name:<event name>` (a page view name, page_view, pageview, $pageview or page, matches ' +
  'every page view), `path:<path>` (a page view of that path) or ' +
  '`name:<event name>,path:<path>` (an event of that name on that path), each with optional ' +
  '`property.<key>:<value>` conditions, ANDed (`name:purchase,property.plan:pro`): the ' +
  "event's property key equals value as text, as the `property.<key>=value` filters compare " +
  '(1 and "1" alike; a `$` key also under `$posthog`). A comma starts the next condition ' +
  'only before `name:`, `path:` or `property.<key>:` (a key without a comma or colon), so ' +
  'names, paths and values may hold other commas and colons. Names and keys are at most ' +
  `${eventLimits.nameCharsMax} characters, paths ${eventLimits.urlCharsMax}, values ` +
  `${queryLimits.stepPropertyValueCharsMax}; at most ${queryLimits.stepPropertiesMax} ` +
  'property conditions a step.';

/** What a step matches as an answer echoes it: `properties` only when the step has some. */
export const StepMatch = (description: string) =>
  t.Object(
    {
      name: t.Optional(t.String()),
      path: t.Optional(t.String()),
      properties: t.Optional(t.Record(t.String(), t.String())),
    },
    { description },
  );

/**
 * Whom each `by` of a funnel or a cohort read follows (query/actors.ts), said once for both.
 * A session is read after a user in every list (ACTOR_SQL's order), hence its "likewise".
 */
const ACTOR_DOCS = {
  visitor: 'visitor (visitor_id, the default)',
  device: 'device (anonymous_id, else visitor_id: one browser before and after a sign-up)',
  person:
    'person (the user_id, else the user the anonymous_id is linked to by the earliest event ' +
    'with both, else the device: anonymous events before a sign-up and identified ones after)',
  user: 'user (user_id; events without one are left out)',
  session: 'session (session_id; likewise)',
};

/** `a, b or c`. */
export const orList = (items: readonly string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** The `by` values of a read (the default first), each with whom it follows: `a (…) or b (…)`. */
export const actorsDoc = (names: readonly (keyof typeof ACTOR_DOCS)[]) =>
  orList(names.map((name) => ACTOR_DOCS[name]));

export const FILTER_NOTE =
  ' Add `property.<key>=value` to keep events whose property equals value (as text).';

/** A visit filter's value: what a visit's source, page or campaign tag may be. */
const visitText = (description: string, example: string) =>
  t.Optional(
    t.String({
      minLength: 1,
      maxLength: eventLimits.urlCharsMax,
      description,
      examples: [example],
      ...NO_FILTER,
    }),
  );

/**
 * The visit filters (query/visit-scope.ts): each keeps every event of the visits whose
 * property (that of the visit's first event, or its first and last page view) equals the
 * value exactly, as Plausible's `visit:` filters.
 */
const visitFilterParams = {
  referrer_source: visitText(
    'Only the events of visits from this source, as top_referrer_sources names it: the entry ' +
      "URL's utm_source (else source, ref), else the referrer's host (known ones by name), else " +
      '"Direct / None". Not the event field `source`.',
    'Google',
  ),
  channel: oneOf(CHANNELS, {
    description: 'Only the events of visits from this acquisition channel (as top_channels).',
    examples: ['Organic Search'],
  }),
  entry_page: visitText('Only the events of visits whose first page view is on this path.', '/'),
  exit_page: visitText(
    'Only the events of visits whose last page view is on this path.',
    '/pricing',
  ),
  utm_source: visitText(
    'Only the events of visits whose entry URL has this utm_source (else source, ref).',
    'newsletter',
  ),
  utm_medium: visitText('Only the events of visits whose entry URL has this utm_medium.', 'email'),
  utm_campaign: visitText(
    'Only the events of visits whose entry URL has this utm_campaign.',
    'spring_sale',
  ),
  utm_content: visitText('Only the events of visits whose entry URL has this utm_content.', 'hero'),
  utm_term: visitText('Only the events of visits whose entry URL has this utm_term.', 'shoes'),
};

export const VISIT_FILTER_NOTE =
  ' Visit filters (referrer_source, channel, entry_page, exit_page, utm_*) keep every event of ' +
  "the visits that match, as Plausible's visit: filters; a visit with an event in the range " +
  `is read whole (its events up to ${VISIT_REACH_MINUTES / 60} hours around the range), as ` +
  'Plausible reads sessions.';

const pageParams = {
  limit: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: queryLimits.pageMax,
      description: `Items per page, ${queryLimits.pageDefault} by default.`,
      examples: [100],
    }),
  ),
  cursor: text(
    '`next_cursor` of the previous page.',
    'WyIxNzcyOTYwNDAwMDAwMDAwIiwiZXYtMSJd',
    cursorCharsMax,
  ),
};

/**
 * `date=YYYY-MM-DD`: the whole local day in tz, instead of from/to (query/time-range.ts reads
 * it), on every native read that takes a range.
 */
export const dateParam = {
  date: text(
    'A whole local day of tz, YYYY-MM-DD (23 or 25 hours across a DST change), instead of ' +
      'from/to: date with from or to is a 422.',
    '2026-03-08',
    10,
  ),
};

export const StatsQuery = t.Object({
  ...tenantParam,
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...filterParams,
  ...visitFilterParams,
  top: t.Optional(
    t.Integer({ minimum: 1, maximum: queryLimits.topMax, description: 'Rows per top list.' }),
  ),
});

export const bucketParam = (unit: BucketUnit) =>
  oneOf(BUCKET_UNITS, {
    description: `Bucket size (${unit} by default); buckets start at local boundaries of tz.`,
    examples: ['hour'],
  });

export const SeriesQuery = t.Object({
  ...tenantParam,
  metric: oneOf(SERIES_METRICS, {
    description:
      'count (events, the default), uniques (distinct visitors), or ' +
      'sum/avg/min/max/p50/p95/p99 of `value`.',
    examples: ['uniques'],
  }),
  bucket: bucketParam('day'),
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...filterParams,
  ...visitFilterParams,
  group_by: t.Optional(
    t.String({
      minLength: 1,
      maxLength: eventLimits.nameCharsMax + 16,
      description:
        'name, path, os, browser, device, country, source, referrer or property:<key>; or a ' +
        "property of each event's visit: referrer_source, channel, entry_page, exit_page, " +
        'utm_source, utm_medium, utm_campaign, utm_content or utm_term.',
      examples: ['path'],
      'x-empty': 'leave the parameter out for no grouping',
    }),
  ),
  series: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: queryLimits.seriesMax,
      description: `Top N groups by event count (${queryLimits.seriesDefault} by default).`,
    }),
  ),
  fill: oneOf(['zero'], { description: 'List empty buckets too.' }),
});

/**
 * `bots` on an event list or an export: the raw events, so bots are in unless `exclude` (stats,
 * series, funnels and cohorts leave them out unless `include`).
 */
const listBotsParam = oneOf(['include', 'exclude'], {
  description:
    'Bot traffic is included (the raw events) unless `exclude`; `device=bot` includes it.',
  examples: ['exclude'],
});

export const EventsQuery = t.Object({
  ...tenantParam,
  name: filterParams.name,
  user_id: filterParams.user_id,
  anonymous_id: filterParams.anonymous_id,
  visitor_id: filterParams.visitor_id,
  session_id: filterText('Only events of this session.', 's_8f2c'),
  source: filterParams.source,
  path: filterParams.path,
  os: filterParams.os,
  browser: filterParams.browser,
  device: filterParams.device,
  country: filterParams.country,
  bots: listBotsParam,
  ...visitFilterParams,
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...pageParams,
});

export const ExportQuery = t.Object({
  ...tenantParam,
  format: oneOf(EXPORT_FORMATS, {
    description: 'ndjson (the default), csv or parquet.',
    examples: ['csv'],
  }),
  name: EventsQuery.properties.name,
  user_id: EventsQuery.properties.user_id,
  anonymous_id: EventsQuery.properties.anonymous_id,
  visitor_id: EventsQuery.properties.visitor_id,
  session_id: EventsQuery.properties.session_id,
  source: EventsQuery.properties.source,
  path: EventsQuery.properties.path,
  os: EventsQuery.properties.os,
  browser: EventsQuery.properties.browser,
  device: EventsQuery.properties.device,
  country: EventsQuery.properties.country,
  bots: listBotsParam,
  ...dateParam,
  ...rangeParams,
  ...tzParam,
});

export const MetricsQuery = t.Object({
  ...tenantParam,
  name: filterText('Only points of this metric.', 'cpu_load', eventLimits.nameCharsMax),
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...pageParams,
});

export const SqlBody = t.Object({
  sql: t.String({
    minLength: 1,
    maxLength: queryLimits.sqlCharsMax,
    description: 'One SELECT over `events` (your tenant only).',
    examples: ['SELECT name, count(*) AS n FROM events WHERE path = ? GROUP BY name'],
  }),
  params: t.Optional(
    t.Array(
      t.Union([t.String(), t.Number(), t.Boolean(), t.Null()], {
        description: 'a string, number, boolean or null',
      }),
      {
        maxItems: queryLimits.sqlParamsMax,
        description: 'Values of ? or $1, $2, … in order.',
        examples: [['/pricing']],
      },
    ),
  ),
});
