// An issue of the event rules on a compatibility route names the field the client sent, in
// that route's error shape, never the unified event's field it became: a number past the
// double range (1e400, which JSON.stringify cannot write, so bodies are written by hand) in
// Umami's `payload.data`, Plausible's `props` (and `revenue`, `sd`), Segment's `properties`,
// `traits` (and a page's `name`), PostHog's `properties` (its `$` keys, stored in the
// `$posthog` bag) and top-level `$set`; a blank or reserved event name under the field it came
// from (Umami's `payload.name`, Segment's `event`, PostHog's `event`). Seed 002's 422 names
// its `payload` the same way, and never renames a key within it.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const FINITE = 'must be a finite number (within ±1.8e308)';

let t: CompatApp;
beforeAll(async () => {
  t = await makeCompatApp();
});
afterAll(() => t.close());

/** The body of a POST of `body` (written as is) to `path`. */
async function answer(path: string, body: string, status = 400): Promise<Json> {
  const res = await t.post(path, body);
  expect([path, body, res.status]).toEqual([path, body, status]);
  return (await res.json()) as Json;
}

describe('Umami: its 400 names the payload field', () => {
  const item = (payload: string) =>
    `{"type":"event","payload":{"website":"${WEBSITE}","url":"/",${payload}}}`;

  test('a data value past the double range is payload.data.<key>', async () => {
    const body = await answer('/api/send', item('"name":"e","data":{"n":1e400}'));
    const error = body.error as Json;
    expect(error.message).toBe(`body.payload.data.n: payload.data.n ${FINITE}`);
    expect(error.issues).toEqual([
      {
        loc: ['body', 'payload', 'data', 'n'],
        msg: `payload.data.n ${FINITE}`,
        type: 'finite_number',
      },
    ]);
  });

  test('nested in an array, and in a batch item', async () => {
    const body = await answer(
      '/api/batch',
      `[${item('"name":"ok"')},${item('"name":"e","data":{"list":[1,-1e400]}')}]`,
      200,
    );
    const details = body.details as { index: number; response: { error: Json } }[];
    expect(details.map((d) => d.index)).toEqual([1]);
    expect(details[0]?.response.error.message).toBe(
      `body.1.payload.data.list.1: payload.data.list.1 ${FINITE}`,
    );
  });

  test('a time too far ahead is payload.timestamp', async () => {
    const ahead = Math.floor(T0 / 1000) + 2 * 86_400;
    const error = (await answer('/api/send', item(`"timestamp":${ahead}`))).error as Json;
    expect(error.message).toBe(
      'body.payload.timestamp: payload.timestamp must not be more than 24 hours in the future',
    );
  });

  test('a reserved or blank name is payload.name', async () => {
    const reserved = (await answer('/api/send', item('"name":"$engagement"'))).error as Json;
    expect(reserved.message).toStartWith('body.payload.name: payload.name $engagement is reserved');
    const blank = (await answer('/api/send', item('"name":"  "'))).error as Json;
    expect(blank.message).toBe('body.payload.name: payload.name must not be blank');
  });
});

describe('Plausible: its errors map names props, revenue and sd', () => {
  const event = (fields: string) =>
    `{"n":"pageview","u":"https://example.com/","d":"example.com",${fields}}`;

  test('a prop past the double range is under props, in p or its JSON text', async () => {
    expect(await answer('/api/event', event('"p":{"n":1e400}'))).toEqual({
      errors: { props: [`props.n ${FINITE}`] },
    });
    expect(await answer('/api/event', event('"props":"{\\"n\\":1e400}"'))).toEqual({
      errors: { props: [`props.n ${FINITE}`] },
    });
  });

  test('a revenue amount is under revenue, a scroll depth under sd', async () => {
    expect(await answer('/api/event', event('"$":{"amount":1e400,"currency":"EUR"}'))).toEqual({
      errors: { revenue: [`revenue.amount ${FINITE}`] },
    });
    expect(await answer('/api/event', event('"sd":1e400'))).toEqual({
      errors: { sd: [`sd ${FINITE}`] },
    });
    // A prop of those names, without the field, stays a prop.
    expect(await answer('/api/event', event('"p":{"$scroll_depth":1e400}'))).toEqual({
      errors: { props: [`props.$scroll_depth ${FINITE}`] },
    });
    expect(await answer('/api/event', event('"p":{"$revenue":-1e400}'))).toEqual({
      errors: { props: [`props.$revenue ${FINITE}`] },
    });
  });

  test('a reserved name is event_name, the key of every issue of the name', async () => {
    const body = event('"p":{}').replace('"n":"pageview"', '"n":"$umami_identify"');
    const errors = (await answer('/api/event', body)).errors as Record<string, string[]>;
    expect(Object.keys(errors)).toEqual(['event_name']);
    expect(errors.event_name?.[0]).toStartWith('event_name $umami_identify is reserved');
  });
});

