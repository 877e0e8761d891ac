// /openapi/json describes every route: a summary and documented answers everywhere, a request
// body with an example for every POST. Then the documentation of the compatibility routes is
// held to what they do: each documented example, in each documented content type, is sent to
// its route and answered with a documented success whose body fits the documented schema; a
// bad body gets a documented error in the documented shape; the reads answer as documented.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { type FoundOperation, operationsOf } from '../helpers/openapi.ts';

interface Schema {
  type?: string;
  format?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
}
interface Media {
  schema?: Schema;
  example?: unknown;
}
interface Operation {
  summary?: string;
  tags?: string[];
  requestBody?: { content: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}
type Found = FoundOperation<Operation>;

/** The compatibility POST routes, every one of which must be covered below. */
const COMPAT_POSTS = [
  ...['/ingest', '/events', '/events/bulk', '/api/events/', '/event'],
  ...['batch', 'track', 'identify', 'page', 'screen', 'group', 'alias'].map((c) => `/v1/${c}`),
  '/v1/m',
  ...['/batch/', '/capture/', '/e/', '/i/v0/e/', '/i/v1/analytics/events', '/flags/', '/decide/'],
  ...['/api/send', '/api/batch', '/api/event'],
  ...['/api/auth/login', '/api/auth/verify', '/api/auth/logout'],
  '/api/v2/query',
];

type Json = Record<string, unknown>;

/** The token Umami's login example signed in with (the account example registered it). */
let umamiToken = '';
const umamiAuth = () => ({ authorization: `Bearer ${umamiToken}` });
/** A second sign-in with Umami's login example: a token to sign out with. */
async function ownUmamiAuth(): Promise<Record<string, string>> {
  const found = operations.find((o) => o.method === 'post' && o.path === '/api/auth/login');
  const example = found?.op.requestBody?.content['application/json']?.example;
  const res = await t.post('/api/auth/login', example);
  return { authorization: `Bearer ${((await res.json()) as Json).token as string}` };
}
/** The session /api/send's example was answered, for Umami's session reads. */
let umamiSession = '';
/** The id of the Umami example's custom event (its event data is read by id). */
let umamiEventId = '';
/** The session an Umami identify with data was sent for (its session data is read). */
let umamiIdentified = '';

/** A read of each compatibility GET route over what the examples stored, and its rows. */
const COMPAT_READS: Record<
  string,
  {
    url: (created: Json) => string;
    rows?: (b: Json) => unknown;
    headers?: () => Record<string, string>;
  }
> = {
  '/events': { url: () => '/events?tenant_id=tenant_1', rows: (b) => b.items },
  '/metrics': { url: () => '/metrics?tenant_id=tenant_1&bucket_size=hour', rows: (b) => b.buckets },
  '/': { url: () => '/' },
  '/healthz': { url: () => '/healthz' },
  '/api/events/': { url: () => '/api/events/?duration=1%20hour&pages=/homepage', rows: (b) => b },
  '/api/events/{event_id}/': { url: (created) => `/api/events/${created.id}/` },
  '/stats': {
    url: () => '/stats?site_id=site-abc-123&date=2025-11-15',
    rows: (b) => b.top_paths,
  },
  '/array/{token}/config': { url: () => '/array/wk_test/config' },
  '/array/{token}/config.js': { url: () => '/array/wk_test/config.js' },
  // Segment's tracking pixels: a GIF, whatever became of the call.
  ...Object.fromEntries(
    ['track', 'identify', 'page', 'screen', 'group', 'alias'].map((type) => [
      `/v1/pixel/${type}`,
      { url: () => `/v1/pixel/${type}?writeKey=wk_test&userId=u1&event=Opened` },
    ]),
  ),
  // PostHog's capture paths by GET: the body in the query's `data`, base64.
  ...Object.fromEntries(
    ['/batch/', '/capture/', '/e/', '/track/', '/i/v0/e/', '/i/v0/ai/batch/', '/engage/'].map(
      (path) => {
        const body = { api_key: 'wk_test', event: 'opened', distinct_id: 'u1', $token: 'wk_test' };
        const data = encodeURIComponent(Buffer.from(JSON.stringify(body)).toString('base64'));
        return [path, { url: () => `${path}?data=${data}&_=${T0}` }];
      },
    ),
  ),
  // Plausible's Stats API over the Plausible example (example.com, at the test clock's day).
  '/api/v1/stats/realtime/visitors': { url: () => plausible('realtime/visitors', '') },
  '/api/v1/stats/aggregate': {
    url: () => plausible('aggregate', '&compare=previous_period&metrics=visitors,bounce_rate'),
    rows: (b) => Object.keys(b.results as Json),
  },
  '/api/v1/stats/timeseries': {
    url: () => plausible('timeseries', '&metrics=visitors,visit_duration'),
    rows: (b) => b.results,
  },
  '/api/v1/stats/breakdown': {
    url: () => plausible('breakdown', '&property=visit:source&metrics=visitors,bounce_rate'),
    rows: (b) => b.results,
  },
  // Umami's read API over the Umami example (its website, at the test clock's hour).
  '/api/auth/verify': { url: () => '/api/auth/verify', headers: umamiAuth },
  '/api/websites': { url: () => '/api/websites' },
  '/api/me': { url: () => '/api/me', headers: umamiAuth },
  '/api/me/websites': { url: () => '/api/me/websites' },
  '/api/me/teams': { url: () => '/api/me/teams' },
  '/api/heartbeat': { url: () => '/api/heartbeat' },
  '/api/config': { url: () => '/api/config' },
  '/api/websites/{id}': { url: () => umami('') },
  '/api/websites/{id}/stats': { url: () => umami('/stats'), rows: (b) => Object.keys(b) },
  '/api/websites/{id}/pageviews': { url: () => umami('/pageviews'), rows: (b) => b.pageviews },
  '/api/websites/{id}/metrics': { url: () => umami('/metrics', '&type=path'), rows: (b) => b },
  '/api/websites/{id}/metrics/expanded': {
    url: () => umami('/metrics/expanded', '&type=path'),
    rows: (b) => b,
  },
  '/api/websites/{id}/active': { url: () => umami('/active') },
  '/api/websites/{id}/daterange': { url: () => umami('/daterange') },
  '/api/websites/{id}/values': { url: () => umami('/values', '&type=path'), rows: (b) => b },
  '/api/websites/{id}/sessions': { url: () => umami('/sessions'), rows: (b) => b.data },
  '/api/websites/{id}/sessions/stats': { url: () => umami('/sessions/stats') },
  '/api/websites/{id}/sessions/weekly': { url: () => umami('/sessions/weekly') },
  '/api/websites/{id}/sessions/{sessionId}': { url: () => umami(`/sessions/${umamiSession}`) },
  '/api/websites/{id}/sessions/{sessionId}/activity': {
    url: () => umami(`/sessions/${umamiSession}/activity`),
    rows: (b) => b,
  },
  '/api/websites/{id}/events': { url: () => umami('/events'), rows: (b) => b.data },
  '/api/websites/{id}/events/stats': { url: () => umami('/events/stats') },
  '/api/websites/{id}/events/series': { url: () => umami('/events/series'), rows: (b) => b },
  '/api/websites/{id}/event-data': { url: () => umami('/event-data'), rows: (b) => b.data },
  '/api/websites/{id}/event-data/events': {
    url: () => umami('/event-data/events'),
    rows: (b) => b,
  },
  '/api/websites/{id}/event-data/fields': {
    url: () => umami('/event-data/fields'),
    rows: (b) => b,
  },
  '/api/websites/{id}/event-data/values': {
    url: () => umami('/event-data/values', '&propertyName=plan'),
    rows: (b) => b,
  },
  '/api/websites/{id}/event-data/properties': {
    url: () => umami('/event-data/properties'),
    rows: (b) => b,
  },
  '/api/websites/{id}/event-data/stats': { url: () => umami('/event-data/stats') },
  '/api/websites/{id}/sessions/{sessionId}/properties': {
    url: () => umami(`/sessions/${umamiIdentified}/properties`),
    rows: (b) => b,
  },
  '/api/websites/{id}/session-data/properties': {
    url: () => umami('/session-data/properties'),
    rows: (b) => b,
  },
  '/api/websites/{id}/session-data/values': {
    url: () => umami('/session-data/values', '&propertyName=plan'),
    rows: (b) => b,
  },
  '/api/websites/{id}/event-data/{eventId}': {
    url: () => umami(`/event-data/${encodeURIComponent(umamiEventId)}`),
    rows: (b) => b,
  },
  '/api/realtime/{id}': { url: () => `/api/realtime/${UMAMI_WEBSITE}`, rows: (b) => b.events },
};

const UMAMI_WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

function umami(endpoint: string, query = ''): string {
  const range = `startAt=${T0 - 3_600_000}&endAt=${T0 + 3_600_000}`;
  return `/api/websites/${UMAMI_WEBSITE}${endpoint}?${range}${query}`;
}

function plausible(endpoint: string, query: string): string {
  return `/api/v1/stats/${endpoint}?site_id=example.com&period=day&date=2026-11-25${query}`;
}

/** Reads that must fail, each with an error its route documents. */
const BAD_READS = [
  ['/events', '/events?page=1'],
  ['/metrics', '/metrics?tenant_id=tenant_1&bucket_size=week'],
  ['/api/events/', '/api/events/?duration=soon'],
  ['/api/events/{event_id}/', '/api/events/not-a-uuid/'],
  ['/api/events/{event_id}/', '/api/events/3f2b8c1e-9a4d-4e7f-b6c5-000000000000/'],
  ['/stats', '/stats?site_id=site-abc-123&date=yesterday'],
  ['/array/{token}/config', '/array/not%20a%20token/config'],
  ['/array/{token}/config.js', '/array/not%20a%20token/config.js'],
  ['/api/v1/stats/realtime/visitors', '/api/v1/stats/realtime/visitors'],
  ['/api/v1/stats/aggregate', '/api/v1/stats/aggregate?site_id=example.com&metrics=bogus'],
  ['/api/v1/stats/timeseries', '/api/v1/stats/timeseries?site_id=example.com&period=year'],
  ['/api/v1/stats/breakdown', '/api/v1/stats/breakdown?site_id=example.com'],
  ['/api/auth/verify', '/api/auth/verify'],
  ['/api/websites', '/api/websites?pageSize=0'],
  ['/api/websites/{id}', '/api/websites/not%20a%20website'],
  ['/api/websites/{id}/stats', `/api/websites/${UMAMI_WEBSITE}/stats`],
  ['/api/websites/{id}/pageviews', `/api/websites/${UMAMI_WEBSITE}/pageviews?unit=week`],
  ['/api/websites/{id}/metrics', `/api/websites/${UMAMI_WEBSITE}/metrics?type=country`],
  ['/api/websites/{id}/active', '/api/websites/not%20a%20website/active'],
  ['/api/websites/{id}/event-data/values', `/api/websites/${UMAMI_WEBSITE}/event-data/values`],
  ['/api/websites/{id}/event-data/stats', `/api/websites/${UMAMI_WEBSITE}/event-data/stats`],
  [
    '/api/websites/{id}/session-data/values',
    `/api/websites/${UMAMI_WEBSITE}/session-data/values?startAt=0&endAt=1`,
  ],
  ['/api/realtime/{id}', `/api/realtime/${UMAMI_WEBSITE}?timezone=Mars/Base`],
] as const;

/** How analytics-node sends its write key; the open mode takes any. */
const SEGMENT_AUTH = { authorization: `Basic ${Buffer.from('wk_test:').toString('base64')}` };

let t: TestApp;
let operations: Found[];
beforeAll(async () => {
  t = await makeTestApp();
  operations = await operationsOf<Operation>(t);
});
afterAll(() => t.close());

const compat = (method: string) =>
  operations.filter((o) => o.method === method && o.op.tags?.includes('compatibility'));

/** Where `value` breaks `schema` (the JSON Schema subset TypeBox emits), as readable lines. */
function schemaIssues(schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.anyOf !== undefined) {
    const fits = schema.anyOf.some((s) => schemaIssues(s, value, at).length === 0);
    return fits ? [] : [`${at}: fits none of anyOf`];
  }
  if ('const' in schema && value !== schema.const) return [`${at}: is not ${schema.const}`];
  if (schema.enum !== undefined && !schema.enum.includes(value)) return [`${at}: not in enum`];
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const typeFits =
    schema.type === undefined ||
    schema.type === kind ||
    (schema.type === 'integer' && Number.isInteger(value));
  if (!typeFits) return [`${at}: is ${kind}, not ${schema.type}`];
  if (typeof value === 'string' && schema.format === 'date-time' && Number.isNaN(Date.parse(value)))
    return [`${at}: not a date-time`];
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    return value.flatMap((item, i) => schemaIssues(items, item, `${at}[${i}]`));
  }
  if (kind !== 'object') return [];
  const record = value as Record<string, unknown>;
  const issues = (schema.required ?? [])
    .filter((key) => !(key in record))
    .map((key) => `${at}.${key}: missing`);
  for (const [key, v] of Object.entries(record)) {
    const property = schema.properties?.[key];
    if (property !== undefined) issues.push(...schemaIssues(property, v, `${at}.${key}`));
    else if (schema.additionalProperties === false) issues.push(`${at}.${key}: not allowed`);
  }
  return issues;
}

