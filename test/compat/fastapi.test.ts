// What every seed service built on FastAPI + Pydantic answers for a body that is not JSON: a
// 422 whose `detail` is a list (Pydantic v2's `json_invalid`; v1's `value_error.jsondecode` for
// seed 000), as FastAPI does, never a 400 with a string detail; and nothing is stored.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { pythonFloat } from '../../src/http/compat/fastapi.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const ROUTES: [string, string][] = [
  ['/ingest', 'value_error.jsondecode'],
  ['/events', 'json_invalid'],
  ['/events/bulk', 'json_invalid'],
  ['/api/events/', 'json_invalid'],
  ['/event', 'json_invalid'],
];

describe('FastAPI seed routes and malformed JSON', () => {
  test.each(ROUTES)('POST %s: 422 with a detail list of type %s', async (path, type) => {
    // FastAPI's loc is ["body", pos], pos where Python's json stopped (in code points); its
    // msg is Pydantic v1's str(error), or v2's fixed text with the reason in ctx.error.
    const cases: [string, number, string, string][] = [
      ['{"name":', 8, 'Expecting value', 'line 1 column 9 (char 8)'],
      ['not json', 0, 'Expecting value', 'line 1 column 1 (char 0)'],
      [' ', 1, 'Expecting value', 'line 1 column 2 (char 1)'],
      [
        '{"name":"signup",}',
        17,
        'Expecting property name enclosed in double quotes',
        'line 1 column 18 (char 17)',
      ],
      ['{"a":1}\n x', 9, 'Extra data', 'line 2 column 2 (char 9)'],
      ['{"u":"😀" "x"}', 9, "Expecting ',' delimiter", 'line 1 column 10 (char 9)'],
    ];
    for (const [text, pos, reason, where] of cases) {
      const res = await t.post(path, text, { 'content-type': 'application/json' });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { detail: unknown[] };
      // v1 adds the JSONDecodeError's attributes as ctx (pydantic's error_dict: its __dict__).
      const [lineno, colno] = (where.match(/\d+/g) ?? []).map(Number);
      const v1Ctx = { msg: reason, doc: text, pos, lineno, colno };
      expect(body.detail).toEqual([
        type === 'value_error.jsondecode'
          ? { loc: ['body', pos], msg: `${reason}: ${where}`, type, ctx: v1Ctx }
          : {
              loc: ['body', pos],
              msg: 'JSON decode error',
              type,
              ctx: { error: reason },
              input: {},
            },
      ]);
    }
    // What Python reads and Tally does not (NaN) keeps Tally's own reason at ["body"].
    const nan = await t.post(path, '{"a":NaN}', { 'content-type': 'application/json' });
    expect(((await nan.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc).toEqual([
      'body',
    ]);
    expect((await t.getJson('/api/v1/events')).events).toEqual([]);
  });

  test.each(ROUTES)('POST %s with no body: the required body is missing', async (path, type) => {
    // FastAPI parses only a non-empty body: an empty one is no body, a required field missing.
    const v1 = type === 'value_error.jsondecode';
    const missing = v1
      ? { loc: ['body'], msg: 'field required', type: 'value_error.missing' }
      : { loc: ['body'], msg: 'Field required', type: 'missing', input: null };
    const headerSets: Record<string, string>[] = [{ 'content-type': 'application/json' }, {}];
    for (const headers of headerSets) {
      const res = await t.handle(
        new Request(`http://localhost${path}`, { method: 'POST', headers }),
      );
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({ detail: [missing] });
    }
    expect((await t.getJson('/api/v1/events')).events).toEqual([]);
  });
});

describe('FastAPI seed routes and the JSON content types', () => {
  // FastAPI (fastapi/routing.py) reads a body as JSON when its media type is application/json
  // or any application/<subtype>+json (a JSON:API client's vnd.api+json, a PATCH tool's
  // merge-patch+json); their clients must not get a 415 from Tally.
  const VALID: [string, unknown, number][] = [
    ['/ingest', { name: 'signup', user_id: 'abc_123', properties: { ref: 'x' } }, 202],
    [
      '/events',
      {
        event_id: 'evt_ct',
        tenant_id: 'tenant_1',
        source: 'web',
        event_type: 'page_view',
        timestamp: '2026-11-25T10:30:00Z',
        payload: {},
      },
      201,
    ],
    ['/events/bulk', { events: [] }, 200],
    ['/api/events/', { page: '/pricing' }, 200],
    [
      '/event',
      {
        site_id: 's1',
        event_type: 'page_view',
        path: '/',
        user_id: 'u1',
        timestamp: '2026-11-25T10:30:00Z',
      },
      202,
    ],
  ];
  const TYPES = [
    'application/merge-patch+json',
    'application/vnd.api+json',
    'Application/LD+JSON; charset=utf-8',
  ];

  test.each(VALID)('POST %s takes application/*+json as JSON', async (path, body, status) => {
    for (const [i, type] of TYPES.entries()) {
      // A new event_id each time: seed 002 answers a repeated one 200, not 201.
      const sent = path === '/events' ? { ...(body as object), event_id: `evt_ct${i}` } : body;
      const res = await t.post(path, sent, { 'content-type': type });
      expect({ type, status: res.status }).toEqual({ type, status });
    }
    // Malformed, it is FastAPI's 422 as for application/json, not a 415 or a 400.
    const bad = await t.post(path, '{"name":', { 'content-type': 'application/vnd.api+json' });
    expect(bad.status).toBe(422);
  });

  // README Limits: a charset Tally cannot read is a 415 on its own routes; the seed services
  // never read it (Starlette hands the bytes to json.loads), so neither do their routes here.
  test.each(VALID)(
    'POST %s ignores the charset, as the service does',
    async (path, body, status) => {
      for (const [i, charset] of ['utf-16le', 'utf-32', 'ebcdic-cp-us'].entries()) {
        const sent = path === '/events' ? { ...(body as object), event_id: `evt_cs${i}` } : body;
        const type = `application/json; charset=${charset}`;
        const res = await t.post(path, sent, { 'content-type': type });
        expect({ type, status: res.status }).toEqual({ type, status });
      }
    },
  );

  test.each(VALID)(
    'POST %s: another Content-Type is a 422, as in FastAPI, not a 415',
    async (path, body) => {
      // FastAPI hands a body of another media type to the model as bytes, which fail its type
      // check as any body that is no object does (Pydantic's 422 at ["body"]): the route's own
      // answer to a JSON string. A client of the service that sends a form gets what it got.
      const asString = await t.post(path, '"text"', { 'content-type': 'application/json' });
      expect(asString.status).toBe(422);
      const refusal = await asString.json();
      // Where the route names its input (FastAPI on Pydantic v2), it is the body's text.
      const withInput = (text: string) =>
        'input' in refusal.detail[0]
          ? { detail: [{ ...refusal.detail[0], input: text }] }
          : refusal;
      const types = [
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json-patch',
        'text/csv',
      ];
      for (const type of types) {
        const res = await t.post(path, JSON.stringify(body), { 'content-type': type });
        expect({ type, status: res.status, body: await res.json() }).toEqual({
          type,
          status: 422,
          body: withInput(JSON.stringify(body)),
        });
      }
      // Empty, it is no body whatever its type: the required body is missing, as above.
      const empty = await t.post(path, '', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(empty.status).toBe(422);
      expect(JSON.stringify(await empty.json())).toMatch(/"type":"(missing|value_error.missing)"/);
      expect((await t.getJson('/api/v1/events')).events).toEqual([]);
    },
  );

  test.each(VALID)(
    'POST %s reads a gzip body; another Content-Encoding is a 415',
    async (path, body, status) => {
      // README: "a `415` there is only for a `Content-Encoding` other than gzip".
      const gzipped = await t.post(path, gzipSync(JSON.stringify(body)), {
        'content-encoding': 'gzip',
      });
      expect(gzipped.status).toBe(status);
      for (const encoding of ['br', 'compress']) {
        const res = await t.post(path, JSON.stringify(body), { 'content-encoding': encoding });
        expect({ encoding, status: res.status }).toEqual({ encoding, status: 415 });
      }
    },
  );

  test('seed 000 answers a form body with the not-a-dict 422 of Pydantic v1', async () => {
    const res = await t.post('/ingest', 'name=signup&user_id=abc_123', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }],
    });
  });

  test('the native API keeps its rule: application/json (or text/plain), else 415', async () => {
    const res = await t.post(
      '/api/v1/events',
      { name: 'signup' },
      { 'content-type': 'application/vnd.api+json' },
    );
    expect(res.status).toBe(415);
  });
});

describe('pythonFloat: a float as Python writes it in JSON', () => {
  test('a fraction or .0, and exponents where repr uses them', () => {
    const cases: [number, string][] = [
      [25, '25.0'],
      [0, '0.0'],
      [-3, '-3.0'],
      [12.5, '12.5'],
      [18.333333333333332, '18.333333333333332'],
      [0.1 + 0.2, '0.30000000000000004'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [1234567890123456, '1234567890123456.0'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [-2.5e100, '-2.5e+100'],
      [1e21, '1e+21'],
    ];
    for (const [value, text] of cases) expect(pythonFloat(value)).toBe(text);
  });
});