describe('Segment: its 400 names the message field', () => {
  const call = (path: string, fields: string) =>
    answer(path, `{"writeKey":"k","userId":"u",${fields}}`);

  test('track properties, identify and group traits, a page name', async () => {
    const track = await call('/v1/track', '"event":"e","properties":{"n":1e400}');
    expect(track.detail).toBe(`body.properties.n: properties.n ${FINITE}`);
    const identify = await call('/v1/identify', '"traits":{"age":1e400}');
    expect(identify.detail).toBe(`body.traits.age: traits.age ${FINITE}`);
    const group = await call('/v1/group', '"groupId":"g","traits":{"size":{"n":[1e400]}}');
    expect(group.detail).toBe(`body.traits.size.n.0: traits.size.n.0 ${FINITE}`);
    const page = await call('/v1/page', '"name":1e400');
    expect(page.detail).toBe(`body.name: name ${FINITE}`);
    const ownName = await call('/v1/page', '"properties":{"name":1e400}');
    expect(ownName.detail).toBe(`body.properties.name: properties.name ${FINITE}`);
  });

  test('its time as it sent it, its messageId', async () => {
    const ahead = new Date(T0 + 2 * 86_400_000).toISOString();
    const future = 'must not be more than 24 hours in the future';
    const timestamp = await call('/v1/track', `"event":"e","timestamp":"${ahead}"`);
    expect(timestamp.detail).toBe(`body.timestamp: timestamp ${future}`);
    const original = await call('/v1/track', `"event":"e","originalTimestamp":"${ahead}"`);
    expect(original.detail).toBe(`body.originalTimestamp: originalTimestamp ${future}`);
    const id = await call('/v1/track', '"event":"e","messageId":"\\ud800"');
    expect(id.detail).toStartWith('body.messageId: messageId must be well-formed Unicode');
  });

  test('in a batch, the message left out is named by its fields', async () => {
    const at = new Date(T0).toISOString();
    const body = await answer(
      '/v1/batch',
      `{"writeKey":"k","batch":[{"type":"track","userId":"u","event":"ok","timestamp":"${at}"},` +
        '{"type":"identify","userId":"u","traits":{"n":1e400}},' +
        '{"type":"track","userId":"u","event":"  "},' +
        '{"type":"track","userId":"u","event":"$umami_identify"}]}',
      200,
    );
    const dropped = body.dropped as { index: number; reason: string }[];
    expect(dropped.map((d) => d.reason)).toEqual([
      `batch.1.traits.n: traits.n ${FINITE}`,
      'batch.2.event: event must not be blank',
      expect.stringContaining('batch.3.event: event $umami_identify is reserved'),
    ]);
  });
});

describe('PostHog: its 400 names the property as the SDK sent it', () => {
  const capture = (events: string) => answer('/batch/', `{"api_key":"k","batch":[${events}]}`);
  const event = (fields: string) => `{"event":"e","distinct_id":"u",${fields}}`;

  test('an app property, a $ property (stored in the bag), a top-level $set', async () => {
    const own = await capture(event('"properties":{"n":1e400}'));
    expect(own.detail).toBe(`batch.0.properties.n: properties.n ${FINITE}`);
    const sdk = await capture(event('"properties":{"$screen_width":1e400}'));
    expect(sdk.detail).toBe(`batch.0.properties.$screen_width: properties.$screen_width ${FINITE}`);
    const top = await capture(event('"$set":{"plan":1e400}'));
    expect(top.detail).toBe(`batch.0.$set.plan: $set.plan ${FINITE}`);
    const inner = await capture(event('"properties":{"$set":{"plan":1e400}},"$set":{"a":1}'));
    expect(inner.detail).toBe(`batch.0.properties.$set.plan: properties.$set.plan ${FINITE}`);
  });

  test('a blank or reserved event name is event, a bad uuid is uuid', async () => {
    expect((await capture(event('"event":"  "').replace('"event":"e",', ''))).detail).toBe(
      'batch.0.event: event must not be blank',
    );
    const reserved = await capture('{"event":"$engagement","distinct_id":"u"}');
    expect(reserved.detail).toStartWith('batch.0.event: event $engagement is reserved');
    const uuid = await capture(event('"uuid":"\\ud800"'));
    expect(uuid.detail).toStartWith('batch.0.uuid: uuid must be well-formed Unicode');
    const long = await capture(event(`"uuid":"${'u'.repeat(200)}"`));
    expect(long.detail).toBe('batch.0.uuid: uuid must be at most 128 characters');
  });
});

describe('seed 002: its 422 names payload, and never a key within it', () => {
  const fields =
    '"event_id":"e-1","tenant_id":"acme","source":"web","event_type":"click",' +
    '"timestamp":"2026-11-25T12:00:00Z"';

  test('a value past the double range in payload, alone or in a bulk item', async () => {
    const one = await answer('/events', `{${fields},"payload":{"n":1e400}}`, 422);
    expect(one.detail).toEqual([
      expect.objectContaining({ loc: ['body', 'payload', 'n'], msg: `payload.n ${FINITE}` }),
    ]);
    const bulk = await answer(
      '/events/bulk',
      `{"events":[{${fields},"payload":{"n":[1e400]}}]}`,
      422,
    );
    expect(bulk.detail).toEqual([
      expect.objectContaining({
        loc: ['body', 'events', 0, 'payload', 'n', 0],
        msg: `payload.n.0 ${FINITE}`,
      }),
    ]);
  });

  test('a payload key named as an event field keeps its name', async () => {
    const body = await answer('/events', `{${fields},"payload":{"name":{"x":1e400}}}`, 422);
    expect(body.detail).toEqual([
      expect.objectContaining({
        loc: ['body', 'payload', 'name', 'x'],
        msg: `payload.name.x ${FINITE}`,
      }),
    ]);
  });
});
