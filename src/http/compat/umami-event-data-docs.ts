// OpenAPI documentation of Umami's event data reads (umami-event-data.ts) and its realtime
// read (umami-realtime.ts): parameters, Umami's answers with examples, its error body.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { jsonAnswer, queryParam } from './docs.ts';
import { PAGING } from './umami-activity-docs.ts';
import { AUTH_NOTE, Count, ERRORS, FILTERS, ID, NullableText, RANGE } from './umami-read-docs.ts';

const param = queryParam;
export const DataType = t.Integer({
  minimum: 1,
  maximum: 5,
  description: '1 string, 2 number, 3 boolean, 4 date, 5 array (JSON), as Umami numbers them.',
});
const DATA_NOTE =
  " Umami's event data: the custom data of custom events, here each custom event's own " +
  'properties (not those of page views, not `$` keys), nested objects flattened with dots ' +
  '(`cart.total`), an array one value.';
const PROPERTY_NAME = param('propertyName', 'Only this property (its flattened name).');
export const EVENT_DATA_PARAMS: OpenAPIV3.ParameterObject[] = [
  ID,
  ...RANGE.slice(0, 2),
  ...FILTERS,
];

export const EVENT_DATA_EVENTS_DOC = {
  summary: 'Umami: event data by event',
  description:
    "Each custom event's properties with their data type and how many events carry them " +
    '(at most 500 rows). With `event`, by each value too (`propertyValue`, as Umami stores ' +
    'it: a number with 4 decimals, a date as its UTC instant).' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [...EVENT_DATA_PARAMS, PROPERTY_NAME],
  responses: {
    200: jsonAnswer(
      'One row per event, property and type (and value)',
      t.Array(
        t.Object({
          eventName: t.String(),
          propertyName: t.String(),
          dataType: DataType,
          propertyValue: t.Optional(t.String()),
          total: Count,
        }),
      ),
      [{ eventName: 'signup', propertyName: 'plan', dataType: 1, propertyValue: 'pro', total: 2 }],
    ),
    ...ERRORS,
  },
};

export const EVENT_DATA_FIELDS_DOC = {
  summary: 'Umami: event data fields',
  description:
    'Each property and value with how many events carry it, by data type (highest first), ' +
    'then count; at most 100 rows. Numbers without `.0000`, dates by their UTC hour.' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [...EVENT_DATA_PARAMS, PROPERTY_NAME],
  responses: {
    200: jsonAnswer(
      'One row per property and value',
      t.Array(
        t.Object({ propertyName: t.String(), dataType: DataType, value: t.String(), total: Count }),
      ),
      [{ propertyName: 'seats', dataType: 2, value: '3', total: 2 }],
    ),
    ...ERRORS,
  },
};

export const EVENT_DATA_VALUES_DOC = {
  summary: "Umami: an event data property's values",
  description:
    'The values of `propertyName` (of the custom events named `eventName`, when given) with ' +
    'how many events carry each, the most frequent first; at most 100 rows.' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [
    ...EVENT_DATA_PARAMS,
    param('propertyName', 'The property (its flattened name).', true),
    param('eventName', 'Only custom events of exactly this name.'),
  ],
  responses: {
    200: jsonAnswer('One row per value', t.Array(t.Object({ value: t.String(), total: Count })), [
      { value: 'pro', total: 2 },
      { value: 'team', total: 1 },
    ]),
    ...ERRORS,
  },
};

export const EVENT_DATA_PROPERTIES_DOC = {
  summary: 'Umami: event data properties',
  description:
    "Each custom event's property names with how many events carry them, by event name, the " +
    'most frequent first; at most 500 rows.' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [...EVENT_DATA_PARAMS, PROPERTY_NAME],
  responses: {
    200: jsonAnswer(
      'One row per event and property',
      t.Array(t.Object({ eventName: t.String(), propertyName: t.String(), total: Count })),
      [{ eventName: 'signup', propertyName: 'plan', total: 3 }],
    ),
    ...ERRORS,
  },
};

export const EVENT_DATA_STATS_DOC = {
  summary: 'Umami: event data totals',
  description:
    'Custom events with data, distinct property names, and properties carried in all ' +
    '(records).' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [...EVENT_DATA_PARAMS, PROPERTY_NAME],
  responses: {
    200: jsonAnswer('The totals', t.Object({ events: Count, properties: Count, records: Count }), {
      events: 3,
      properties: 2,
      records: 5,
    }),
    ...ERRORS,
  },
};

const Counts = t.Record(t.String(), Count);
const Point = t.Object({ x: t.String(), y: Count });
const FeedItem = t.Object({
  __type: t.Union([t.Literal('session'), t.Literal('event'), t.Literal('pageview')]),
  sessionId: t.String({ description: "The visitor_id (Umami's session)." }),
  eventName: NullableText,
  createdAt: t.String({ format: 'date-time' }),
  browser: NullableText,
  os: NullableText,
  device: NullableText,
  country: NullableText,
  urlPath: NullableText,
  referrerDomain: NullableText,
  hostname: NullableText,
});
const feedExample = {
  sessionId: '9d8e7f6a-5b4c-5d2e-9f0a-1b2c3d4e5f60',
  eventName: null,
  createdAt: '2026-11-25T11:58:00.000Z',
  browser: 'Chrome',
  os: 'Windows',
  device: 'Desktop',
  country: 'DE',
  urlPath: '/pricing',
  referrerDomain: 'google.com',
  hostname: 'shop.example',
};

