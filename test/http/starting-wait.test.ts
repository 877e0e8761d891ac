// While the store opens, a request the listener is told to hold (PostHog's captures) waits for
// the app and is served by it, instead of the 503 every other request gets then (listener.ts,
// startingWaitLimits): posthog-node drops a batch whose last try was a 503, and keeps one whose
// tries got no answer. Past the wait, or once its client went away, it gets the 503 after all.

import { afterEach, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { createLogger } from '../../src/core/index.ts';
import { type EarlyListener, isPostHogCapture, listenEarly } from '../../src/http/index.ts';

let listener: EarlyListener | undefined;
afterEach(async () => {
  await listener?.server.stop(true);
  listener = undefined;
});

function listen(lines: string[], startingWaitMs = 30_000): { early: EarlyListener; url: string } {
  listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket: {},
    retryAfterSeconds: 1,
    log: createLogger('info', (line) => lines.push(line)),
    waitsWhileStarting: isPostHogCapture,
    startingWaitMs,
  });
  return { early: listener, url: listener.server.url.href.replace(/\/$/, '') };
}

/** An app that stores nothing: it answers each POST with its path and body. */
const app = () =>
  new Elysia()
    .post('/batch/', ({ body }) => ({ served: '/batch/', body }))
    .post('/i/v1/analytics/events', () => ({ served: 'v1' }))
    .post('/api/v1/events', () => ({ served: 'native' }));

const post = (url: string, path: string, signal?: AbortSignal) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"batch":[]}',
    signal,
  });

/** The paths of the requests logged so far (one line each, as they are answered). */
const answered = (lines: string[]) =>
  lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request');

describe('a PostHog capture while the store opens', () => {
  test('waits and is served by the app once it is; other requests get the 503 at once', async () => {
    const lines: string[] = [];
    const { early, url } = listen(lines);
    const batch = post(url, '/batch/');
    const v1 = post(url, '/i/v1/analytics/events');
    const native = await post(url, '/api/v1/events');
    expect(native.status).toBe(503);
    expect(((await native.json()) as { code: string }).code).toBe('not_ready');
    const get = await fetch(`${url}/batch/`); // a GET is no capture of posthog-node's
    expect(get.status).toBe(503);
    expect(answered(lines).map((l) => l.path)).toEqual(['/api/v1/events', '/batch/']);
    early.serve(app());
    const served = await batch;
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ served: '/batch/', body: { batch: [] } });
    expect(await (await v1).json()).toEqual({ served: 'v1' });
  });

  test('past the wait it gets the 503 not_ready, with Retry-After', async () => {
    const { url } = listen([], 300);
    const late = await post(url, '/e/');
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('1');
    expect(((await late.json()) as { code: string }).code).toBe('not_ready');
  });

  test('a client that goes away stops waiting (its 503 logged at once)', async () => {
    const lines: string[] = [];
    const { early, url } = listen(lines); // a wait of 30 s: only the abort ends it in time
    const gone = new AbortController();
    const aborted = post(url, '/capture/', gone.signal).catch((error: Error) => error.name);
    while (early.server.pendingRequests === 0) await Bun.sleep(5); // it waits
    expect((await post(url, '/api/v1/events')).status).toBe(503);
    gone.abort();
    expect(await aborted).toBe('AbortError');
    while (answered(lines).length < 2) await Bun.sleep(5);
    expect(answered(lines).map((l) => [l.path, l.status])).toEqual([
      ['/api/v1/events', 503],
      ['/capture/', 503],
    ]);
  });
});