/** Sends `body` (text as is, anything else as JSON) to a compatibility route. */
function send(
  path: string,
  body: unknown,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const auth = path.startsWith('/v1/') ? SEGMENT_AUTH : headers;
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return t.post(path, raw, { 'content-type': contentType, ...auth });
}

/**
 * How `res` breaks the docs of `found`: a status outside `expected`, or a body whose content
 * type or shape is not the one documented for its status. Also returns the body read.
 */
async function undocumented(found: Found, res: Response, expected: string[]) {
  const where = `${found.method.toUpperCase()} ${found.path} → ${res.status}`;
  const type = res.headers.get('content-type')?.split(';')[0] ?? '';
  const text = await res.text();
  const value = type === 'application/json' ? (JSON.parse(text) as unknown) : text;
  const said = `${where} ${text.slice(0, 200)}`;
  if (!expected.includes(String(res.status))) {
    return { value, problems: [`${said}: documented here are only ${expected.join(', ')}`] };
  }
  const media = found.op.responses?.[String(res.status)]?.content?.[type];
  if (media === undefined) return { value, problems: [`${said}: ${type} is not documented`] };
  const issues = media.schema === undefined ? [] : schemaIssues(media.schema, value);
  return { value, problems: issues.map((issue) => `${said}: ${issue}`) };
}

