// OpenAPI documentation of Umami's read API (umami-read.ts, umami-read-auth.ts): the query
// parameters, Umami's answers with examples, and Umami's error body. Doc only: the routes read
// their parameters by hand, so that every refusal is Umami's 400.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { requestLimits } from '../../core/index.ts';
import { jsonContent } from '../openapi-docs.ts';
import {
  errorAnswers,
  jsonAnswer,
  jsonInteger,
  queryParam,
  type ResponseDocs,
  SLOW_BODY_TEXT,
} from './docs.ts';
import { UmamiErrorOut } from './umami-errors.ts';

export const Count = jsonInteger({ minimum: 0 });
export const NullableText = t.Union([t.String(), t.Null()]);

const UserOut = t.Object({
  id: t.String(),
  username: t.String({ description: "The account's email." }),
  role: t.String({ description: 'admin or user.' }),
  createdAt: t.String({ format: 'date-time' }),
  isAdmin: t.Boolean(),
  teams: t.Array(t.Object({}), { description: 'Always empty: Tally has no teams.' }),
});
const userExample = {
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  username: 'ada@example.com',
  role: 'admin',
  createdAt: '2026-11-01T09:00:00.000Z',
  isAdmin: true,
  teams: [],
};

const WebsiteOut = t.Object({
  id: t.String({ description: "The `umami_website` alias, else the project's id." }),
  name: t.String(),
  domain: t.String({ description: "The project's plausible_domain alias, else ''." }),
  shareId: t.Null(),
  resetAt: t.Null(),
  userId: t.Null(),
  teamId: t.Null(),
  createdBy: t.Null(),
  createdAt: NullableText,
  updatedAt: t.Null(),
  deletedAt: t.Null(),
});
export const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const websiteExample = {
  id: WEBSITE,
  name: 'Shop',
  domain: 'shop.example',
  shareId: null,
  resetAt: null,
  userId: null,
  teamId: null,
  createdBy: null,
  createdAt: '2026-11-01T09:00:00.000Z',
  updatedAt: null,
  deletedAt: null,
};

const Totals = {
  pageviews: Count,
  visitors: Count,
  visits: Count,
  bounces: Count,
  totaltime: t.Number({ description: 'Seconds, first to last page view of a visit, summed.' }),
};
const StatsOut = t.Object({ ...Totals, comparison: t.Object(Totals) });
const Point = t.Object({ x: t.String(), y: Count });
const Series = { pageviews: t.Array(Point), sessions: t.Array(Point) };
const PageviewsOut = t.Object({
  ...Series,
  startDate: t.Optional(t.String({ format: 'date-time' })),
  endDate: t.Optional(t.String({ format: 'date-time' })),
  compare: t.Optional(
    t.Object({
      ...Series,
      startDate: t.String({ format: 'date-time' }),
      endDate: t.String({ format: 'date-time' }),
    }),
  ),
});
const MetricsOut = t.Array(t.Object({ x: NullableText, y: Count }));

const param = queryParam;
export const ID: OpenAPIV3.ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  description:
    "The website id: a project's `umami_website` alias or the project id (in AUTH_MODE=open, " +
    'the tenant).',
  schema: { type: 'string' },
};
export const RANGE = [
  param('startAt', 'Start, epoch ms (included); or startDate (ISO 8601).'),
  param('endAt', 'End, epoch ms (included); or endDate (ISO 8601).'),
  param('timezone', 'IANA zone of the buckets (default UTC).'),
];
export const FILTERS = [
  'path',
  'referrer',
  'entry',
  'exit',
  'title',
  'query',
  'browser',
  'os',
  'device',
  'hostname',
  'host',
  'language',
  'tag',
  'event',
].map((name) =>
  param(
    name,
    'Filter: a value, or eq./neq./c./dnc. before it (equals, not, contains, not); ' +
      'an eq or neq value is a comma-separated list (any of it; none of it).',
  ),
);

export const ERRORS: ResponseDocs = errorAnswers(
  {
    400: 'A parameter Umami or Tally refuses (no range, bad unit or zone, unsupported filter)',
    401: 'No credential, or one that may not read this website (or no such website)',
    429: "The read rate limit or the tenant's reads at once; see Retry-After",
    503: 'Overloaded; see Retry-After',
  },
  () => UmamiErrorOut,
);

export const AUTH_NOTE =
  ' Authorization: Bearer <access token from /api/auth/login, or a read key rk_…>' +
  ' (or x-umami-api-key) in AUTH_MODE=required.';

