import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { eventLimits, requestLimits } from '../../src/core/index.ts';
import { JSON_OR_NDJSON_TYPES, JSON_TYPES } from '../../src/http/body.ts';
import { StoredEventOut } from '../../src/http/model.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { inlineSharedAnswers } from '../helpers/openapi.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const json = (r: Response) => r.json() as Promise<Record<string, unknown>>;

describe('POST /api/v1/events', () => {
  test('accepts one event with 202 and makes it readable', async () => {
    const res = await t.post('/api/v1/events', {
      event_id: 'e-1',
      name: 'page_view',
      path: '/pricing',
      timestamp: '2026-11-25T13:00:00+01:00',
      properties: { plan: 'pro' },
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ status: 'accepted', event_id: 'e-1', duplicate: false });
    const got = await t.get('/api/v1/events/e-1');
    expect(got.status).toBe(200);
    expect(await json(got)).toMatchObject({
      event_id: 'e-1',
      tenant: 'default',
      name: 'page_view',
      path: '/pricing',
      timestamp: '2026-11-25T12:00:00.000Z',
      received_at: new Date(T0).toISOString(),
      properties: { plan: 'pro' },
      user_id: null,
    });
    // The answer is what OpenAPI documents, every field included.
    const stored = TypeCompiler.Compile(StoredEventOut);
    const body = await json(await t.get('/api/v1/events/e-1'));
    expect([...stored.Errors(body)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    expect(Object.keys(body).sort()).toEqual(Object.keys(StoredEventOut.properties).sort());
  });

  // README Limits: "Unknown event fields are dropped, not stored."
  test('an unknown field is dropped, not stored: the event is taken without it', async () => {
    const one = await t.post('/api/v1/events', { event_id: 'u-1', name: 'x', plan: 'premium-x' });
    expect(one.status).toBe(202);
    const batch = await t.post('/api/v1/events/batch', {
      events: [{ event_id: 'u-2', name: 'x', nested: { plan: 'premium-x' } }],
    });
    expect(batch.status).toBe(202);
    // Not in the log either: what a restart replays is the event without it.
    const wal = path.join(t.dataDir, 'wal');
    for (const file of readdirSync(wal)) {
      expect(readFileSync(path.join(wal, file)).includes('premium-x')).toBe(false);
    }
    const read = async () => [
      await json(await t.get('/api/v1/events/u-1')),
      await json(await t.get('/api/v1/events/u-2')),
    ];
    for (const stage of ['unflushed', 'flushed']) {
      if (stage === 'flushed') await t.engine.store.flusher.flush();
      for (const got of await read()) {
        expect([stage, Object.keys(got).sort()]).toEqual([
          stage,
          Object.keys(StoredEventOut.properties).sort(),
        ]);
        expect(JSON.stringify(got)).not.toContain('premium-x');
      }
    }
  });

  test('any past time is taken: a 1969 event is stored, flushed to its day and listed', async () => {
    const res = await t.post('/api/v1/events', {
      event_id: 'apollo',
      name: 'landing',
      timestamp: '1969-07-20T20:17:40Z',
    });
    expect(res.status).toBe(202);
    await t.engine.store.flusher.flush();
    const got = await json(await t.get('/api/v1/events/apollo'));
    expect(got.timestamp).toBe('1969-07-20T20:17:40.000Z');
    const segments = t.engine.store.catalog.allSegments();
    expect(segments.map((s) => s.file)).toEqual([expect.stringContaining('1969-07-20')]);
    const from = encodeURIComponent('1969-07-20T00:00:00Z');
    const to = encodeURIComponent('1969-07-21T00:00:00Z');
    const list = await json(await t.get(`/api/v1/events?from=${from}&to=${to}`));
    expect((list.events as { event_id: string }[]).map((e) => e.event_id)).toEqual(['apollo']);
  });

  test('generates a UUIDv7 id when the client sends none', async () => {
    const body = await json(await t.post('/api/v1/events', { name: 'signup' }));
    expect(body.event_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  test('lengths count UTF-16 code units: 64 emoji fit an id of 128, 65 are a 422', async () => {
    const fits = await t.post('/api/v1/events', { event_id: '😀'.repeat(64), name: 'a' });
    expect(fits.status).toBe(202);
    const over = await t.post('/api/v1/events', { event_id: '😀'.repeat(65), name: 'a' });
    expect(over.status).toBe(422);
    expect(JSON.stringify(await json(over))).toContain('event_id');
  });

  test('reports a repeated event_id as a duplicate and stores it once', async () => {
    await t.post('/api/v1/events', { event_id: 'dup', name: 'a', user_id: 'first' });
    const again = await t.post('/api/v1/events', { event_id: 'dup', name: 'a', user_id: 'second' });
    expect(again.status).toBe(202);
    expect(await json(again)).toEqual({ status: 'duplicate', event_id: 'dup', duplicate: true });
    expect((await json(await t.get('/api/v1/events/dup'))).user_id).toBe('first');
    expect(await t.count()).toBe(1);
  });

  test('the same id in two tenants is two events', async () => {
    await t.post('/api/v1/events', { event_id: 'same', name: 'a', tenant_id: 'acme' });
    const other = await t.post('/api/v1/events', {
      event_id: 'same',
      name: 'a',
      tenant_id: 'globex',
    });
    expect((await json(other)).duplicate).toBe(false);
    expect((await t.get('/api/v1/events/same?tenant_id=acme')).status).toBe(200);
    expect((await t.get('/api/v1/events/same')).status).toBe(404);
  });

  test('422 names each bad field with FastAPI-style issues, and writes nothing', async () => {
    const res = await t.post('/api/v1/events', { name: '', user_id: 5, duration: -1 });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', 'name'],
          msg: 'name must be at least 1 character',
          type: 'string_too_short',
        },
        { loc: ['body', 'user_id'], msg: 'user_id must be a string', type: 'string_type' },
        { loc: ['body', 'duration'], msg: 'duration must be ≥ 0', type: 'greater_than_equal' },
      ],
    });
    expect(await t.count()).toBe(0);
  });

  // It was 'geoip: Expected boolean', TypeBox's words with the generic type value_error.
  test('a geoip that is no boolean is a 422 saying it must be true or false', async () => {
    for (const geoip of ['false', 0, 'no']) {
      const res = await t.post('/api/v1/events', { name: 'x', geoip });
      expect(await json(res)).toEqual({
        detail: [{ loc: ['body', 'geoip'], msg: 'geoip must be true or false', type: 'bool_type' }],
      });
    }
    expect(await t.count()).toBe(0);
  });

  test('missing name, zone-less and future timestamps are 422', async () => {
    const missing = await json(await t.post('/api/v1/events', { user_id: 'u' }));
    expect(missing.detail).toEqual([
      { loc: ['body', 'name'], msg: 'name is required', type: 'missing' },
    ]);
    const naive = await t.post('/api/v1/events', { name: 'a', timestamp: '2026-11-25T12:00:00' });
    expect(naive.status).toBe(422);
    const future = await t.post('/api/v1/events', { name: 'a', timestamp: T0 + 25 * 3600_000 });
    expect(await json(future)).toEqual({
      detail: [
        {
          loc: ['body', 'timestamp'],
          msg: 'timestamp must not be more than 24 hours in the future',
          type: 'datetime_future',
        },
      ],
    });
  });

  test('null optional fields count as absent', async () => {
    const res = await t.post('/api/v1/events', { name: 'a', user_id: null, event_id: 'n1' });
    expect(res.status).toBe(202);
    expect((await json(await t.get('/api/v1/events/n1'))).user_id).toBeNull();
  });

  test('a "__proto__" field never stands in for a null one', async () => {
    // JSON.parse makes "__proto__" an own field; copied by assignment it became the prototype.
    const res = await t.post('/api/v1/events', '{"name":null,"__proto__":{"name":"evil"}}');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [{ loc: ['body', 'name'], msg: 'name is required', type: 'missing' }],
    });
    expect(await t.count()).toBe(0);
  });

  test('malformed JSON is 400, a non-object is 422, a wrong content type is 415', async () => {
    const bad = await t.post('/api/v1/events', '{"name":');
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'invalid_json' });
    expect((await t.post('/api/v1/events', '[1]')).status).toBe(422);
    const form = await t.post('/api/v1/events', 'name=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    expect(await json(form)).toMatchObject({ code: 'unsupported_media_type' });
    // README "Ingest": text/plain holding JSON (a browser beacon) for one event; NDJSON is for
    // batches only.
    const beacon = await t.post('/api/v1/events', '{"name":"b"}', { 'content-type': 'text/plain' });
    expect(beacon.status).toBe(202);
    for (const path of ['/api/v1/events', '/api/v1/metrics']) {
      const ndjson = await t.post(path, '{"name":"n","value":1}\n', {
        'content-type': 'application/x-ndjson',
      });
      expect([path, ndjson.status]).toEqual([path, 415]);
    }
    expect(await t.count()).toBe(1);
  });

  // NDJSON under a JSON type got only JSON.parse's words for its second line.
  test('NDJSON sent as application/json is a 400 naming the type to send it with', async () => {
    const lines = '{"name":"a"}\n{"name":"b"}\n';
    const res = await t.post('/api/v1/events/batch', lines);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.code).toBe('invalid_json');
    expect(String(body.detail)).toStartWith('the body is not valid JSON: ');
    expect(String(body.detail)).toEndWith(
      '; it reads as NDJSON (one event a line): send that with Content-Type ' +
        'application/x-ndjson, or JSON as {"events":[…]}',
    );
    // Other malformed JSON keeps its words alone.
    const broken = await json(await t.post('/api/v1/events/batch', '{"events":[\n{"name":'));
    expect(String(broken.detail)).not.toContain('NDJSON');
    const sent = await t.post('/api/v1/events/batch', lines, {
      'content-type': 'application/x-ndjson',
    });
    expect(sent.status).toBe(202);
    expect(await t.count()).toBe(2);
  });

  // JSON.parse's 'Unexpected EOF' read as a body cut short.
  test('an empty body is a 400 saying it is empty, on every native JSON route', async () => {
    const detail = 'the body is empty (or only whitespace): send JSON';
    for (const path of ['/api/v1/events', '/api/v1/events/batch', '/api/v1/metrics']) {
      for (const body of ['', ' \r\n\t', '\ufeff']) {
        const res = await t.post(path, body);
        expect([path, body, res.status]).toEqual([path, body, 400]);
        expect(await json(res)).toEqual({ detail, code: 'invalid_json' });
      }
    }
  });

  // Read as UTF-8, a UTF-16 body was a 400 'Unrecognized token' naming a NUL it never held.
  test('a charset Tally cannot read is a 415 naming it; ASCII-compatible ones are read', async () => {
    const utf16 = Buffer.from('{"name":"u16","value":1}', 'utf16le');
    for (const charset of ['utf-16le', 'UTF-16', '"utf-32"', 'ucs-2', 'ebcdic-cp-us', '']) {
      for (const path of ['/api/v1/events', '/api/v1/events/batch', '/api/v1/metrics']) {
        const res = await t.post(path, utf16, {
          'content-type': `application/json; charset=${charset}`,
        });
        expect([path, charset, res.status]).toEqual([path, charset, 415]);
        expect(await json(res)).toEqual({
          detail:
            `Content-Type charset ${charset.replaceAll('"', '') || '(empty)'} is not ` +
            'supported: bodies are read as UTF-8 (RFC 8259); send charset=utf-8, or none',
          code: 'unsupported_media_type',
        });
      }
    }
    expect(await t.count()).toBe(0);
    // So on every route that reads a body (README "Ingest"): the SDKs' and SQL, in their shapes.
    const others = [
      '/v1/track',
      '/batch/',
      '/api/send',
      '/api/event',
      '/api/v2/query',
      '/api/v1/query',
    ];
    for (const path of others) {
      const res = await t.post(path, '{}', {
        'content-type': 'application/json; charset=utf-16le',
      });
      expect([path, res.status]).toEqual([path, 415]);
      expect(await res.text()).toContain('Content-Type charset utf-16le is not supported');
    }
    const types = [
      'application/json; charset=utf-8',
      'application/json;charset="UTF-8"',
      'application/json; charset=ISO-8859-1',
      'application/json; charset=us-ascii',
      'text/plain; charset=windows-1252',
      'application/json; charset=utf_8', // Python's codec names
      'application/json; charset=latin_1',
      'application/json; version=1',
    ];
    for (const type of types) {
      const res = await t.post('/api/v1/events', { name: 'ascii' }, { 'content-type': type });
      expect([type, res.status]).toEqual([type, 202]);
    }
    expect(await t.count()).toBe(types.length);
    // OpenAPI says so where it lists the 415.
    const spec = inlineSharedAnswers(await json(await t.get('/openapi/json'))) as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    const refused = spec.paths['/api/v1/events']?.post?.responses['415']?.description;
    expect(refused).toBe('Unsupported Content-Type (or its charset) or Content-Encoding');
  });

  test('an event over 32 KB is 413 from its declared length, before parsing', async () => {
    const res = await t.post(
      '/api/v1/events',
      `{"name":"a","properties":{"x":"${'y'.repeat(40_000)}"}}`,
    );
    expect(res.status).toBe(413);
    expect(await json(res)).toMatchObject({ code: 'payload_too_large' });
    // Not JSON at all: still 413, so the body was refused before anything parsed it.
    const notJson = await t.post('/api/v1/events', `{not json ${'z'.repeat(40_000)}`);
    expect(notJson.status).toBe(413);
  });

  test('an event at the limit is taken sent alone with a BOM and a line end, as on an NDJSON line', async () => {
    const atLimit = (id: string, extra = 0) => {
      // Padded with a field no event has (ignored, but measured as sent).
      const head = `{"name":"x","event_id":"${id}","pad":"`;
      return `${head}${'p'.repeat(eventLimits.eventBytesMax + extra - head.length - 2)}"}`;
    };
    expect(Buffer.byteLength(atLimit('s1'))).toBe(eventLimits.eventBytesMax);
    const events = await t.post('/api/v1/events', `\ufeff${atLimit('s1')}\r\n`);
    expect(events.status).toBe(202);
    const zipped = await t.post('/api/v1/events', gzipSync(`${atLimit('s2')}\n`), {
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(202);
    const pointHead = '{"name":"cpu","value":1,"id":"s3","pad":"';
    const point = `${pointHead}${'p'.repeat(eventLimits.eventBytesMax - pointHead.length - 2)}"}`;
    expect((await t.post('/api/v1/metrics', `\ufeff${point}\n`)).status).toBe(202);
    expect(await t.count()).toBe(3);
    // A byte more is the event's (a space, or the event itself), and over the limit.
    for (const body of [`\ufeff${atLimit('s4')} \r\n`, `${atLimit('s5', 1)}\n`]) {
      const over = await t.post('/api/v1/events', body);
      expect(over.status).toBe(413);
      expect(await json(over)).toMatchObject({
        detail: `the body is larger than ${eventLimits.eventBytesMax} bytes`,
      });
    }
    const overZipped = await t.post('/api/v1/events', gzipSync(`${atLimit('s6', 1)}\n`), {
      'content-encoding': 'gzip',
    });
    expect(overZipped.status).toBe(413);
    expect(await t.count()).toBe(3);
  });

  test('an event sent within 32 KB is stored, whatever the server adds to it', async () => {
    // The fields the server fills make the stored line longer than the body: a path from the
    // url (percent-encoded: 9 characters for each euro sign), visitor_id copied from user_id,
    // received_at, the derived and the absent fields. A client cannot know their size.
    const euro = '\u20ac';
    const properties: Record<string, string> = {};
    for (let i = 0; i < 7; i++) properties[`k${i}`] = 'v'.repeat(1000);
    const event = {
      event_id: euro.repeat(128),
      name: euro.repeat(120),
      url: `https://shop.example/${euro.repeat(2000)}`,
      referrer: '\u0001'.repeat(2048),
      user_agent: '\u0001'.repeat(600),
      user_id: euro.repeat(128),
      anonymous_id: euro.repeat(128),
      session_id: euro.repeat(128),
      source: euro.repeat(128),
      properties,
    };
    const body = JSON.stringify(event);
    expect(Buffer.byteLength(body)).toBeLessThan(eventLimits.eventBytesMax);
    const res = await t.post('/api/v1/events', body);
    expect(res.status).toBe(202);
    const got = await t.get(`/api/v1/events/${encodeURIComponent(event.event_id)}`);
    expect(got.status).toBe(200);
    const stored = await json(got);
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeGreaterThan(eventLimits.eventBytesMax);
    expect(String(stored.path).length).toBeGreaterThan(eventLimits.urlCharsMax - 9);
    expect(stored.visitor_id).toBe(event.user_id);
    // The same event in a batch, and as an NDJSON line.
    const again = { ...event, event_id: 'b-1' };
    const batch = await t.post('/api/v1/events/batch', { events: [again] });
    expect(batch.status).toBe(202);
    const line = JSON.stringify({ ...event, event_id: 'n-1' });
    const ndjson = await t.post('/api/v1/events/batch', line, {
      'content-type': 'application/x-ndjson',
    });
    expect(ndjson.status).toBe(202);
    expect(await t.count()).toBe(3);
  });

  test('accepts gzip bodies', async () => {
    const body = gzipSync(JSON.stringify({ name: 'zipped', event_id: 'gz' }));
    const res = await t.post('/api/v1/events', body, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(202);
    expect((await t.get('/api/v1/events/gz')).status).toBe(200);
    // README "Ingest": limits apply to the decompressed size: ~40 KB of JSON in ~200 bytes.
    const large = gzipSync(JSON.stringify({ name: 'big', properties: { x: 'y'.repeat(40_000) } }));
    expect(large.length).toBeLessThan(1024);
    const refused = await t.post('/api/v1/events', large, { 'content-encoding': 'gzip' });
    expect(refused.status).toBe(413);
    expect(await json(refused)).toMatchObject({ code: 'payload_too_large' });
    expect(await t.count()).toBe(1);
  });

  test('a Content-Encoding list is undone coding by coding, identity being none', async () => {
    const body = (id: string) => gzipSync(JSON.stringify({ name: 'zipped', event_id: id }));
    for (const [id, encoding] of [
      ['a', 'gzip, identity'],
      ['b', 'identity, GZIP'],
      ['c', 'x-gzip,'],
    ] as const) {
      const res = await t.post('/api/v1/events', body(id), { 'content-encoding': encoding });
      expect([encoding, res.status]).toEqual([encoding, 202]);
    }
    const twice = gzipSync(body('d'));
    const res = await t.post('/api/v1/events', twice, { 'content-encoding': 'gzip, gzip' });
    expect(res.status).toBe(202);
    expect(await t.count()).toBe(4);
    const plain = await t.post('/api/v1/events', '{"name":"p"}', {
      'content-encoding': 'identity',
    });
    expect(plain.status).toBe(202);
  });

  test('unknown content encodings are 415, broken gzip is 400', async () => {
    const br = await t.post('/api/v1/events', '{"name":"a"}', { 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    const listed = await t.post('/api/v1/events', gzipSync('{"name":"a"}'), {
      'content-encoding': 'gzip, br',
    });
    expect(listed.status).toBe(415);
    expect(await json(listed)).toEqual({
      detail: 'Content-Encoding br is not supported; send identity or gzip',
      code: 'unsupported_media_type',
    });
    const broken = await t.post('/api/v1/events', 'not gzip', { 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
  });

  test('a Content-Encoding list of more gzip codings than the limit is a 415, none undone', async () => {
    // Each coding is undone whole (up to 5 MiB): a 16 KB header of 'gzip, ' held 2,700 of
    // them, seconds of the event loop for one small body of nested gzips.
    const max = requestLimits.contentCodingsMax;
    let body = Buffer.from(JSON.stringify({ name: 'nested' }));
    for (let i = 0; i <= max; i++) body = gzipSync(body);
    const codings = Array.from({ length: max + 1 }, () => 'gzip').join(', ');
    const res = await t.post('/api/v1/events', body, {
      'content-encoding': `${codings}, identity`,
    });
    expect(res.status).toBe(415);
    expect(await json(res)).toEqual({
      detail: `Content-Encoding names ${max + 1} gzip codings (at most ${max})`,
      code: 'unsupported_media_type',
    });
    expect(await t.count()).toBe(0);
  });

  test('a tenant_id given twice is a 422 naming it, on the reads of one event or metric', async () => {
    await t.post('/api/v1/events', { event_id: 'e-2', name: 'a', value: 1, tenant_id: 'acme' });
    for (const path of ['/api/v1/events/e-2', '/api/v1/metrics/latest/a']) {
      const res = await t.get(`${path}?tenant_id=default&tenant_id=acme`);
      expect(await json(res)).toEqual({
        detail: [
          { loc: ['query', 'tenant_id'], msg: 'give tenant_id once (got 2)', type: 'too_long' },
        ],
      });
      expect((await t.get(`${path}?tenant_id=acme`)).status).toBe(200);
    }
  });

  test('GET an unknown id is 404 with the error shape', async () => {
    const res = await t.get('/api/v1/events/nope');
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      detail: 'no event nope for tenant default',
      code: 'not_found',
    });
  });

  // A URL resolves its dot segments (escaped too): such an event was stored but never found.
  test('an event_id of . or .. is a 422 naming it on every native route, nothing stored', async () => {
    for (const id of ['.', '..']) {
      const msg =
        `event_id ${id} cannot be read back: a URL resolves . and .. as path segments ` +
        '(escaped too), so neither GET /api/v1/events/{event_id} nor ' +
        'GET /api/v1/metrics/{id} reaches it';
      const one = await t.post('/api/v1/events', { event_id: id, name: 'dot' });
      expect(one.status).toBe(422);
      expect(await json(one)).toEqual({
        detail: [{ loc: ['body', 'event_id'], msg, type: 'value_error' }],
      });
      const batch = await t.post('/api/v1/events/batch', {
        events: [
          { event_id: 'ok', name: 'dot' },
          { event_id: id, name: 'dot' },
        ],
      });
      expect(((await json(batch)).detail as { loc: unknown[] }[])[0]?.loc).toEqual([
        'body',
        'events',
        1,
        'event_id',
      ]);
      const metric = await t.post('/api/v1/metrics', { name: 'cpu', value: 1, id });
      expect(await json(metric)).toEqual({
        detail: [{ loc: ['body', 'id'], msg: msg.replace('event_id', 'id'), type: 'value_error' }],
      });
    }
    expect(await t.count()).toBe(0);
    // Ids that only hold dots are still ids.
    const dots = await t.post('/api/v1/events', { event_id: '...', name: 'dot' });
    expect(dots.status).toBe(202);
    expect((await json(await t.get('/api/v1/events/...'))).event_id).toBe('...');
  });
});

describe('the ip field', () => {
  const ipIssue = (loc: (string | number)[]) => ({
    loc,
    msg: 'ip must be an IPv4 or IPv6 address (a port, brackets or an IPv6 zone may be added)',
    type: 'ip_any_address',
  });

  // Stored, text that is no address was hashed into visitor_id (one visitor of everyone who
  // sends it) and never placed in a country; the SDK routes count it as none, the native API
  // refuses it.
  test('text that is no address is a 422 naming ip, on one event and in a batch', async () => {
    for (const ip of ['garbage', 'unknown', '1.2.3', '1.2.3.4, 5.6.7.8', 'example.com']) {
      const one = await t.post('/api/v1/events', { name: 'x', ip });
      expect([ip, one.status]).toEqual([ip, 422]);
      expect(await json(one)).toEqual({ detail: [ipIssue(['body', 'ip'])] });
      const batch = await t.post('/api/v1/events/batch', {
        events: [
          { name: 'x', ip: '203.0.113.7' },
          { name: 'x', ip },
        ],
      });
      expect(await json(batch)).toEqual({ detail: [ipIssue(['body', 'events', 1, 'ip'])] });
    }
    const ndjson = await t.post('/api/v1/events/batch', '{"name":"x","ip":"nope"}\n', {
      'content-type': 'application/x-ndjson',
    });
    expect(await json(ndjson)).toEqual({ detail: [ipIssue(['body', 'events', 0, 'ip'])] });
    expect(await t.count()).toBe(0);
  });

  test('every spelling of an address is taken, in one spelling; a blank one is none', async () => {
    await t.close();
    t = await makeTestApp({ storeIp: true });
    const spellings: [string, string][] = [
      ['203.0.113.7', '203.0.113.7'],
      ['203.0.113.7:51234', '203.0.113.7'],
      ['2001:DB8:0:0::1', '2001:db8::1'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['::ffff:203.0.113.8', '203.0.113.8'],
      ['fe80::1%eth0', 'fe80::1%eth0'],
      ['::', '::'],
    ];
    for (const [i, [sent, stored]] of spellings.entries()) {
      const res = await t.post('/api/v1/events', { event_id: `ip-${i}`, name: 'x', ip: sent });
      expect([sent, res.status]).toEqual([sent, 202]);
      const got = await json(await t.get(`/api/v1/events/ip-${i}`));
      expect([sent, got.ip]).toEqual([sent, stored]);
    }
    const blank = await t.post('/api/v1/events', { event_id: 'blank', name: 'x', ip: ' ' });
    expect(blank.status).toBe(202);
  });
});

describe('POST /api/v1/events/batch', () => {
  const events = (n: number, prefix = 'b') =>
    Array.from({ length: n }, (_, i) => ({
      event_id: `${prefix}${i}`,
      name: 'click',
      user_id: `u${i}`,
    }));

  test('answers per event in input order, with duplicates inside and across batches', async () => {
    await t.post('/api/v1/events', { event_id: 'b1', name: 'click' });
    const res = await t.post('/api/v1/events/batch', {
      events: [...events(3), { event_id: 'b0', name: 'click' }],
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({
      accepted: 2,
      duplicates: 2,
      results: [
        { event_id: 'b0', status: 'accepted' },
        { event_id: 'b1', status: 'duplicate' },
        { event_id: 'b2', status: 'accepted' },
        { event_id: 'b0', status: 'duplicate' },
      ],
    });
    expect(await t.count()).toBe(3);
  });

  test('takes NDJSON', async () => {
    const body = events(3)
      .map((e) => JSON.stringify(e))
      .join('\n');
    const res = await t.post('/api/v1/events/batch', `${body}\n`, {
      'content-type': 'application/x-ndjson',
    });
    expect(res.status).toBe(202);
    expect((await json(res)).accepted).toBe(3);
  });

  // README "Ingest": application/jsonl is NDJSON too; a body with no Content-Type at all is
  // read as JSON, so an NDJSON batch needs its type.
  test('takes NDJSON as application/jsonl; a body with no Content-Type is read as JSON', async () => {
    const lines = events(2, 'j').map((e) => `${JSON.stringify(e)}\n`);
    const jsonl = await t.post('/api/v1/events/batch', lines.join(''), {
      'content-type': 'application/jsonl',
    });
    expect(await json(jsonl)).toMatchObject({ accepted: 2 });
    const untyped = (path: string, body: string) =>
      t.app.handle(new Request(`http://localhost${path}`, { method: 'POST', body }));
    const one = await untyped('/api/v1/events', '{"event_id":"u0","name":"click"}');
    expect(await json(one)).toMatchObject({ status: 'accepted', event_id: 'u0' });
    const batch = await untyped(
      '/api/v1/events/batch',
      '{"events":[{"event_id":"u1","name":"c"}]}',
    );
    expect(await json(batch)).toMatchObject({ accepted: 1 });
    const ndjson = await untyped('/api/v1/events/batch', lines.join('').replaceAll('"j', '"k'));
    expect(ndjson.status).toBe(400);
    expect((await json(ndjson)).detail).toContain(
      'send that with Content-Type application/x-ndjson',
    );
    expect(await t.count()).toBe(4);
  });

  test('is all-or-nothing: every bad item is named and nothing is written', async () => {
    const batch = events(5);
    batch[1] = { event_id: 'x', name: '', user_id: 'u' };
    (batch as unknown[])[3] = { event_id: 'y', user_id: 7 };
    const res = await t.post('/api/v1/events/batch', { events: batch });
    expect(res.status).toBe(422);
    const detail = (await json(res)).detail as { loc: unknown[] }[];
    expect(detail.map((d) => d.loc)).toEqual([
      ['body', 'events', 1, 'name'],
      ['body', 'events', 3, 'name'],
      ['body', 'events', 3, 'user_id'],
    ]);
    expect(await t.count()).toBe(0);
    // The good ids of the refused batch are not remembered as stored.
    const retry = await t.post('/api/v1/events/batch', { events: events(1) });
    expect((await json(retry)).accepted).toBe(1);
  });

  test('more than 5,000 events is 422; an empty batch is 422', async () => {
    const res = await t.post('/api/v1/events/batch', { events: events(5001) });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await json(res))).toContain('at most 5000 events');
    expect((await t.post('/api/v1/events/batch', { events: [] })).status).toBe(422);
    expect((await t.post('/api/v1/events/batch', { nope: 1 })).status).toBe(422);
  });

  test('a batch naming more tenants than ACTORS_MAX is a 422, not a 503 to retry for ever', async () => {
    const small = await makeTestApp({ actorsMax: 2 });
    try {
      const batch = ['a', 'b', 'c'].map((tenant_id) => ({ name: 'x', tenant_id }));
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await small.post('/api/v1/events/batch', { events: batch });
        expect(res.status).toBe(422);
        expect(await json(res)).toEqual({
          detail: [
            {
              loc: ['body', 'events'],
              msg:
                'a batch may name at most 2 tenants on this node (ACTORS_MAX); this one ' +
                'names 3: send fewer tenants per batch',
              type: 'too_long',
            },
          ],
        });
      }
      for (const tenant of ['a', 'b', 'c']) expect(await small.count(tenant)).toBe(0);
      // The operation's description names the rule, as README's ACTORS_MAX row does.
      const spec = inlineSharedAnswers(await json(await small.get('/openapi/json'))) as {
        paths: Record<string, { post?: { description?: string } }>;
      };
      expect(spec.paths['/api/v1/events/batch']?.post?.description).toContain(
        'a batch naming more tenants than the node keeps resident (ACTORS_MAX)',
      );
      // Its room in the commit queue was given back: batches within the bound go on.
      const ok = await small.post('/api/v1/events/batch', { events: batch.slice(0, 2) });
      expect(ok.status).toBe(202);
      expect((await small.count('a')) + (await small.count('b'))).toBe(2);
    } finally {
      await small.close();
    }
  });

  test('a tenant_id beside events is a 422, not a batch stored under default', async () => {
    const res = await t.post('/api/v1/events/batch', {
      tenant_id: 'acme',
      events: [{ event_id: 'bt1', name: 'x' }],
    });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['body', 'tenant_id'],
          msg: "a batch takes each event's tenant_id, not one beside events: send it in each event",
          type: 'extra_forbidden',
        },
      ],
    });
    expect((await t.count('default')) + (await t.count('acme'))).toBe(0);
    // A null one counts as absent; each event's own tenant_id is the tenant.
    const ok = await t.post('/api/v1/events/batch', {
      tenant_id: null,
      events: [{ event_id: 'bt2', name: 'x', tenant_id: 'acme' }],
    });
    expect(ok.status).toBe(202);
    expect(await t.count('acme')).toBe(1);
  });

  test('a JSON batch holding one event over 32 KB is 413 naming it, and writes nothing', async () => {
    const big = { name: 'x', junk: 'q'.repeat(40_000) }; // an unknown field: dropped if stored
    const res = await t.post('/api/v1/events/batch', { events: [{ name: 'ok' }, big] });
    expect(res.status).toBe(413);
    expect(await json(res)).toEqual({
      detail: expect.stringContaining('the event at body.events.1 is 40022 bytes'),
      code: 'payload_too_large',
    });
    expect(await t.count()).toBe(0);
    const small = Array.from({ length: 400 }, (_, i) => ({
      name: 'ok',
      path: `/${'p'.repeat(90)}${i}`,
    }));
    expect((await t.post('/api/v1/events/batch', { events: small })).status).toBe(202);
  });

  test('a batch with several events over 32 KB names every one of them', async () => {
    const big = (n: number) => ({ name: 'x', junk: 'q'.repeat(n) });
    const res = await t.post('/api/v1/events/batch', {
      events: [big(40_000), { name: 'ok' }, big(33_000), { name: 'ok' }],
    });
    expect(res.status).toBe(413);
    expect(await json(res)).toEqual({
      detail:
        'the event at body.events.0 is 40022 bytes, the event at body.events.2 is 33022 ' +
        'bytes; an event may be at most 32768 bytes',
      code: 'payload_too_large',
    });
    const lines = [
      `{"name":"x","blob":"${'z'.repeat(33_000)}"}`,
      '{"name":"not json',
      '',
      `{"name":"x","blob":"${'z'.repeat(40_000)}"}`,
      JSON.stringify({ name: 'ok' }),
    ];
    const ndjson = await t.post('/api/v1/events/batch', lines.join('\r\n'), {
      'content-type': 'application/x-ndjson',
    });
    expect(ndjson.status).toBe(413);
    expect((await json(ndjson)).detail).toBe(
      'NDJSON lines 1, 4 are larger than the 32768-byte event limit',
    );
    expect(await t.count()).toBe(0);
  });

  test('an NDJSON line of an event at the limit is taken with CRLF line ends and a BOM', async () => {
    const atLimit = (id: string) => {
      // Padded with a field no event has (ignored, but measured as sent).
      const head = `{"name":"x","event_id":"${id}","pad":"`;
      const line = `${head}${'p'.repeat(eventLimits.eventBytesMax - head.length - 2)}"}`;
      expect(Buffer.byteLength(line)).toBe(eventLimits.eventBytesMax);
      return line;
    };
    const res = await t.post(
      '/api/v1/events/batch',
      `\ufeff${atLimit('w1')}\r\n${atLimit('w2')}\r\n`,
      { 'content-type': 'application/x-ndjson' },
    );
    expect(res.status).toBe(202);
    expect(await t.count()).toBe(2);
    // A byte more on the line is the event's (a space), and over the limit.
    const over = await t.post('/api/v1/events/batch', `${atLimit('w3')} \r\n`, {
      'content-type': 'application/x-ndjson',
    });
    expect(over.status).toBe(413);
  });

  test('an NDJSON line over 32 KB fails the batch with 413 before it is parsed', async () => {
    const lines = [JSON.stringify({ name: 'ok' }), `{"name":"x","blob":"${'z'.repeat(33_000)}"}`];
    const res = await t.post('/api/v1/events/batch', lines.join('\n'), {
      'content-type': 'application/x-ndjson',
    });
    expect(res.status).toBe(413);
    expect((await json(res)).detail).toBe(
      'NDJSON line 2 is larger than the 32768-byte event limit',
    );
    // README "Ingest": the 413 names every such line, not the first alone.
    const several = await t.post('/api/v1/events/batch', [lines[1], ...lines].join('\n'), {
      'content-type': 'application/x-ndjson',
    });
    expect(await json(several)).toMatchObject({
      detail: 'NDJSON lines 1, 3 are larger than the 32768-byte event limit',
    });
    expect(await t.count()).toBe(0);
  });

  test('a body over 5 MB is 413, including one that only inflates past it (gzip bomb)', async () => {
    const huge = `{"events":[${'{"name":"a"},'.repeat(420_000)}{"name":"a"}]}`;
    expect((await t.post('/api/v1/events/batch', huge)).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 32));
    expect(bomb.length).toBeLessThan(100_000);
    const res = await t.post('/api/v1/events/batch', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((await json(res)).detail).toContain('decompressed');
  });
});

