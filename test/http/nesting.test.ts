// JSON nested deeper than requestLimits.jsonDepthMax in a body over the event limit is a 400:
// a 5 MB batch can nest millions deep, and measuring such an event (JSON.stringify) overflowed
// the stack: a 500 after ~2 s of a blocked server.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { eventLimits, requestLimits } from '../../src/core/index.ts';
import { makeCompatApp } from '../compat/helpers/compat-app.ts';
import { keyTenancy } from '../compat/helpers/key-tenancy.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const DEEP = 50_000;
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

test('a batch nesting past the limit is a 400 naming it, and stores nothing', async () => {
  const res = await t.post('/api/v1/events/batch', `{"events":[{"name":"a","x":${nested(DEEP)}}]}`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { detail: string }).detail).toContain(
    `more than ${requestLimits.jsonDepthMax} levels deep`,
  );
  expect(await t.count()).toBe(0);
});

test('nesting up to the limit is fine; brackets inside strings do not count', async () => {
  const deepOk = nested(requestLimits.jsonDepthMax - 3); // under {"events":[{ … }]}
  // Strings full of brackets (and an escaped quote), in a body over the event limit.
  const pad = `"${'['.repeat(7_000)}\\"["`;
  const events = Array.from(
    { length: 6 },
    (_, i) => `{"name":"p${i}","properties":{"pad":${pad}}}`,
  );
  const res = await t.post(
    '/api/v1/events/batch',
    `{"events":[{"name":"a","x":${deepOk}},${events.join(',')}]}`,
  );
  expect(res.status).toBe(202);
  expect(await t.count()).toBe(7);
});

test('Segment batches are checked the same way', async () => {
  const app = await makeCompatApp({ tenancy: keyTenancy({}) });
  try {
    const body =
      '{"batch":[{"type":"track","messageId":"m1","userId":"u","event":"E",' +
      `"properties":{"x":${nested(DEEP)}}}]}`;
    const key = { authorization: `Basic ${Buffer.from('wk_acme:').toString('base64')}` };
    const res = await app.post('/v1/batch', body, key);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('levels deep');
  } finally {
    await app.close();
  }
});

test('an NDJSON line nesting past the limit is the same 400 in a small body as in one over the event limit', async () => {
  // Each line is within the event limit, so a body over it skipped the check JSON bodies get:
  // the same line was a 400 in a JSON batch and stored from NDJSON.
  const ndjson = { 'content-type': 'application/x-ndjson' };
  const deep = `{"name":"deep","properties":{"x":${nested(1_000)}}}`;
  const pad = Array.from(
    { length: 12 },
    (_, i) => `{"name":"p${i}","properties":{"pad":"${'x'.repeat(3_000)}"}}`,
  );
  const small = `{"name":"a"}\n${deep}\n`;
  const large = `${pad.join('\n')}\n${deep}\n`;
  expect(Buffer.byteLength(small)).toBeLessThan(eventLimits.eventBytesMax);
  expect(Buffer.byteLength(large)).toBeGreaterThan(eventLimits.eventBytesMax);
  for (const [body, line] of [
    [small, 2],
    [large, pad.length + 1],
  ] as const) {
    const res = await t.post('/api/v1/events/batch', body, ndjson);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      detail: `NDJSON line ${line} nests arrays and objects more than ${requestLimits.jsonDepthMax} levels deep`,
      code: 'invalid_json',
    });
  }
  expect(await t.count()).toBe(0);
  // Up to the limit is fine, in either.
  const deepOk = `{"name":"ok","properties":{"x":${nested(requestLimits.jsonDepthMax - 2)}}}`;
  const res = await t.post('/api/v1/events/batch', `${pad.join('\n')}\n${deepOk}\n`, ndjson);
  expect(res.status).toBe(202);
  expect(await t.count()).toBe(pad.length + 1);
});