export const LOGIN_DOC = {
  summary: 'Umami: sign in',
  description:
    "Tally's login, with Umami's body and answer: the username is the account's email, the " +
    "token Tally's access token (it expires; sign in again, or use a read key).",
  requestBody: {
    required: true,
    content: jsonContent(
      t.Object({
        username: t.String({ description: "The account's email." }),
        password: t.String(),
      }),
      { username: 'ada@example.com', password: 'correct horse battery' },
    ),
  },
  responses: {
    200: jsonAnswer('Signed in', t.Object({ token: t.String(), user: UserOut }), {
      token: 'eyJhbGciOiJIUzI1NiIsImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ.e30.c2ln',
      user: userExample,
    }),
    ...errorAnswers(
      {
        400:
          'Not JSON {username, password}: the body is read as JSON whatever its ' +
          'Content-Type, as Umami reads it, so a form is a 400 (as in Umami), not a 415',
        401: 'Wrong username or password (message.incorrect-username-password)',
        408: SLOW_BODY_TEXT,
        413: `Body over ${requestLimits.accountBodyBytesMax} bytes`,
        429: 'Too many attempts; see Retry-After',
      },
      () => UmamiErrorOut,
    ),
  },
};

export const VERIFY_DOC = {
  summary: 'Umami: the user of a token',
  description: 'Authorization: Bearer <access token from /api/auth/login>.',
  responses: {
    200: jsonAnswer('The signed-in user', UserOut, userExample),
    ...errorAnswers({ 401: 'No valid access token' }, () => UmamiErrorOut),
  },
};

const { teams: _, ...MeUserFields } = UserOut.properties;
const { teams: __, ...meUserExample } = userExample;

export const ME_DOC = {
  summary: 'Umami: the signed-in user',
  description:
    "Umami's auth of the request: the user of the access token (no teams), and the token. " +
    'Authorization: Bearer <access token from /api/auth/login>.',
  responses: {
    200: jsonAnswer(
      'The signed-in user',
      t.Object({
        token: t.String(),
        authKey: t.Null(),
        shareToken: t.Null(),
        user: t.Object(MeUserFields),
      }),
      {
        token: 'eyJhbGciOiJIUzI1NiIsImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ.e30.c2ln',
        authKey: null,
        shareToken: null,
        user: meUserExample,
      },
    ),
    ...errorAnswers({ 401: 'No valid access token' }, () => UmamiErrorOut),
  },
};

export const ME_TEAMS_DOC = {
  summary: "Umami: the caller's teams (none)",
  description: `Tally has no teams: an empty page.${AUTH_NOTE}`,
  parameters: [param('page', 'From 1.'), param('pageSize', 'Teams per page (default 20).')],
  responses: {
    200: jsonAnswer(
      'No teams',
      t.Object({ data: t.Array(t.Object({})), count: Count, page: Count, pageSize: Count }),
      { data: [], count: 0, page: 1, pageSize: 20 },
    ),
    ...ERRORS,
  },
};

/** Newer Umami clients POST the verify, with no body (or an empty object). */
export const VERIFY_POST_DOC = {
  ...VERIFY_DOC,
  requestBody: { required: false, content: jsonContent(t.Object({}), {}) },
  responses: {
    ...VERIFY_DOC.responses,
    ...errorAnswers(
      {
        400: 'A body that is not a JSON object',
        408: SLOW_BODY_TEXT,
        415: 'Unsupported Content-Type or Content-Encoding',
      },
      () => UmamiErrorOut,
    ),
  },
};

export const WEBSITES_DOC = {
  summary: 'Umami: the websites the caller reads',
  description:
    "A member's projects, or a read key's project, one website each, by name. In " +
    'AUTH_MODE=open a request without either lists none.' +
    AUTH_NOTE,
  parameters: [
    param('page', 'From 1.'),
    param('pageSize', 'Websites per page (default 20, at most 500).'),
    param('search', 'Only names or domains containing this.'),
  ],
  responses: {
    200: jsonAnswer(
      'A page of websites',
      t.Object({ data: t.Array(WebsiteOut), count: Count, page: Count, pageSize: Count }),
      { data: [websiteExample], count: 1, page: 1, pageSize: 20 },
    ),
    ...ERRORS,
  },
};

/** Umami's list of the signed-in user's websites (@umami/api-client's getMyWebsites). */
export const ME_WEBSITES_DOC = {
  ...WEBSITES_DOC,
  summary: "Umami: the caller's websites",
};

export const WEBSITE_DOC = {
  summary: 'Umami: one website',
  description: `The project a website id names.${AUTH_NOTE}`,
  parameters: [ID],
  responses: { 200: jsonAnswer('The website', WebsiteOut, websiteExample), ...ERRORS },
};