describe('operations', () => {
  test('/health and /ready', async () => {
    expect(await json(await t.get('/health'))).toEqual({ status: 'ok' });
    expect(await json(await t.get('/ready'))).toEqual({ status: 'ready' });
  });

  // README "Operations" and "Ingest": once shutdown began, /ready and ingest are 503.
  test('once shutdown begins /ready is 503 and ingest 503 with Retry-After; /health is 200', async () => {
    t.stopAccepting();
    expect((await t.get('/health')).status).toBe(200);
    const ready = await t.get('/ready');
    expect(ready.status).toBe(503);
    expect(await json(ready)).toEqual({ detail: 'the server is shutting down', code: 'not_ready' });
    // README Settings: RETRY_AFTER_SECONDS is the Retry-After of a 503, /ready's too (as it is
    // while the store opens).
    expect(ready.headers.get('retry-after')).toBe('1');
    for (const [path, body] of [
      ['/api/v1/events', { name: 'x' }],
      ['/api/v1/events/batch', { events: [{ name: 'x' }] }],
      ['/api/v1/metrics', { name: 'cpu', value: 1 }],
    ] as const) {
      const res = await t.post(path, body);
      expect([path, res.status, res.headers.get('retry-after')]).toEqual([path, 503, '1']);
      expect(await json(res)).toMatchObject({ code: 'shutting_down' });
    }
    expect(await t.count()).toBe(0);
  });

  test('/openapi/json describes every route with its schema and examples', async () => {
    const spec = inlineSharedAnswers(await json(await t.get('/openapi/json'))) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>
      >;
    };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/events',
        '/api/v1/events/batch',
        '/api/v1/events/{event_id}',
        '/api/v1/metrics',
        '/api/v1/metrics/latest/{name}',
        '/api/v1/metrics/aggregate/{name}',
        '/api/v1/metrics/{id}',
        '/api/v1/query',
        '/api/v1/stats',
        '/api/v1/timeseries',
        '/health',
        '/ready',
        '/api/v1/auth/login',
        '/api/v1/users/me',
        '/api/v1/projects',
        '/v1/batch',
        '/batch/',
        '/api/send',
        '/api/event',
        '/ingest',
      ]),
    );
    const single = spec.paths['/api/v1/events']?.post?.requestBody?.content['application/json'];
    expect(single?.example).toMatchObject({ name: 'page_view' });
    const batch = spec.paths['/api/v1/events/batch']?.post?.requestBody?.content;
    // Every media type each ingest route reads (body.ts), text/plain beacons and JSONL too.
    expect(Object.keys(batch ?? {}).sort()).toEqual(Object.keys(JSON_OR_NDJSON_TYPES).sort());
    for (const route of ['/api/v1/events', '/api/v1/metrics']) {
      const types = Object.keys(spec.paths[route]?.post?.requestBody?.content ?? {});
      expect([route, types.sort()]).toEqual([route, Object.keys(JSON_TYPES).sort()]);
    }
    // Every ingest route documents every answer it can give, refusals included.
    for (const route of ['/api/v1/events', '/api/v1/events/batch', '/api/v1/metrics']) {
      const op = spec.paths[route]?.post as { responses?: Record<string, unknown> } | undefined;
      const answers = Object.keys(op?.responses ?? {});
      expect([route, answers]).toEqual([
        route,
        ['202', '400', '401', '403', '408', '413', '415', '422', '429', '503'],
      ]);
    }
    expect((await t.get('/openapi')).status).toBe(200);
  });

  test('logs one JSON line per request without bodies', async () => {
    await t.post('/api/v1/events', {
      name: 'secret-name',
      user_id: 'secret-user',
      tenant_id: 'acme',
    });
    await t.get('/nope');
    // An SDK route answers its errors in the SDK's shape, as a Response: logged with its status.
    const segment = await t.post('/v1/track', '{"broken', { authorization: 'Basic a2V5Og==' });
    expect(segment.status).toBe(400);
    // CORS preflights are answered before any route: logged all the same.
    const preflight = (path: string, method: string) =>
      t.app.handle(
        new Request(`http://localhost${path}`, {
          method: 'OPTIONS',
          headers: { origin: 'https://site.example', 'access-control-request-method': method },
        }),
      );
    expect((await preflight('/api/v1/events', 'POST')).status).toBe(204);
    expect((await preflight('/api/v1/stats', 'GET')).status).toBe(403); // not a CORS origin
    await new Promise((resolve) => setImmediate(resolve)); // the log is written after the response
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    // A route's line is written once its answer is sent; a preflight's at once: any order.
    const logged = lines.map((l) => [l.method, l.path, l.status, l.tenant]);
    expect(logged.sort()).toEqual(
      [
        ['POST', '/api/v1/events', 202, 'acme'],
        ['GET', '/nope', 404, undefined],
        ['POST', '/v1/track', 400, undefined],
        ['OPTIONS', '/api/v1/events', 204, undefined],
        ['OPTIONS', '/api/v1/stats', 403, undefined],
      ].sort(),
    );
    expect(t.logs.join('')).not.toContain('secret');
    expect(lines.every((l) => typeof l.duration_ms === 'number')).toBe(true);
  });
});

