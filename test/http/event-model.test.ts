// The event model at the edges of its rules: what a client sends is stored as sent, or refused
// with a 422 naming the field and the rule, and a refused request writes nothing (also after a
// restart).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const json = (r: Response) => r.json() as Promise<Record<string, unknown>>;

describe('numbers past the double range', () => {
  test('a property number JSON reads as Infinity is a 422 naming it, never stored as null', async () => {
    const res = await t.post(
      '/api/v1/events',
      '{"event_id":"e1","name":"x","properties":{"ok":null,"deep":{"list":[1,-1e999]}}}',
    );
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', 'properties', 'deep', 'list', 1],
          msg: 'properties.deep.list.1 must be a finite number (within ±1.8e308)',
          type: 'finite_number',
        },
      ],
    });
    const batch = await t.post(
      '/api/v1/events/batch',
      '{"events":[{"name":"a"},{"name":"b","properties":{"big":1e400}}]}',
    );
    expect(batch.status).toBe(422);
    expect(((await json(batch)).detail as { loc: unknown[] }[])[0]?.loc).toEqual([
      'body',
      'events',
      1,
      'properties',
      'big',
    ]);
    expect(await t.count()).toBe(0);
    await t.restart();
    expect(await t.count()).toBe(0);
  });

  test('a null property and the largest double are stored as sent', async () => {
    const body =
      '{"event_id":"e2","name":"x","properties":{"n":null,"max":1.7976931348623157e308}}';
    expect((await t.post('/api/v1/events', body)).status).toBe(202);
    const stored = await json(await t.get('/api/v1/events/e2'));
    expect(stored.properties).toEqual({ n: null, max: Number.MAX_VALUE });
  });

  test('a value or duration read as Infinity is a 422 that says finite, not "a number"', async () => {
    const res = await t.post('/api/v1/events', '{"name":"x","value":1e400,"duration":1e999}');
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', 'duration'],
          msg: 'duration must be a finite number (within ±1.8e308)',
          type: 'finite_number',
        },
        {
          loc: ['body', 'value'],
          msg: 'value must be a finite number (within ±1.8e308)',
          type: 'finite_number',
        },
      ],
    });
    expect(await t.count()).toBe(0);
  });
});

describe('POST /api/v1/metrics body', () => {
  test('a null optional field counts as absent, as in an event', async () => {
    const res = await t.post('/api/v1/metrics', {
      name: 'cpu',
      value: 1,
      tags: null,
      id: null,
      timestamp: null,
      tenant_id: null,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const point = await json(await t.get(`/api/v1/metrics/${id}`));
    expect(point).toMatchObject({ name: 'cpu', value: 1, tags: {} });
  });

  test('fields a point does not have are ignored, never read as event fields', async () => {
    const refusedBefore = await t.post('/api/v1/metrics', {
      id: 'm1',
      name: 'cpu',
      value: 1,
      duration: -1,
      user_id: 5,
    });
    expect(refusedBefore.status).toBe(202);
    const stored = await t.post('/api/v1/metrics', {
      id: 'm2',
      name: 'cpu',
      value: 2,
      user_id: 'u1',
      url: 'https://example.com/a',
      properties: { plan: 'pro' },
      event_id: 'other',
    });
    expect(await json(stored)).toEqual({ status: 'accepted', id: 'm2', duplicate: false });
    const event = await json(await t.get('/api/v1/events/m2'));
    expect(event).toMatchObject({ user_id: null, url: null, path: null, properties: null });
    expect((await t.get('/api/v1/events/other')).status).toBe(404);
  });

  test('a timestamp of the wrong type says what a timestamp is', async () => {
    const res = await t.post('/api/v1/metrics', { name: 'cpu', value: 1, timestamp: true });
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', 'timestamp'],
          msg:
            'timestamp has the wrong type: ISO 8601 with a zone offset, or epoch milliseconds; ' +
            'receive time when absent.',
          type: 'union_type',
        },
      ],
    });
    // A number past the double range is a number: the rule it breaks is being finite.
    const huge = await t.post('/api/v1/metrics', '{"name":"cpu","value":1,"timestamp":1e400}');
    expect(await json(huge)).toEqual({
      detail: [
        {
          loc: ['body', 'timestamp'],
          msg: 'timestamp must be a finite number (within ±1.8e308)',
          type: 'finite_number',
        },
      ],
    });
    expect(await t.count()).toBe(0);
  });
});

