// Umami's error body on every answer of its routes that is not a 2xx, the unexpected ones too:
// Umami's clients read `error.message` of whatever they get. An error no route expected is
// Umami's 500 (its src/lib/response.ts serverError(): "Server error", server-error), logged
// as Tally logs it, leaking no cause.

import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const SERVER_ERROR = { error: { message: 'Server error', code: 'server-error', status: 500 } };
const CAUSE = 'the disk caught fire';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const pageview = { type: 'event', payload: { website: WEBSITE, url: '/', hostname: 'ex.com' } };

describe('an unexpected error', () => {
  test('on a collection route is Umami 500, logged', async () => {
    const logged = spyOn(t.deps.log, 'error');
    t.engine.ingestor.ingest = () => {
      throw new Error(CAUSE);
    };
    for (const [path, body] of [
      ['/api/send', pageview],
      ['/api/batch', [pageview]],
    ] as const) {
      const res = await t.post(path, body);
      expect(res.status, path).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text), path).toEqual(SERVER_ERROR);
      expect(text).not.toContain(CAUSE);
    }
    expect(logged).toHaveBeenCalledTimes(2);
    expect(String(logged.mock.calls[0]?.[0])).toBe('unhandled error');
    expect(JSON.stringify(logged.mock.calls[0]?.[1])).toContain(CAUSE);
  });

  test('on a read route is Umami 500, logged', async () => {
    const logged = spyOn(t.deps.log, 'error');
    t.engine.store.snapshot = async () => {
      throw new Error(CAUSE);
    };
    const range = `startAt=${T0 - 3_600_000}&endAt=${T0}`;
    const res = await t.get(`/api/websites/${WEBSITE}/stats?${range}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual(SERVER_ERROR);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(logged.mock.calls[0]?.[1])).toContain(CAUSE);
  });
});

describe('a path with broken percent-encoding', () => {
  test("under Umami's routes is Umami's 400, saying which path; elsewhere Tally's", async () => {
    for (const path of [
      '/api/websites/%E0%A4%A/stats',
      `/api/websites/${WEBSITE}/sessions/100%`,
      `/api/websites/${WEBSITE}/event-data/%FF`,
      '/api/realtime/%ZZ',
    ]) {
      const res = await t.get(path);
      expect(res.status, path).toBe(400);
      const message = `the path ${path} is not valid percent-encoding`;
      expect(await res.json(), path).toEqual({
        error: { message, code: 'bad-request', status: 400 },
      });
    }
    const native = await t.get('/api/v1/events/100%');
    expect(native.status).toBe(400);
    expect(((await native.json()) as { code: string }).code).toBe('bad_request');
  });
});
