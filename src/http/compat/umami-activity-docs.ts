// OpenAPI documentation of Umami's session and event reads (umami-activity.ts): parameters,
// Umami's answers with examples, and its error body (shared with umami-read-docs.ts).

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { errorAnswers, jsonAnswer, queryParam } from './docs.ts';
import { UmamiErrorOut } from './umami-errors.ts';
import {
  AUTH_NOTE,
  Count,
  ERRORS,
  FILTERS,
  ID,
  NullableText,
  RANGE,
  WEBSITE,
} from './umami-read-docs.ts';

const param = queryParam;
const Time = t.String({ format: 'date-time' });
const Nothing = t.Null({ description: 'Tally locates visitors by country only.' });
export const SESSION_ID: OpenAPIV3.ParameterObject = {
  name: 'sessionId',
  in: 'path',
  required: true,
  description:
    "The session's id: a visitor_id (the session list's `id`; the sessionId /api/send " +
    'answered an item without a distinct `id`), else an anonymous id of the events (the ' +
    'sessionId /api/send answered an item with a distinct `id`, whose visitor is that user): ' +
    'the visitor of the newest such event.',
  schema: { type: 'string' },
};
export const PAGING = [
  param('page', 'From 1.'),
  param('pageSize', 'Rows per page (default 20, at most 500).'),
];
const SESSION_NOTE =
  ' A session is a Tally visitor (its visitor_id; for events sent to /api/send, the ' +
  'sessionId it answered), its visits are Tally visits; region and city are null.';

const SessionFields = {
  id: t.String(),
  websiteId: t.String(),
  hostname: NullableText,
  browser: NullableText,
  os: NullableText,
  device: NullableText,
  screen: NullableText,
  language: NullableText,
  country: NullableText,
  region: Nothing,
  city: Nothing,
  firstAt: Time,
  lastAt: Time,
  visits: Count,
  views: Count,
  events: Count,
};
const sessionExample = {
  id: '9d8e7f6a-5b4c-5d2e-9f0a-1b2c3d4e5f60',
  websiteId: WEBSITE,
  hostname: 'shop.example',
  browser: 'Chrome',
  os: 'Windows',
  device: 'Desktop',
  screen: '1920x1080',
  language: 'en-US',
  country: 'DE',
  region: null,
  city: null,
  firstAt: '2026-11-24T10:00:00.000Z',
  lastAt: '2026-11-24T10:05:00.000Z',
  visits: 1,
  views: 2,
  events: 1,
};