describe('422 loc', () => {
  test('an object key that looks like a number stays a string; an array index is a number', async () => {
    const tag = await t.post('/api/v1/metrics', { name: 'cpu', value: 1, tags: { '5': 1 } });
    expect(await json(tag)).toEqual({
      detail: [{ loc: ['body', 'tags', '5'], msg: '5 must be a string', type: 'string_type' }],
    });
    const batch = await t.post('/api/v1/events/batch', { events: [{ name: 'a' }, { name: 1 }] });
    expect(((await json(batch)).detail as { loc: unknown[] }[])[0]?.loc).toEqual([
      'body',
      'events',
      1,
      'name',
    ]);
    expect(await t.count()).toBe(0);
  });
});

describe('a UTF-8 byte order mark', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  const withBom = (text: string) => new Uint8Array(Buffer.concat([BOM, Buffer.from(text)]));

  test('before a JSON or NDJSON body is ignored, as RFC 8259 and FastAPI allow', async () => {
    const one = await t.post('/api/v1/events', withBom('{"event_id":"b1","name":"x"}'));
    expect(one.status).toBe(202);
    const batch = await t.post('/api/v1/events/batch', withBom('{"events":[{"name":"y"}]}'));
    expect(batch.status).toBe(202);
    const ndjson = await t.post('/api/v1/events/batch', withBom('{"name":"z"}\n{"name":"w"}\n'), {
      'content-type': 'application/x-ndjson',
    });
    expect(await json(ndjson)).toMatchObject({ accepted: 2 });
    const metric = await t.post('/api/v1/metrics', withBom('{"name":"cpu","value":1}'));
    expect(metric.status).toBe(202);
    expect(await t.count()).toBe(5);
  });

  test('on a later NDJSON line, or other non-JSON space about a line, is a 400 naming it', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    for (const [body, line, code] of [
      ['{"name":"a"}\n\ufeff{"name":"b"}\n', 2, 'U+FEFF'],
      ['{"name":"a"}\n{"name":"b"}\u00a0\r\n', 2, 'U+00A0'],
      ['\u2028{"name":"a"}\n', 1, 'U+2028'],
      ['{"name":"a"}\n\u00a0\n{"name":"b"}', 2, 'U+00A0'],
    ] as const) {
      const res = await t.post('/api/v1/events/batch', body, ndjson);
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        detail:
          `NDJSON line ${line} is not valid JSON: ${code} is not JSON whitespace (only space, ` +
          'tab, CR and LF are; a byte order mark only at the very start of the body)',
        code: 'invalid_json',
      });
    }
    // JSON's own whitespace around a value, and blank lines of it, are taken.
    const ok = await t.post('/api/v1/events/batch', ' \t{"name":"a"}\t\r\n \t\r\n\n', ndjson);
    expect(await json(ok)).toMatchObject({ accepted: 1 });
    expect(await t.count()).toBe(1);
  });

  test('later in a JSON body it is still invalid JSON, and nothing is written', async () => {
    const inside = await t.post('/api/v1/events', withBom(' \ufeff{"name":"x"}').slice(3));
    expect(inside.status).toBe(400);
    // Named, not JSON.parse's "Unrecognized token" of an invisible character.
    expect((await json(inside)).detail).toBe(
      'the body is not valid JSON: U+FEFF is not JSON whitespace (only space, tab, CR and LF ' +
        'are; a byte order mark only at the very start of the body)',
    );
    const nbsp = await t.post('/api/v1/events/batch', '{"events":[{"name":"x"}]}\u00a0');
    expect((await json(nbsp)).detail).toStartWith('the body is not valid JSON: U+00A0 is not');
    expect(await t.count()).toBe(0);
  });
});

