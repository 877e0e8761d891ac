// The unmodified SDK clients against a node that refuses them for a while, then takes them
// again: every event a client reported delivered is stored exactly once, and one it was refused
// is told to its caller. Two refusals, each made by a small bound of the server's own settings:
//   503 `overloaded`: the in-memory budget (HOT_BYTES_MAX) full until a flush empties it;
//   429 `tenant_overloaded`: the tenant's mailbox (half of COMMIT_QUEUE_BYTES_MAX) holding a
//   request whose fdatasync the test holds, until it lets it run (a 503 on PostHog's routes:
//   posthog-js drops a 4xx).
// What each SDK does with them (its source, in node_modules): analytics-node retries a 503 with
// its backoff (publisher.js: 5xx but 501/505/511) and waits out a 429's Retry-After; posthog-node
// retries 408, 429 and 5xx 3 times, 3 s apart, whatever Retry-After says (fetchRetryCount,
// fetchRetryDelay); posthog-js retries 5xx but no 4xx; @umami/node and Plausible's tracker never
// retry: the caller sees the status.

import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test';
import { Analytics } from '@segment/analytics-node';
import { Umami } from '@umami/node';
import { PostHog } from 'posthog-node';
import { holdFdatasyncs } from '../helpers/held-fdatasyncs.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

/** Events of `name` stored for `tenant`. */
async function stored(server: CompatServer, name: string, tenant = 'default'): Promise<number> {
  const stats = await server.getJson(`/api/v1/stats?tenant_id=${tenant}&name=${name}`);
  return stats.total_events as number;
}

/** Each id is stored once: readable by its id, and as many stored as there are ids. */
async function expectEachOnce(server: CompatServer, ids: Set<string>, name: string) {
  for (const id of ids) {
    const event = await server.getJson(`/api/v1/events/${encodeURIComponent(id)}`);
    expect(event.name).toBe(name);
  }
  expect(await stored(server, name)).toBe(ids.size);
}

/** One native event, acknowledged: the hot tier then holds it until a flush. */
async function fill(server: CompatServer): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fill' }),
  });
  expect(res.status).toBe(202);
}

/**
 * An analytics-node client that notes each answer's status and Retry-After in `seen` and each
 * sent messageId in `ids`, and runs `onRefused` on an answer of status `refused`.
 */
function watchedAnalytics(host: string, flushAt: number, refused: number, onRefused: () => void) {
  const analytics = new Analytics({ writeKey: 'wk', host, flushAt });
  const seen: string[] = [];
  const ids = new Set<string>();
  analytics.on('http_request', (r) => {
    for (const m of (JSON.parse(r.body) as { batch: { messageId: string }[] }).batch) {
      ids.add(m.messageId);
    }
  });
  analytics.on('http_response', (r) => {
    seen.push(`${r.status} ${r.headers['retry-after']}`);
    if (r.status === refused) onRefused();
  });
  return { analytics, seen, ids };
}

/** A fetch for posthog-node that notes each status and Retry-After, and runs `on` after. */
function notingFetch(seen: string[], on: (status: number) => void) {
  return async (url: string, init: RequestInit) => {
    const res = await fetch(url, init);
    seen.push(`${res.status} ${res.headers.get('retry-after')}`);
    on(res.status);
    return res;
  };
}

describe('a node over its in-memory budget: 503 overloaded, Retry-After, until a flush', () => {
  let server: CompatServer;
  beforeEach(async () => {
    // One event fills the budget; nothing flushes but the test (no background timers here).
    server = await startCompatServer({ engine: { hotBytesMax: 1 } });
    await fill(server);
  });
  afterEach(() => server.close());
  const flushSoon = () => setTimeout(() => void server.engine.store.flusher.flush(), 100);

  test('analytics-node retries the batch with the same messageIds: each stored once', async () => {
    const { analytics, seen, ids } = watchedAnalytics(server.url, 8, 503, flushSoon);
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      analytics.track({ userId: `u${i}`, event: 'Shed' }, (err) =>
        outcomes.push(err === undefined ? 'delivered' : String(err)),
      );
    }
    await analytics.closeAndFlush();
    expect(seen).toEqual(['503 1', '200 undefined']);
    expect(outcomes).toEqual(Array(8).fill('delivered'));
    expect(ids.size).toBe(8);
    await expectEachOnce(server, ids, 'Shed');
  });

  test('posthog-node retries the batch with the same uuids: each stored once', async () => {
    const seen: string[] = [];
    const posthog = new PostHog('phc_key', {
      host: server.url,
      flushAt: 8,
      flushInterval: 0,
      fetch: notingFetch(seen, (status) => status === 503 && flushSoon()) as never,
    });
    const errors: unknown[] = [];
    posthog.on('error', (e) => errors.push(e));
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const uuid = crypto.randomUUID();
      ids.add(uuid);
      posthog.capture({ distinctId: `u${i}`, event: 'shed', uuid });
    }
    await posthog.shutdown();
    expect(seen).toEqual(['503 1', '200 null']);
    expect(errors).toEqual([]);
    await expectEachOnce(server, ids, 'shed');
  });

  test('a client whose retries run out while the node is full is told so; none is stored', async () => {
    // posthog-node gives a batch 3 retries (fetchRetryDelay apart, 3 s by default) and then
    // drops it with an `error` event; analytics-node after maxRetries (10 by default), each
    // event's callback getting the error.
    const posthog = new PostHog('phc_key', { host: server.url, flushAt: 3, fetchRetryDelay: 10 });
    const errors: string[] = [];
    posthog.on('error', (e) => errors.push(String(e)));
    for (let i = 0; i < 3; i++) posthog.capture({ distinctId: 'u', event: 'given-up' });
    const logged = spyOn(console, 'error').mockImplementation(() => {}); // the SDK's own report
    try {
      await posthog.shutdown();
    } finally {
      logged.mockRestore();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('HTTP error while fetching PostHog: status=503');
    const analytics = new Analytics({
      writeKey: 'wk',
      host: server.url,
      flushAt: 3,
      maxRetries: 1,
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      analytics.track({ userId: 'u', event: 'Given Up' }, (err) => outcomes.push(String(err)));
    }
    await analytics.closeAndFlush();
    expect(outcomes).toEqual(Array(3).fill('Error: [503] Service Unavailable'));
    expect(await stored(server, 'given-up')).toBe(0);
    expect(await stored(server, 'Given%20Up')).toBe(0);
  });

  test('@umami/node hands the 503 to its caller; a retry after it is stored once', async () => {
    const umami = new Umami({ websiteId: WEBSITE, hostUrl: server.url });
    const refused = await umami.track('shed-umami', { n: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: Json }).error).toMatchObject({
      code: 'server-error',
      status: 503,
    });
    await server.engine.store.flusher.flush();
    const retried = await umami.track('shed-umami', { n: 1 });
    expect(retried.status).toBe(200);
    expect(await stored(server, 'shed-umami', WEBSITE)).toBe(1);
  });

  test("Plausible's beacon gets the 503 with Retry-After and CORS (the page can read it)", async () => {
    // As the tracker sends it (plausible.js: fetch, text/plain, keepalive; no retry: its
    // callback gets {status}).
    const beacon = () =>
      fetch(`${server.url}/api/event`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://example.com' },
        keepalive: true,
        body: JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' }),
      });
    const refused = await beacon();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    await server.engine.store.flusher.flush();
    expect((await beacon()).status).toBe(202);
    expect(await stored(server, 'pageview', 'example.com')).toBe(1);
  });
});