export const SESSIONS_DOC = {
  summary: 'Umami: sessions, the newest first',
  description:
    'The sessions with events in the range that match the filters (each event filtered), ' +
    'their visits, page views and custom events counted over those events.' +
    SESSION_NOTE +
    AUTH_NOTE,
  parameters: [
    ID,
    ...RANGE,
    ...PAGING,
    param('search', 'Only sessions whose user id, browser, OS or device contains this.'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer(
      'A page of sessions',
      t.Object({
        data: t.Array(t.Object({ ...SessionFields, createdAt: Time })),
        count: Count,
        page: Count,
        pageSize: Count,
      }),
      {
        data: [{ ...sessionExample, createdAt: sessionExample.lastAt }],
        count: 1,
        page: 1,
        pageSize: 20,
      },
    ),
    ...ERRORS,
  },
};

const Value = t.Object({ value: Count });

export const SESSION_STATS_DOC = {
  summary: 'Umami: session totals',
  description:
    'Page views, visitors and visits (as /stats counts them), countries of the visits, and ' +
    'custom events of the range.' +
    AUTH_NOTE,
  parameters: [ID, ...RANGE, ...FILTERS],
  responses: {
    200: jsonAnswer(
      'The totals',
      t.Object({
        pageviews: Value,
        visitors: Value,
        visits: Value,
        countries: Value,
        events: Value,
      }),
      {
        pageviews: { value: 5 },
        visitors: { value: 3 },
        visits: { value: 4 },
        countries: { value: 2 },
        events: { value: 1 },
      },
    ),
    ...ERRORS,
  },
};

export const SESSION_DOC = {
  summary: 'Umami: one session',
  description:
    'A session over all of its events, its `id` the id asked; 404 when it has none.' +
    SESSION_NOTE +
    AUTH_NOTE,
  parameters: [ID, SESSION_ID],
  responses: {
    200: jsonAnswer(
      'The session',
      t.Object({
        ...SessionFields,
        distinctId: NullableText,
        totaltime: t.Number({ description: 'Seconds, first to last event of each visit, summed.' }),
      }),
      { ...sessionExample, distinctId: null, totaltime: 300 },
    ),
    ...ERRORS,
    ...errorAnswers({ 404: 'No event of this session' }, () => UmamiErrorOut),
  },
};

export const SESSION_ACTIVITY_DOC = {
  summary: "Umami: a session's events",
  description:
    'The newest 500 events of the session in the range: eventType 1 is a page view, 2 a ' +
    'custom event (named by eventName); visitId names its Tally visit.' +
    AUTH_NOTE,
  parameters: [ID, SESSION_ID, ...RANGE],
  responses: {
    200: jsonAnswer(
      'The events',
      t.Array(
        t.Object({
          createdAt: Time,
          urlPath: NullableText,
          urlQuery: NullableText,
          referrerDomain: NullableText,
          eventId: t.String(),
          eventType: Count,
          eventName: NullableText,
          visitId: t.String(),
          hasData: t.Boolean({ description: 'Whether the event has properties of its own.' }),
        }),
      ),
      [
        {
          createdAt: '2026-11-24T10:05:00.000Z',
          urlPath: '/blog/hello',
          urlQuery: null,
          referrerDomain: null,
          eventId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
          eventType: 2,
          eventName: 'signup',
          visitId: 'f1e2d3c4-b5a6-5978-8a9b-0c1d2e3f4a5b',
          hasData: true,
        },
      ],
    ),
    ...ERRORS,
  },
};

const EventOut = t.Object({
  id: t.String(),
  websiteId: t.String(),
  sessionId: t.String({ description: "The visitor_id (Umami's session)." }),
  createdAt: Time,
  hostname: NullableText,
  urlPath: NullableText,
  urlQuery: NullableText,
  referrerPath: NullableText,
  referrerQuery: NullableText,
  referrerDomain: NullableText,
  country: NullableText,
  city: Nothing,
  device: NullableText,
  os: NullableText,
  browser: NullableText,
  pageTitle: NullableText,
  eventType: Count,
  eventName: NullableText,
  hasData: t.Boolean(),
});

export const EVENTS_DOC = {
  summary: 'Umami: events, the newest first',
  description:
    'Page views (eventType 1) and custom events (2, with eventName) of the range that match ' +
    'the filters, each event filtered.' +
    AUTH_NOTE,
  parameters: [
    ID,
    ...RANGE,
    ...PAGING,
    param('search', 'Only custom events whose name, or page views whose path, contains this.'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer(
      'A page of events',
      t.Object({ data: t.Array(EventOut), count: Count, page: Count, pageSize: Count }),
      {
        data: [
          {
            id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
            websiteId: WEBSITE,
            sessionId: sessionExample.id,
            createdAt: '2026-11-24T10:05:00.000Z',
            hostname: 'shop.example',
            urlPath: '/blog/hello',
            urlQuery: null,
            referrerPath: null,
            referrerQuery: null,
            referrerDomain: null,
            country: 'DE',
            city: null,
            device: 'Desktop',
            os: 'Windows',
            browser: 'Chrome',
            pageTitle: 'Hello',
            eventType: 2,
            eventName: 'signup',
            hasData: true,
          },
        ],
        count: 1,
        page: 1,
        pageSize: 20,
      },
    ),
    ...ERRORS,
  },
};

const EventTotals = { events: Count, visitors: Count, visits: Count, uniqueEvents: Count };

export const EVENT_STATS_DOC = {
  summary: 'Umami: custom event totals with the comparison period',
  description:
    'Custom events of the range, their visitors, visits and distinct names, and the same for ' +
    'the range compared with (compare=prev, the default, or yoy).' +
    AUTH_NOTE,
  parameters: [ID, ...RANGE, param('compare', 'prev (default) or yoy.'), ...FILTERS],
  responses: {
    200: jsonAnswer(
      'The totals',
      t.Object({
        data: t.Object({ ...EventTotals, comparison: t.Object(EventTotals) }),
      }),
      {
        data: {
          events: 3,
          visitors: 2,
          visits: 2,
          uniqueEvents: 2,
          comparison: { events: 1, visitors: 1, visits: 1, uniqueEvents: 1 },
        },
      },
    ),
    ...ERRORS,
  },
};

export const EVENT_SERIES_DOC = {
  summary: 'Umami: custom events per name and time unit',
  description:
    'Custom events of the range by name and bucket (`t`, labelled as /pageviews labels its ' +
    '`x`), buckets without any left out, by bucket, then count. At most 10,000 rows.' +
    AUTH_NOTE,
  parameters: [
    ID,
    ...RANGE,
    param('unit', 'minute, hour, day, month or year; coarser when the range is too long.'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer('The series', t.Array(t.Object({ x: t.String(), t: t.String(), y: Count })), [
      { x: 'signup', t: '2026-11-25T10:00:00Z', y: 3 },
      { x: 'trial', t: '2026-11-25T10:00:00Z', y: 1 },
    ]),
    ...ERRORS,
  },
};

export const SESSIONS_WEEKLY_DOC = {
  summary: 'Umami: visitors by weekday and hour',
  description:
    'The distinct visitors of each hour of the week in the zone asked: 7 rows (Sunday first) ' +
    'of 24 numbers (hour 0 first), over the events of the range that match the filters.' +
    AUTH_NOTE,
  parameters: [ID, ...RANGE, ...FILTERS],
  responses: {
    200: jsonAnswer(
      'Visitors by weekday and hour',
      t.Array(t.Array(Count, { minItems: 24, maxItems: 24 }), { minItems: 7, maxItems: 7 }),
      Array.from({ length: 7 }, (_, day) =>
        Array.from({ length: 24 }, (_, hour) => (day === 3 && hour === 10 ? 2 : 0)),
      ),
    ),
    ...ERRORS,
  },
};