export const REALTIME_DOC = {
  summary: 'Umami: the last 30 minutes',
  description:
    'From the start of the minute 30 minutes ago to now: page views and sessions (visitors) ' +
    "per minute (as /pageviews labels them), and the newest 100 events: each session's " +
    'country once, the urls and referrer domains counted over those events, and the feed ' +
    '(newest first, each session marked `session` below its first event). `totals.visitors` ' +
    "adds up each minute's visitors, as Umami does." +
    AUTH_NOTE,
  parameters: [
    ID,
    RANGE[2] as OpenAPIV3.ParameterObject,
    param('unit', 'minute (default), hour, day, month or year.'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer(
      'The last 30 minutes',
      t.Object({
        countries: Counts,
        urls: Counts,
        referrers: Counts,
        events: t.Array(FeedItem),
        series: t.Object({ views: t.Array(Point), visitors: t.Array(Point) }),
        totals: t.Object({ views: Count, visitors: Count, events: Count, countries: Count }),
        timestamp: Count,
      }),
      {
        countries: { DE: 1 },
        urls: { '/pricing': 1 },
        referrers: { 'google.com': 1 },
        events: [
          { __type: 'pageview', ...feedExample },
          { __type: 'session', ...feedExample },
        ],
        series: {
          views: [{ x: '2026-11-25T11:58:00Z', y: 1 }],
          visitors: [{ x: '2026-11-25T11:58:00Z', y: 1 }],
        },
        totals: { views: 1, visitors: 1, events: 0, countries: 1 },
        timestamp: 1795607900000,
      },
    ),
    ...ERRORS,
  },
};

/** An event of the event-data answers, by its website, id and name. */
const DataEvent = { websiteId: t.String(), eventId: t.String(), eventName: t.String() };
const PropertyRow = t.Object({
  dataKey: t.String(),
  stringValue: t.String(),
  numberValue: t.Union([t.Number(), t.Null()]),
  dateValue: NullableText,
  dataType: DataType,
  createdAt: t.String({ format: 'date-time', description: "The event's time." }),
});
/** The examples' event, and its one property as PropertyRow has it. */
const SIGNUP_EVENT = {
  websiteId: '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b',
  eventId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  eventName: 'signup',
};
const PLAN_PROPERTY = {
  dataKey: 'plan',
  stringValue: 'pro',
  numberValue: null,
  dateValue: null,
  dataType: 1,
  createdAt: '2026-11-25T09:11:00.000Z',
};
const VALUES_TEXT =
  '`stringValue` as Umami stores it (a number with 4 decimals, a date as its UTC instant), ' +
  '`numberValue` for a number, `dateValue` for a date, else null';

export const EVENT_DATA_LIST_DOC = {
  summary: 'Umami: a page of events with their event data',
  description:
    'The custom events of the range that carry event data and match the filters, the newest ' +
    "first, a page of them; each with its properties as Umami's event_data rows, by name: " +
    `${VALUES_TEXT}. \`count\` is how many such events there are in all.` +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [...EVENT_DATA_PARAMS, ...PAGING],
  responses: {
    200: jsonAnswer(
      'A page of events with data',
      t.Object({
        data: t.Array(t.Object({ ...DataEvent, eventProperties: t.Array(PropertyRow) })),
        count: Count,
        page: Count,
        pageSize: Count,
      }),
      {
        data: [{ ...SIGNUP_EVENT, eventProperties: [PLAN_PROPERTY] }],
        count: 1,
        page: 1,
        pageSize: 20,
      },
    ),
    ...ERRORS,
  },
};

export const EVENT_DATA_OF_EVENT_DOC = {
  summary: 'Umami: the event data of one event',
  description:
    'Each property of the custom event `eventId` (an `id` of …/events, a Tally event_id), ' +
    `as Umami's event_data rows: ${VALUES_TEXT}; by property name. A page view, an unknown ` +
    'id or one of another website has none (`[]`, as Umami answers).' +
    DATA_NOTE +
    AUTH_NOTE,
  parameters: [
    ID,
    {
      name: 'eventId',
      in: 'path',
      required: true,
      description: "The event's id (its event_id).",
      schema: { type: 'string' },
    } satisfies OpenAPIV3.ParameterObject,
  ],
  responses: {
    200: jsonAnswer(
      'One row per property',
      t.Array(t.Object({ ...DataEvent, ...PropertyRow.properties })),
      [{ ...SIGNUP_EVENT, ...PLAN_PROPERTY }],
    ),
    ...ERRORS,
  },
};