describe("a tenant's mailbox full: 429 tenant_overloaded (503 to PostHog), until it drains", () => {
  let server: CompatServer;
  let held: ReturnType<typeof holdFdatasyncs>;
  let first: Promise<Response>;
  let released: boolean;
  beforeEach(async () => {
    released = false;
    // A mailbox of 1,000 bytes (half the commit queue's): one request in flight fills it.
    server = await startCompatServer({ engine: { commitQueueBytesMax: 2_000 } });
    held = holdFdatasyncs();
    first = fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first', properties: { pad: 'p'.repeat(1_200) } }),
    });
    while (held.held.length === 0) await Bun.sleep(5);
  });
  /** Lets the held commit run (once): the mailbox drains, and nothing is held any more. */
  const drain = () => {
    if (released) return;
    released = true;
    held.restore();
    held.release(0, null);
  };
  afterEach(async () => {
    drain();
    await first;
    await server.close();
  });

  test('analytics-node waits out Retry-After and sends the same batch: each stored once', async () => {
    const { analytics, seen, ids } = watchedAnalytics(server.url, 6, 429, drain);
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      analytics.track(
        { userId: `u${i}`, event: 'Queued', properties: { pad: 'q'.repeat(200) } },
        (err) => outcomes.push(err === undefined ? 'delivered' : String(err)),
      );
    }
    await analytics.closeAndFlush();
    expect(seen).toEqual(['429 1', '200 undefined']);
    expect(outcomes).toEqual(Array(6).fill('delivered'));
    expect((await first).status).toBe(202);
    await expectEachOnce(server, ids, 'Queued');
  });

  test("posthog-js's path gets a 503, which it retries, where a 429 made it drop the events", async () => {
    // posthog-js (module.js, retriableRequest) resends a request whose status is 0, under 400
    // or 5xx, up to 10 times; any other 4xx, a 429 too, goes to its callback and is dropped.
    const send = () =>
      fetch(`${server.url}/e/?ip=0&_=${Date.now()}&ver=1.449.2`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://shop.example' },
        body: JSON.stringify([
          { event: '$pageview', uuid: 'js-1', properties: { distinct_id: 'anon-1', token: 'k' } },
        ]),
      });
    const refused = await send();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await refused.json()) as Json).code).toBe('tenant_overloaded');
    drain();
    await first;
    expect((await send()).status).toBe(200);
    expect(await stored(server, '$pageview')).toBe(1);
  });

  test('posthog-node retries after its own delay, the same uuids: each stored once', async () => {
    const seen: string[] = [];
    const posthog = new PostHog('phc_key', {
      host: server.url,
      flushAt: 6,
      flushInterval: 0,
      fetch: notingFetch(seen, (status) => status === 503 && drain()) as never,
    });
    const errors: unknown[] = [];
    posthog.on('error', (e) => errors.push(e));
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const uuid = crypto.randomUUID();
      ids.add(uuid);
      posthog.capture({
        distinctId: `u${i}`,
        event: 'queued',
        uuid,
        properties: { pad: 'q'.repeat(200) },
      });
    }
    await posthog.shutdown();
    expect(seen).toEqual(['503 1', '200 null']); // a 429 elsewhere: see posthog-js's test
    expect(errors).toEqual([]);
    await expectEachOnce(server, ids, 'queued');
  });
});