describe('GET /api/v1/status', () => {
  test('reports the flush backlog and memory', async () => {
    await t.post('/api/v1/events', { name: 'a' });
    const before = (await json(await t.get('/api/v1/status'))) as Record<string, number>;
    expect(before).toMatchObject({ last_seq: 1, flushed_through_seq: 0, wal_files: 1, actors: 1 });
    expect(before.hot_bytes).toBeGreaterThan(0);
    expect(before.rss_bytes).toBeGreaterThan(0);
    expect(before.dedup_bytes).toBe(16 * 1024); // one key: one generation's smallest table
    await t.engine.store.flusher.flush();
    const after = (await json(await t.get('/api/v1/status'))) as Record<string, number>;
    expect(after).toMatchObject({ last_seq: 1, flushed_through_seq: 1, hot_bytes: 0 });
  });
});

describe('request facts', () => {
  test('a User-Agent header is cut to the user_agent limit', async () => {
    const res = await t.post(
      '/api/v1/events',
      { event_id: 'ua', name: 'x' },
      { 'user-agent': `Mozilla/5.0 ${'x'.repeat(20_000)}` },
    );
    expect(res.status).toBe(202);
    const stored = await json(await t.get('/api/v1/events/ua'));
    expect((stored.user_agent as string).length).toBe(1024);
  });
});