test('a timestamp with a lower-case t (RFC 3339 allows it, as it does z) is taken', async () => {
  const res = await t.post('/api/v1/events', {
    event_id: 'lt',
    name: 'x',
    timestamp: '2026-11-25t10:15:00z',
  });
  expect(res.status).toBe(202);
  expect((await json(await t.get('/api/v1/events/lt'))).timestamp).toBe('2026-11-25T10:15:00.000Z');
});

// README "The event": stored in whole milliseconds, the digits past one dropped (up to 9 fraction
// digits are taken), ISO or epoch milliseconds with a fraction (Python's time.time() * 1000).
test('a timestamp is stored in whole milliseconds: digits past the millisecond are dropped', async () => {
  const sent = [
    ['iso', '"2026-11-20T00:00:00.0005Z"', '2026-11-20T00:00:00.000Z'],
    ['nine', '"2026-11-20T00:00:00.123999999Z"', '2026-11-20T00:00:00.123Z'],
    ['epoch', '1764072000000.5', '2025-11-25T12:00:00.000Z'],
  ];
  for (const [id, timestamp, stored] of sent) {
    const body = `{"event_id":"${id}","name":"x","timestamp":${timestamp}}`;
    expect((await t.post('/api/v1/events', body)).status).toBe(202);
    expect([id, (await json(await t.get(`/api/v1/events/${id}`))).timestamp]).toEqual([id, stored]);
  }
  const ten = await t.post('/api/v1/events', {
    name: 'x',
    timestamp: '2026-11-20T00:00:00.0000000001Z',
  });
  expect(ten.status).toBe(422);
  expect(await json(ten)).toMatchObject({ detail: [{ loc: ['body', 'timestamp'] }] });
  expect(await t.count()).toBe(3);
});

// README "The event": numbers are doubles, an integer past 2^53 stored as JavaScript reads it.
test('a property integer past 2^53 is stored rounded to a double, as JSON.parse reads it', async () => {
  const body = '{"event_id":"big","name":"x","properties":{"n":9007199254740993}}';
  expect((await t.post('/api/v1/events', body)).status).toBe(202);
  expect((await json(await t.get('/api/v1/events/big'))).properties).toEqual({
    n: 9007199254740992,
  });
});

// README "The event": `tenant_id` is ^[A-Za-z0-9][A-Za-z0-9._:-]*$, 1–128 characters, `default`
// when absent; a tenant out of its rule is a 422 naming it, never stored under another.
test('a tenant_id out of its pattern or length is a 422 naming it; none is the default', async () => {
  const pattern = 'tenant_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]*$';
  const cases: [string, string, string][] = [
    ['-x', pattern, 'string_pattern_mismatch'],
    ['.x', pattern, 'string_pattern_mismatch'],
    ['a b', pattern, 'string_pattern_mismatch'],
    ['a/b', pattern, 'string_pattern_mismatch'],
    ['', 'tenant_id must be at least 1 character', 'string_too_short'],
    ['a'.repeat(129), 'tenant_id must be at most 128 characters', 'string_too_long'],
  ];
  for (const [tenant_id, msg, type] of cases) {
    const res = await t.post('/api/v1/events', { name: 'x', tenant_id });
    expect([tenant_id, res.status]).toEqual([tenant_id, 422]);
    expect(await json(res)).toEqual({ detail: [{ loc: ['body', 'tenant_id'], msg, type }] });
  }
  const longest = `A0._:-${'z'.repeat(122)}`;
  expect(
    (await t.post('/api/v1/events', { event_id: 'l', name: 'x', tenant_id: longest })).status,
  ).toBe(202);
  expect((await t.post('/api/v1/events', { event_id: 'd', name: 'x' })).status).toBe(202);
  expect(await json(await t.get('/api/v1/events/d'))).toMatchObject({ tenant: 'default' });
  expect(await t.count(longest)).toBe(1);
  expect(await t.count()).toBe(1);
});