const statuses = (op: Operation, from: number, to: number) =>
  Object.keys(op.responses ?? {}).filter((s) => Number(s) >= from && Number(s) < to);
const successes = (op: Operation) => statuses(op, 200, 300);
const errors = (op: Operation) => statuses(op, 400, 600);

describe('/openapi/json', () => {
  test('every operation has a summary and documented answers', () => {
    expect(operations.length).toBeGreaterThan(50);
    const problems: string[] = [];
    for (const { method, path, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.summary) problems.push(`${where}: no summary`);
      const answers = Object.entries(op.responses ?? {});
      if (answers.length === 0) problems.push(`${where}: no responses`);
      for (const [status, answer] of answers) {
        if (!answer.description) problems.push(`${where} ${status}: no description`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every POST documents its body with an example in each content type', () => {
    const missing: string[] = [];
    for (const { path, op } of operations.filter((o) => o.method === 'post')) {
      const content = Object.entries(op.requestBody?.content ?? {});
      if (content.length === 0) missing.push(`POST ${path}`);
      for (const [type, media] of content) {
        if (media.example === undefined) missing.push(`POST ${path} ${type}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('the account examples sign up and sign in', async () => {
    const example = (path: string, type: string) =>
      operations.find((o) => o.method === 'post' && o.path === path)?.op.requestBody?.content?.[
        type
      ]?.example as Record<string, string>;
    const register = example('/api/v1/auth/register', 'application/json');
    expect((await t.post('/api/v1/auth/register', register)).status).toBe(201);
    const login = example('/api/v1/auth/login', 'application/json');
    expect((await t.post('/api/v1/auth/login', login)).status).toBe(200);
    const form = example('/api/v1/auth/login', 'application/x-www-form-urlencoded');
    const encoded = new URLSearchParams(form).toString();
    const formLogin = await t.post('/api/v1/auth/login', encoded, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(formLogin.status).toBe(200);
  });

  test('compatibility examples of JSON fit their own schemas', () => {
    const problems: string[] = [];
    for (const found of [...compat('post'), ...compat('get')]) {
      const bodies = Object.entries(found.op.requestBody?.content ?? {});
      const answers = Object.values(found.op.responses ?? {}).flatMap((a) =>
        Object.entries(a.content ?? {}),
      );
      for (const [type, media] of [...bodies, ...answers]) {
        if (media.schema === undefined || media.example === undefined) continue;
        if (type !== 'application/json' && type !== 'text/plain') continue;
        const isJsonText = type === 'text/plain' && typeof media.example === 'string';
        const example =
          isJsonText && /^[[{]/.test(media.example as string)
            ? (JSON.parse(media.example as string) as unknown)
            : media.example;
        const where = `${found.method.toUpperCase()} ${found.path} ${type}`;
        problems.push(...schemaIssues(media.schema, example).map((i) => `${where}: ${i}`));
      }
    }
    expect(problems).toEqual([]);
  });

  test("seed 003's documented duration takes what the route reads (Pydantic's lax int)", () => {
    const visit = operations.find((o) => o.method === 'post' && o.path === '/api/events/');
    const schema = visit?.op.requestBody?.content['application/json']?.schema;
    for (const duration of [15, 15.0, '15', '1_000', true, null]) {
      expect(schemaIssues(schema as Schema, { page: '/', duration }), String(duration)).toEqual([]);
    }
  });
});

// In order, over one app: the reads see what the examples stored.
describe('the compatibility routes do what their documentation says', () => {
  /** The EventModel POST /api/events/ answered, for GET /api/events/{event_id}/. */
  const created: Json = {};

  test('every documented example is accepted with a documented success', async () => {
    // Umami's login first: verify is sent its token; its logout last, with a token of its own.
    const rank = (path: string) =>
      path === '/api/auth/login' ? 0 : path === '/api/auth/logout' ? 2 : 1;
    const posts = compat('post').sort((a, b) => rank(a.path) - rank(b.path));
    expect(posts.map((o) => o.path)).toEqual(expect.arrayContaining(COMPAT_POSTS));
    const problems: string[] = [];
    for (const found of posts) {
      for (const [type, media] of Object.entries(found.op.requestBody?.content ?? {})) {
        const signedIn =
          found.path === '/api/auth/verify'
            ? umamiAuth()
            : found.path === '/api/auth/logout'
              ? await ownUmamiAuth()
              : {};
        const res = await send(found.path, media.example, type, signedIn);
        const answer = await undocumented(found, res, successes(found.op));
        problems.push(...answer.problems.map((p) => `${type}: ${p}`));
        if (found.path === '/api/events/') Object.assign(created, answer.value);
        if (found.path === '/api/auth/login') umamiToken = (answer.value as Json).token as string;
        if (found.path === '/api/send') umamiSession = (answer.value as Json).sessionId as string;
      }
    }
    expect(problems).toEqual([]);
  });

  test('bad bodies get a documented error in the documented shape', async () => {
    const problems: string[] = [];
    for (const found of compat('post')) {
      for (const [type, body] of [
        ['application/json', '{"unterminated": '],
        ['application/json', '{}'],
        ['application/xml', '<event/>'],
      ] as const) {
        const res = await send(found.path, body, type);
        problems.push(...(await undocumented(found, res, errors(found.op))).problems);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every read answers as documented over the stored examples', async () => {
    const listed = await t.get(umami('/events'));
    const { data } = (await listed.json()) as { data: Json[] };
    umamiEventId = data.find((e) => e.eventName !== null)?.id as string;
    const identify = {
      type: 'identify',
      payload: { website: UMAMI_WEBSITE, data: { plan: 'pro' } },
    };
    const identified = await send('/api/send', identify, 'application/json');
    umamiIdentified = ((await identified.json()) as Json).sessionId as string;
    const gets = compat('get');
    expect(gets.map((o) => o.path).sort()).toEqual(Object.keys(COMPAT_READS).sort());
    const problems: string[] = [];
    for (const found of gets) {
      const read = COMPAT_READS[found.path] as (typeof COMPAT_READS)[string];
      const url = read.url(created);
      const headers = read.headers?.() ?? {};
      const res = await t.app.handle(new Request(`http://localhost${url}`, { headers }));
      const answer = await undocumented(found, res, ['200']);
      problems.push(...answer.problems);
      // The reads must see the stored examples, or their rows' schemas went unchecked.
      if (read.rows !== undefined) expect(read.rows(answer.value as Json), url).not.toHaveLength(0);
    }
    for (const [path, url] of BAD_READS) {
      const found = gets.find((o) => o.path === path) as Found;
      problems.push(...(await undocumented(found, await t.get(url), errors(found.op))).problems);
    }
    expect(problems).toEqual([]);
  });
});