const totals = { pageviews: 5, visitors: 3, visits: 4, bounces: 2, totaltime: 300 };

export const STATS_DOC = {
  summary: 'Umami: summary stats with the comparison period',
  description:
    'Page views, visitors, visits, bounces and seconds of the range, and `comparison`: the ' +
    'same for the range just before (compare=prev) or a year before (compare=yoy).' +
    AUTH_NOTE,
  parameters: [ID, ...RANGE, param('compare', 'prev (default) or yoy.'), ...FILTERS],
  responses: {
    200: jsonAnswer('The totals', StatsOut, {
      ...totals,
      comparison: { pageviews: 2, visitors: 2, visits: 2, bounces: 2, totaltime: 0 },
    }),
    ...ERRORS,
  },
};

export const PAGEVIEWS_DOC = {
  summary: 'Umami: page views and sessions per time unit',
  description:
    'Buckets with page views, labelled by their local start (`YYYY-MM-DD HH:MM:00`; ' +
    '`…T…Z` for timezone=utc). `sessions` are the visitors of each bucket. With `compare`, ' +
    'the compared range too.' +
    AUTH_NOTE,
  parameters: [
    ID,
    ...RANGE,
    param('unit', 'minute, hour, day, month or year; coarser when the range is too long.'),
    param('compare', 'prev or yoy: adds `compare` (optional).'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer('The series', PageviewsOut, {
      pageviews: [{ x: '2026-11-25T00:00:00Z', y: 5 }],
      sessions: [{ x: '2026-11-25T00:00:00Z', y: 3 }],
    }),
    ...ERRORS,
  },
};

export const METRICS_DOC = {
  summary: 'Umami: top values of a field',
  description:
    'Rows ranked by visitors (type=event: by events), then value. Types: path (url), entry, ' +
    'exit, referrer, title, query, browser, os, device, event, hostname (host), language ' +
    '(by its first two letters, lower-case, as Umami: en-US is en), screen, tag, country ' +
    '(with GEOIP_DB), utmSource, utmMedium, utmCampaign, utmContent, utmTerm. ' +
    "region and city (Tally keeps countries only), channel (Tally's channels are " +
    "Plausible's), domain and distinctId are a 400 saying why." +
    AUTH_NOTE,
  parameters: [
    ID,
    param('type', 'The field to rank.', true),
    ...RANGE,
    param('limit', 'Rows, 1–500 (default 500).'),
    param('offset', 'Rows skipped, up to 10,000.'),
    param('search', 'Only values containing this.'),
    ...FILTERS,
  ],
  responses: {
    200: jsonAnswer('One row per value', MetricsOut, [
      { x: '/pricing', y: 2 },
      { x: '/', y: 1 },
    ]),
    ...ERRORS,
  },
};

const ExpandedRow = t.Object({
  name: NullableText,
  pageviews: Count,
  visitors: Count,
  visits: Count,
  bounces: Count,
  totaltime: Count,
});

export const METRICS_EXPANDED_DOC = {
  ...METRICS_DOC,
  summary: 'Umami: top values of a field, with their page views, visits, bounces and seconds',
  description:
    'As /metrics, ranked by visitors then visits: each value with its page views (type=event: ' +
    "the event's count), visitors, visits, and the bounces and seconds of those visits." +
    AUTH_NOTE,
  responses: {
    200: jsonAnswer('The values', t.Array(ExpandedRow), [
      { name: '/pricing', pageviews: 4, visitors: 3, visits: 3, bounces: 1, totaltime: 240 },
    ]),
    ...ERRORS,
  },
};

export const ACTIVE_DOC = {
  summary: 'Umami: visitors now',
  description: `Distinct visitors with an event in the last 5 minutes (bots left out).${AUTH_NOTE}`,
  parameters: [ID],
  responses: {
    200: jsonAnswer('Current visitors', t.Object({ visitors: Count }), { visitors: 1 }),
    ...ERRORS,
  },
};

const Instant = t.Union([t.String({ format: 'date-time' }), t.Null()]);

export const DATERANGE_DOC = {
  summary: 'Umami: when the data begins and ends',
  description:
    "The times of the website's first and last events (bots left out), `null` without any." +
    AUTH_NOTE,
  parameters: [ID],
  responses: {
    200: jsonAnswer('The range', t.Object({ startDate: Instant, endDate: Instant }), {
      startDate: '2026-11-24T10:00:00.000Z',
      endDate: '2026-11-25T09:11:00.000Z',
    }),
    ...ERRORS,
  },
};