test('an ip in the body is spelled one way, so one address is one visitor_id', async () => {
  const spellings = [
    '203.0.113.7',
    '::ffff:203.0.113.7',
    '[::ffff:cb00:7107]:443',
    '203.0.113.7:80',
  ];
  const visitors = new Set<unknown>();
  for (const [i, ip] of spellings.entries()) {
    expect((await t.post('/api/v1/events', { event_id: `v${i}`, name: 'x', ip })).status).toBe(202);
    visitors.add((await json(await t.get(`/api/v1/events/v${i}`))).visitor_id);
  }
  expect(visitors.size).toBe(1);
  const v6 = ['2001:DB8:0:0::1', '2001:db8::1'];
  const ids = await Promise.all(
    v6.map(async (ip, i) => {
      await t.post('/api/v1/events', { event_id: `w${i}`, name: 'x', ip });
      return (await json(await t.get(`/api/v1/events/w${i}`))).visitor_id;
    }),
  );
  expect(ids[0]).toBe(ids[1]);
});

test('an empty url is stored as sent and gives no path (not the home page "/")', async () => {
  expect((await t.post('/api/v1/events', { event_id: 'u0', name: 'x', url: '' })).status).toBe(202);
  expect(await json(await t.get('/api/v1/events/u0'))).toMatchObject({ url: '', path: null });
  const stats = await json(await t.get('/api/v1/stats?date=2026-11-25'));
  expect(stats.top_paths).toEqual([]);
});

// README "The event": the ids, `source` and `path` are 1 character at least (an empty one is a
// 422 naming it; send none, or null, for no id); `referrer`, `url`, `user_agent` and `ip` may
// be empty.
test('an empty id, source or path is a 422 naming it; an empty referrer, url or agent is kept', async () => {
  for (const field of ['user_id', 'anonymous_id', 'session_id', 'source', 'path']) {
    const res = await t.post('/api/v1/events', { name: 'x', [field]: '' });
    expect([field, res.status]).toEqual([field, 422]);
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', field],
          msg: `${field} must be at least 1 character`,
          type: 'string_too_short',
        },
      ],
    });
  }
  for (const field of ['referrer', 'url', 'user_agent', 'ip']) {
    const res = await t.post('/api/v1/events', { name: 'x', [field]: '' });
    expect([field, res.status]).toEqual([field, 202]);
  }
  expect(await t.count()).toBe(4);
});

describe('a body that is not UTF-8', () => {
  const bytes = (...parts: (string | number[])[]) =>
    new Uint8Array(
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))),
    );

  test('is a 400, never stored with U+FFFD: two ids would become one', async () => {
    const first = await t.post(
      '/api/v1/events',
      bytes('{"event_id":"id-', [0xff], '","name":"x"}'),
    );
    expect(first.status).toBe(400);
    expect(await json(first)).toEqual({
      detail: 'the body is not valid UTF-8 (JSON must be)',
      code: 'invalid_json',
    });
    const latin1 = await t.post(
      '/api/v1/events/batch',
      bytes('{"events":[{"name":"caf', [0xe9], '"}]}'),
    );
    expect(latin1.status).toBe(400);
    const ndjson = await t.post(
      '/api/v1/events/batch',
      bytes('{"name":"a"}\n\n{"name":"caf', [0xe9], '"}\n'),
      { 'content-type': 'application/x-ndjson' },
    );
    expect(await json(ndjson)).toEqual({
      detail: 'NDJSON line 3 is not valid UTF-8 (JSON must be)',
      code: 'invalid_json',
    });
    expect(await t.count()).toBe(0);
  });

  test('UTF-8 of every plane is taken as sent', async () => {
    const name = 'é€😀\u0000';
    expect((await t.post('/api/v1/events', { event_id: 'utf', name })).status).toBe(202);
    expect((await json(await t.get('/api/v1/events/utf'))).name).toBe(name);
  });
});