describe('event names', () => {
  test('a blank name is a 422 naming the field', async () => {
    const res = await t.post('/api/v1/events', { name: '   ' });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [{ loc: ['body', 'name'], msg: 'name must not be blank', type: 'string_blank' }],
    });
  });
});

describe('methods', () => {
  test('a path that exists under other methods is a 405 naming them in Allow', async () => {
    const res = await t.app.handle(
      new Request('http://localhost/api/v1/events/e-1', { method: 'DELETE' }),
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await json(res)).toEqual({
      detail: 'DELETE is not allowed on /api/v1/events/e-1; use GET, HEAD',
      code: 'method_not_allowed',
    });
    // A path no route took under its own method (`//` reads as `/`) is a 404, not a 405.
    expect((await t.get('//')).status).toBe(404);
    // A path no route has stays a 404.
    expect(
      (await t.app.handle(new Request('http://localhost/nope', { method: 'PUT' }))).status,
    ).toBe(404);
  });
});

describe('paths', () => {
  test('a path with broken percent-encoding is a 400 saying so', async () => {
    const res = await t.get('/api/v1/events/100%');
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      detail: 'the path /api/v1/events/100% is not valid percent-encoding',
      code: 'bad_request',
    });
  });
});

describe('batch items', () => {
  test('an item that is not an object is named by its place', async () => {
    const res = await t.post('/api/v1/events/batch', { events: [{ name: 'a' }, 5] });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [
        { loc: ['body', 'events', 1], msg: 'events[1] must be an object', type: 'dict_type' },
      ],
    });
  });
});

describe('tenant in the query string', () => {
  test('ingest refuses ?tenant_id= with a 422 saying to send it in the body', async () => {
    const attempts = [
      t.post('/api/v1/events?tenant_id=zz', { event_id: 'q1', name: 'x' }),
      t.post('/api/v1/events/batch?tenant_id=zz', { events: [{ event_id: 'q2', name: 'x' }] }),
      t.post('/api/v1/events/batch?tenant_id=zz', '{"event_id":"q3","name":"x"}\n', {
        'content-type': 'application/x-ndjson',
      }),
      t.post('/api/v1/metrics?tenant_id=zz', { id: 'q4', name: 'cpu', value: 1 }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({
        detail: [
          {
            loc: ['query', 'tenant_id'],
            msg: 'ingest takes the tenant from the body, not the query: send tenant_id in the body',
            type: 'extra_forbidden',
          },
        ],
      });
    }
    expect((await t.count('default')) + (await t.count('zz'))).toBe(0);
  });

  test('other query parameters do not stop an ingest', async () => {
    const res = await t.post('/api/v1/events?source=sdk', { name: 'x', tenant_id: 'zz' });
    expect(res.status).toBe(202);
    expect(await t.count('zz')).toBe(1);
  });
});
