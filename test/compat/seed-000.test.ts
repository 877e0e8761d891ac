// Seed 000 (Data Pulse): its documented valid, invalid and curl examples replayed against
// POST /ingest, then the numbers checked through the native read API.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const stats = () => t.getJson<Record<string, unknown>>('/api/v1/stats?bots=include');

describe('seed 000: POST /ingest', () => {
  test('the valid example is accepted with 202 and echoed, and stored', async () => {
    const example = {
      name: 'signup',
      user_id: 'user_42',
      properties: { source: 'landing_page', referrer: 'google' },
    };
    const res = await t.post('/ingest', example);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', received_event: example });
    const s = await stats();
    expect(s.total_events).toBe(1);
    expect(s.unique_users).toBe(1);
    expect(s.top_events).toEqual([{ name: 'signup', events: 1, visitors: 1 }]);
    const list = await t.getJson<{ events: Record<string, unknown>[] }>('/api/v1/events');
    expect(list.events[0]).toMatchObject({
      name: 'signup',
      user_id: 'user_42',
      properties: { source: 'landing_page', referrer: 'google' },
    });
  });

  test('the curl example returns the documented response', async () => {
    const res = await t.post('/ingest', {
      name: 'signup',
      user_id: 'abc_123',
      properties: { ref: 'linkedin' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      status: 'accepted',
      received_event: { name: 'signup', user_id: 'abc_123', properties: { ref: 'linkedin' } },
    });
  });

  test('the invalid example returns the documented 422 body and stores nothing', async () => {
    const res = await t.post('/ingest', { name: 'login', user_id: 'user@42' });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['body', 'user_id'],
          msg: 'user_id must be alphanumeric with optional _ or -',
          type: 'value_error',
        },
      ],
    });
    expect((await stats()).total_events).toBe(0);
  });

  test("the user_id pattern's $ is Python's: one final newline passes, as in the service", async () => {
    // re.match(r'^[a-zA-Z0-9_-]+$', 'abc_123\n') matches in Python; a second newline does not.
    const res = await t.post('/ingest', { name: 'login', user_id: 'abc_123\n' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      status: 'accepted',
      received_event: { name: 'login', user_id: 'abc_123\n', properties: null },
    });
    const events = await t.getJson<{ events: { user_id: string }[] }>('/api/v1/events');
    expect(events.events.map((e) => e.user_id)).toEqual(['abc_123\n']);
    for (const user_id of ['abc_123\n\n', '\nabc_123', 'abc\n123']) {
      const refused = await t.post('/ingest', { name: 'login', user_id });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { detail: { type: string }[] }).detail[0]?.type).toBe(
        'value_error',
      );
    }
    expect((await stats()).total_events).toBe(1);
  });

  test('the other rules of the schema: enum, lengths, required fields, string properties', async () => {
    const res = await t.post('/ingest', {
      name: 'logout',
      user_id: 'ab',
      properties: { plan: ['pro'] },
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['body', 'name'],
          msg:
            "value is not a valid enumeration member; permitted: 'signup', 'login', 'click', " +
            "'purchase'",
          type: 'type_error.enum',
          // Pydantic v1's errors carry their context (FastAPI shows it): the enum's values.
          ctx: { enum_values: ['signup', 'login', 'click', 'purchase'] },
        },
        {
          loc: ['body', 'user_id'],
          msg: 'ensure this value has at least 3 characters',
          type: 'value_error.any_str.min_length',
          ctx: { limit_value: 3 },
        },
        { loc: ['body', 'properties', 'plan'], msg: 'str type expected', type: 'type_error.str' },
      ],
    });
    const long = await t.post('/ingest', { name: 'click', user_id: 'x'.repeat(31) });
    expect(await long.json()).toEqual({
      detail: [
        {
          loc: ['body', 'user_id'],
          msg: 'ensure this value has at most 30 characters',
          type: 'value_error.any_str.max_length',
          ctx: { limit_value: 30 },
        },
      ],
    });
    // Lengths are Python's, in code points: two emoji are 2 characters (too short), sixteen are
    // 16 (within 3-30, so the pattern is what they break), not 4 and 32 UTF-16 units.
    for (const [userId, type] of [
      ['😀😀', 'value_error.any_str.min_length'],
      ['😀'.repeat(16), 'value_error'],
      ['😀'.repeat(31), 'value_error.any_str.max_length'],
    ]) {
      const res = await t.post('/ingest', { name: 'click', user_id: userId });
      const detail = ((await res.json()) as { detail: { type: string }[] }).detail;
      expect(detail.map((d) => d.type)).toEqual([type as string]);
    }
    const missing = await t.post('/ingest', {});
    expect(await missing.json()).toEqual({
      detail: [
        { loc: ['body', 'name'], msg: 'field required', type: 'value_error.missing' },
        { loc: ['body', 'user_id'], msg: 'field required', type: 'value_error.missing' },
      ],
    });
    // null is a value v1 refuses for a required field, not a missing one.
    const nulls = await t.post('/ingest', { name: null, user_id: null });
    expect(await nulls.json()).toEqual({
      detail: [
        {
          loc: ['body', 'name'],
          msg: 'none is not an allowed value',
          type: 'type_error.none.not_allowed',
        },
        {
          loc: ['body', 'user_id'],
          msg: 'none is not an allowed value',
          type: 'type_error.none.not_allowed',
        },
      ],
    });
    expect((await stats()).total_events).toBe(0);
  });

  test('numbers and booleans in str fields become text, as Pydantic v1 coerces them', async () => {
    const res = await t.post('/ingest', {
      name: 'purchase',
      user_id: 12345,
      properties: { amount: 19.5, qty: 2, gift: false },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      status: 'accepted',
      received_event: {
        name: 'purchase',
        user_id: '12345',
        properties: { amount: '19.5', qty: '2', gift: 'False' },
      },
    });
    expect((await stats()).unique_users).toBe(1);
  });

  test('a number becomes the text Python writes for it, as sent: 1.0, big ints', async () => {
    // Raw JSON: Python reads 1.0 as a float ("1.0") and an integer exactly, however long; a
    // 20-digit id read as a double would be another user's ("12345678901234567000").
    const res = await t.post(
      '/ingest',
      '{"name":"login","user_id":12345678901234567890,"properties":' +
        '{"a":1.0,"b":1e5,"c":-0.0,"d":1e-7,"e":123456789012345678,"f":2.5E+20,"g":-0,' +
        '"h":1e16,"i":0.1}}',
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      status: 'accepted',
      received_event: {
        name: 'login',
        user_id: '12345678901234567890',
        properties: {
          a: '1.0',
          b: '100000.0',
          c: '-0.0',
          d: '1e-07',
          e: '123456789012345678',
          f: '2.5e+20',
          g: '0',
          h: '1e+16',
          i: '0.1',
        },
      },
    });
    const events = await t.getJson<{ events: { user_id: string }[] }>('/api/v1/events');
    expect(events.events.map((e) => e.user_id)).toEqual(['12345678901234567890']);
    // "1.0" is three characters: long enough, but its "." fails the pattern, as in the service.
    const short = await t.post('/ingest', '{"name":"login","user_id":1.0}');
    expect(await short.json()).toEqual({
      detail: [
        {
          loc: ['body', 'user_id'],
          msg: 'user_id must be alphanumeric with optional _ or -',
          type: 'value_error',
        },
      ],
    });
  });

  test('properties are read as Pydantic v1 reads a dict: dict(value), so [] is {}', async () => {
    // PHP's json_encode writes an empty array for an empty map; v1 takes any list of pairs.
    const empty = await t.post('/ingest', { name: 'login', user_id: 'abc', properties: [] });
    expect(empty.status).toBe(202);
    expect(((await empty.json()) as { received_event: unknown }).received_event).toEqual({
      name: 'login',
      user_id: 'abc',
      properties: {},
    });
    const pairs = await t.post('/ingest', {
      name: 'login',
      user_id: 'abc',
      properties: [['plan', 'pro'], 'ab', [7, 1.5]],
    });
    expect(((await pairs.json()) as { received_event: unknown }).received_event).toEqual({
      name: 'login',
      user_id: 'abc',
      properties: { plan: 'pro', a: 'b', '7': '1.5' },
    });
    // What dict() cannot read stays a type_error.dict: a pair of three, a number, a string.
    for (const properties of [[['a', 'b', 'c']], [5], 'ab', 5]) {
      const res = await t.post('/ingest', { name: 'login', user_id: 'abc', properties });
      expect(await res.json()).toEqual({
        detail: [
          {
            loc: ['body', 'properties'],
            msg: 'value is not a valid dict',
            type: 'type_error.dict',
          },
        ],
      });
    }
    // A null value (or key) is v1's none error, as for a required field.
    const none = await t.post('/ingest', {
      name: 'login',
      user_id: 'abc',
      properties: [
        [null, 'x'],
        ['a', null],
      ],
    });
    expect(await none.json()).toEqual({
      detail: [
        {
          loc: ['body', 'properties', '__key__'],
          msg: 'none is not an allowed value',
          type: 'type_error.none.not_allowed',
        },
        {
          loc: ['body', 'properties', 'a'],
          msg: 'none is not an allowed value',
          type: 'type_error.none.not_allowed',
        },
      ],
    });
    // The body itself too: an empty list is a dict without fields.
    const body = await t.post('/ingest', []);
    expect(await body.json()).toEqual({
      detail: [
        { loc: ['body', 'name'], msg: 'field required', type: 'value_error.missing' },
        { loc: ['body', 'user_id'], msg: 'field required', type: 'value_error.missing' },
      ],
    });
    expect((await stats()).total_events).toBe(2);
  });

  test('a "__proto__" property is kept like any other key', async () => {
    // Raw JSON: in an object literal `__proto__` would set the prototype, not a key.
    const body = '{"name":"signup","user_id":"user_1","properties":{"__proto__":"x","a":"b"}}';
    const res = await t.post('/ingest', body, { 'content-type': 'application/json' });
    expect(res.status).toBe(202);
    const list = await t.getJson<{ events: Record<string, unknown>[] }>('/api/v1/events');
    expect(Object.entries(list.events[0]?.properties as object)).toEqual([
      ['__proto__', 'x'],
      ['a', 'b'],
    ]);
  });

  test('every name of the enum is accepted; properties are optional (echoed as null)', async () => {
    for (const name of ['signup', 'login', 'click', 'purchase']) {
      const res = await t.post('/ingest', { name, user_id: `user-${name}` });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({
        status: 'accepted',
        received_event: { name, user_id: `user-${name}`, properties: null },
      });
    }
    const s = await stats();
    expect(s.total_events).toBe(4);
    expect(s.unique_users).toBe(4);
  });
});
