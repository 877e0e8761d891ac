// While the store opens, a capture whose client drops or never resends a 503 waits for the app
// and is served by it, instead of the 503 every other request gets then (listener.ts,
// startingWaitOf, startingWaitLimits): posthog-node drops a batch whose last try was a 503 and
// keeps one whose tries got no answer; @umami/node and Plausible's tracker never resend. Past
// the wait, or once its client went away, it gets the 503 after all.

import { afterEach, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Elysia } from 'elysia';
import { createLogger, startingWaitLimits } from '../../src/core/index.ts';
import { POSTHOG_PATHS } from '../../src/http/compat/posthog.ts';
import { POSTHOG_V1_PATH } from '../../src/http/compat/posthog-v1.ts';
import { type EarlyListener, listenEarly, startingWaitOf } from '../../src/http/index.ts';

let listener: EarlyListener | undefined;
afterEach(async () => {
  await listener?.server.stop(true);
  listener = undefined;
});

/** A listener whose Umami and Plausible events wait `noRetryWaitMs` (NO_RETRY_WAIT). */
function listen(lines: string[], noRetryWaitMs: number) {
  listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket: {},
    retryAfterSeconds: 1,
    log: createLogger('info', (line) => lines.push(line)),
    startingWaitOf: (request) => startingWaitOf(request, noRetryWaitMs),
  });
  return { early: listener, url: listener.server.url.href.replace(/\/$/, '') };
}

/** An app that stores nothing: it answers each POST with its path (and the body it read). */
const app = () =>
  new Elysia()
    .post('/batch/', ({ body }) => ({ served: '/batch/', body }))
    .post('/i/v1/analytics/events', () => ({ served: 'v1' }))
    .post('/api/send', () => ({ served: 'umami' }))
    .post('/api/v1/events', () => ({ served: 'native' }));

const post = (url: string, path: string, signal?: AbortSignal) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"batch":[]}',
    signal,
  });

/** The requests logged so far (one line each, as they are answered). */
const answered = (lines: string[]) =>
  lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request');

// README "Operations" names the routes that wait while the store opens: every PostHog capture
// route, up to startingWaitLimits.waitMs; Umami's and Plausible's events, up to NO_RETRY_WAIT.
describe('the routes README names as waiting at start', () => {
  const readme = readFileSync(path.join(import.meta.dir, '..', '..', 'README.md'), 'utf8');
  const text = readme.replace(/\s+/g, ' ');
  const pathsIn = (phrase: RegExp) => [...(phrase.exec(text)?.[1] ?? '').matchAll(/`(\/[^`]*)`/g)];
  const posthog = pathsIn(/A PostHog capture \(a `POST` to (.*?)\) waits instead/).map((m) => m[1]);
  const noRetry = pathsIn(/An Umami or Plausible event \(a `POST` to (.*?), whose clients/).map(
    (m) => m[1],
  );
  const waitOf = (method: string, route = '') =>
    startingWaitOf(new Request(`http://127.0.0.1${route}`, { method }), 5000);

  test('each PostHog capture route waits, and README names every one', () => {
    expect(posthog.sort()).toEqual([...POSTHOG_PATHS, POSTHOG_V1_PATH].sort());
    for (const route of posthog) {
      expect([route, waitOf('POST', route)]).toEqual([route, startingWaitLimits.waitMs]);
      expect([route, waitOf('GET', route)]).toEqual([route, 0]); // a GET is no capture
    }
  });

  test("Umami's and Plausible's events wait NO_RETRY_WAIT; other routes not at all", () => {
    expect(noRetry).toEqual(['/api/send', '/api/batch', '/api/event']);
    for (const route of noRetry) expect([route, waitOf('POST', route)]).toEqual([route, 5000]);
    expect(waitOf('POST', '/api/v1/events')).toBe(0);
  });
});

describe('a capture while the store opens', () => {
  test('waits and is served by the app once it is; other requests get the 503 at once', async () => {
    const lines: string[] = [];
    const { early, url } = listen(lines, 30_000);
    const batch = post(url, '/batch/');
    const v1 = post(url, '/i/v1/analytics/events');
    const umami = post(url, '/api/send');
    const native = await post(url, '/api/v1/events');
    expect(native.status).toBe(503);
    expect(((await native.json()) as { code: string }).code).toBe('not_ready');
    const get = await fetch(`${url}/batch/`); // a GET is no capture of an SDK's
    expect(get.status).toBe(503);
    expect(answered(lines).map((l) => l.path)).toEqual(['/api/v1/events', '/batch/']);
    early.serve(app());
    const served = await batch;
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ served: '/batch/', body: { batch: [] } });
    expect(await (await v1).json()).toEqual({ served: 'v1' });
    expect(await (await umami).json()).toEqual({ served: 'umami' });
  });

  test('past its wait it gets the 503 not_ready; NO_RETRY_WAIT=0 leaves Umami none', async () => {
    expect(startingWaitLimits.waitMs).toBe(15_000);
    const { url } = listen([], 300);
    const late = await post(url, '/api/send');
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('1');
    expect(((await late.json()) as { code: string }).code).toBe('not_ready');
    const request = (path: string) => new Request(`${url}${path}`, { method: 'POST' });
    expect(startingWaitOf(request('/api/event'), 0)).toBe(0);
    expect(startingWaitOf(request('/api/batch'), 0)).toBe(0);
    expect(startingWaitOf(request('/e/'), 0)).toBe(startingWaitLimits.waitMs);
    expect(startingWaitOf(request('/v1/batch'), 5_000)).toBe(0); // analytics-node resends
  });

  test('a client that goes away stops waiting (its 503 logged at once)', async () => {
    const lines: string[] = [];
    const { early, url } = listen(lines, 0); // PostHog's 15 s: only the abort ends it in time
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
