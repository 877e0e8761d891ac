// README "When Tally refuses: what each SDK does": @umami/node, the Umami script and Plausible's
// tracker never resend, so on their routes (`/api/send`, `/api/batch`, `/api/event`) a request
// the node refuses for overload (503 `overloaded`, 429 `tenant_overloaded`) waits for room and
// tries again, for at most NO_RETRY_WAIT, before it is refused as on every other route. Two
// overloads, each made by a small bound of the engine's own: the in-memory budget (HOT_BYTES_MAX)
// full until the test flushes, and a tenant's mailbox (half of COMMIT_QUEUE_BYTES_MAX) holding a
// request whose fdatasync the test holds.

import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import { Umami } from '@umami/node';
import { AppError, noRetryWaitLimits, type TenantResolver } from '../../src/core/index.ts';
import type { EngineOptions } from '../../src/engine/index.ts';
import { RoomWaits } from '../../src/http/compat/room-wait.ts';
import { countEvents } from '../helpers/app.ts';
import { holdFdatasyncs } from '../helpers/held-fdatasyncs.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { startCompatServer } from './helpers/compat-server.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const HOT_BYTES_MAX = 256 * 1024;
/**
 * "At once": far under the 5 s NO_RETRY_WAIT a request that waited would take, and loose enough
 * for a host running another test file beside this one (100 ms was missed there).
 */
const AT_ONCE_MS = 1_000;

let t: CompatApp;
let held: ReturnType<typeof holdFdatasyncs> | null = null;
let first: Promise<Response> | null = null;
afterEach(async () => {
  held?.restore();
  held?.release(0, null);
  await first;
  held = null;
  first = null;
  await t.close();
});

async function open(noRetryWaitMs: number, engine: Partial<EngineOptions> = {}) {
  t = await makeCompatApp({ noRetryWaitMs, engine });
}

const beacon = (d: string, name = 'pageview', signal?: AbortSignal) =>
  t.handle(
    new Request('http://localhost/api/event', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0' },
      body: JSON.stringify({ n: name, u: 'https://example.com/pricing', d }),
      ...(signal === undefined ? {} : { signal }),
    }),
  );
const umami = (path: '/api/send' | '/api/batch', url = '/pricing') => {
  const item = { type: 'event', payload: { website: WEBSITE, url, hostname: 'example.com' } };
  return t.post(path, path === '/api/send' ? item : [item, { ...item, type: 'event' }]);
};
const count = (tenant: string) => countEvents(t.engine.store, tenant);
/** Notes when `answer` is answered, to see that a request is still waiting. */
function watched(answer: Promise<Response>) {
  const state = { answered: false, answer };
  void answer.then(() => {
    state.answered = true;
  });
  return state;
}

/**
 * Native events until the node refuses for its in-memory budget (hot events to flush): of one
 * tenant until its own 429 (once it holds 3/4 of the budget, over its part of half), then of
 * another, whose part (a third: one of two tenants and one to come) is more than the rest.
 */
async function fillHot(): Promise<void> {
  const tenants = ['default', 'fill'];
  for (let i = 0; t.engine.ingestor.admission() === null; i++) {
    expect(i).toBeLessThan(200);
    const properties = { pad: 'p'.repeat(7_000) };
    const tenant_id = tenants[0];
    const res = await t.post('/api/v1/events', { tenant_id, name: 'fill', properties });
    if (res.status === 429 && tenants.length > 1) tenants.shift();
    else expect(res.status).toBe(202);
  }
}
const flush = () => t.engine.store.flusher.flush();

/** A request of `tenant` whose fdatasync is held: its mailbox (1,000 bytes) is then full. */
async function fillMailbox(tenant: string): Promise<void> {
  held = holdFdatasyncs();
  const body = { tenant_id: tenant, name: 'first', properties: { pad: 'p'.repeat(1_200) } };
  first = t.post('/api/v1/events', body);
  while (held.held.length === 0) await Bun.sleep(5);
}
/** Lets the held commit run: the mailbox drains. */
function drain(): void {
  held?.restore();
  held?.release(0, null);
  held = null;
}

describe('the node over its in-memory budget (503 overloaded) until a flush', () => {
  test('a Plausible event waits, is 202 once a flush made room, and is stored once', async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const sent = watched(beacon('example.com'));
    await Bun.sleep(150);
    expect(sent.answered).toBe(false); // without the wait: 503 at once, the page view lost
    await flush();
    const res = await sent.answer;
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('ok');
    expect(await count('example.com')).toBe(1);
  });

  test('an Umami event (/api/send) and batch (/api/batch) wait too, each stored once', async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const send = watched(umami('/api/send'));
    const batch = watched(umami('/api/batch', '/docs'));
    await Bun.sleep(150);
    expect([send.answered, batch.answered]).toEqual([false, false]);
    await flush();
    expect((await send.answer).status).toBe(200);
    expect(await (await send.answer).json()).toMatchObject({ sessionId: expect.any(String) });
    const batched = await batch.answer;
    expect(batched.status).toBe(200);
    expect(await batched.json()).toMatchObject({ size: 2, processed: 2, errors: 0 });
    expect(await count(WEBSITE)).toBe(3);
  });

  test("past NO_RETRY_WAIT the refusal stands: today's 503, and nothing is stored", async () => {
    await open(300, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const started = performance.now();
    const res = await beacon('example.com');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as Json).code).toBe('overloaded');
    await flush();
    expect(await count('example.com')).toBe(0);
  });

  test('NO_RETRY_WAIT=0: refused at once, as before', async () => {
    await open(0, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const res = await beacon('example.com');
    expect(res.status).toBe(503);
    expect((await umami('/api/send')).status).toBe(503);
  });

  test('past the requests waiting at once, a refusal is answered at once', async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const max = noRetryWaitLimits.waitingRequestsMax;
    const waiting = Array.from({ length: max }, () => watched(beacon('example.com')));
    await Bun.sleep(100); // each has met the refusal once and holds its place
    const started = performance.now();
    const over = await beacon('example.com');
    expect(over.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(AT_ONCE_MS);
    expect(waiting.some((w) => w.answered)).toBe(false);
    await flush();
    const answers = await Promise.all(waiting.map((w) => w.answer));
    expect(answers.map((r) => r.status)).toEqual(Array(max).fill(202));
    expect(await count('example.com')).toBe(max);
  });

  test("a shutdown ends the waits at once with today's 503", async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const sent = watched(beacon('example.com'));
    await Bun.sleep(100);
    t.deps.isAccepting = () => false;
    const stoppedAt = performance.now();
    const res = await sent.answer;
    expect(performance.now() - stoppedAt).toBeLessThan(noRetryWaitLimits.backoffMaxMs + AT_ONCE_MS);
    expect(res.status).toBe(503);
    expect(((await res.json()) as Json).code).toBe('shutting_down');
    await flush();
    expect(await count('example.com')).toBe(0);
  });

  test('a tenant deleted while its request waits: 503, and nothing stored after the 204', async () => {
    // README "Deleting a project": ingest for the tenant while the deletion runs writes nothing
    // (and in AUTH_MODE=required its keys stop working at once). A request that met the
    // deletion while it waited was checked before it: its next try must not write into the
    // deleted tenant.
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const sent = watched(beacon('example.com'));
    const send = watched(umami('/api/send'));
    await Bun.sleep(100);
    // Both wait when their tenants are deleted; their next try (or the one after the flush)
    // is refused.
    expect([sent.answered, send.answered]).toEqual([false, false]);
    const tombstoneOnly = { decide: (tombstone: () => void) => tombstone() };
    await t.engine.deletions.delete('example.com', tombstoneOnly);
    await t.engine.deletions.delete(WEBSITE, tombstoneOnly);
    await flush();
    const res = await sent.answer;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as Json).detail).toContain('deleted');
    expect((await send.answer).status).toBe(503);
    expect(await count('example.com')).toBe(0);
    expect(await count(WEBSITE)).toBe(0);
    // A request sent after the deletion is a new one, taken as any.
    expect((await beacon('example.com')).status).toBe(202);
    expect(await count('example.com')).toBe(1);
  });

  test("an Umami batch of two websites, one deleted while it waits: its items refused, the other's written", async () => {
    // Umami answers a batch item by item: the deleted website's items are each the 503 a
    // request of it alone gets; before, the whole batch was, and the other's were lost too.
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const other = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
    const item = (website: string) => ({ type: 'event', payload: { website, url: '/p' } });
    const items = [item(WEBSITE), item(other), item(WEBSITE)];
    const sent = watched(t.post('/api/batch', items));
    await Bun.sleep(100);
    await t.engine.deletions.delete(other, { decide: (tombstone: () => void) => tombstone() });
    expect(sent.answered).toBe(false);
    await flush();
    const res = await sent.answer;
    expect(res.status).toBe(200);
    const deleting = { error: { code: 'server-error', status: 503 } };
    expect(await res.json()).toMatchObject({
      size: 3,
      processed: 2,
      errors: 1,
      details: [{ index: 1, response: deleting }],
    });
    await flush();
    expect(await count(WEBSITE)).toBe(2);
    expect(await count(other)).toBe(0);
  });

  test('a Plausible domain list, one site deleted while it waits: only it is left out', async () => {
    // As a site it may not write to is left out before the wait (Plausible drops a site it
    // does not know, 202 with x-plausible-dropped); before, the whole beacon was the 503 and
    // the other site's page view was lost (the tracker never resends).
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const sent = watched(beacon('other.example,example.com'));
    await Bun.sleep(100);
    await t.engine.deletions.delete('other.example', { decide: (tombstone) => tombstone() });
    expect(sent.answered).toBe(false);
    await flush();
    const res = await sent.answer;
    expect(res.status).toBe(202);
    expect(res.headers.get('x-plausible-dropped')).toBe('1');
    await flush();
    expect(await count('example.com')).toBe(1);
    expect(await count('other.example')).toBe(0);
  });

  test('a client that goes away stops waiting; its event is not stored', async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const abort = new AbortController();
    const sent = watched(beacon('example.com', 'pageview', abort.signal));
    await Bun.sleep(100);
    expect(sent.answered).toBe(false);
    const leftAt = performance.now();
    abort.abort();
    await sent.answer.catch(() => undefined);
    expect(performance.now() - leftAt).toBeLessThan(AT_ONCE_MS);
    await flush();
    await Bun.sleep(noRetryWaitLimits.backoffMaxMs + 50); // a wait still running would try now
    expect(await count('example.com')).toBe(0);
  });

  test('a request is checked before it waits: a rate limit (429 rate_limited) at once', async () => {
    t = await makeCompatApp({
      noRetryWaitMs: 5_000,
      engine: { hotBytesMax: HOT_BYTES_MAX },
      tenancy: limitedTenancy(),
    });
    await fillHot();
    const started = performance.now();
    const res = await beacon('example.com');
    expect(res.status).toBe(429);
    expect(((await res.json()) as Json).code).toBe('rate_limited');
    expect(performance.now() - started).toBeLessThan(AT_ONCE_MS);
  });

  test('other routes are refused at once: their clients resend', async () => {
    await open(5_000, { hotBytesMax: HOT_BYTES_MAX });
    await fillHot();
    const started = performance.now();
    expect((await t.post('/api/v1/events', { name: 'native' })).status).toBe(503);
    const segment = await t.post(
      '/v1/track',
      { userId: 'u', event: 'Seg' },
      {
        authorization: `Basic ${btoa('wk:')}`,
      },
    );
    expect(segment.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(AT_ONCE_MS);
  });
});

describe("a tenant's mailbox full (429 tenant_overloaded) until its commit is durable", () => {
  test('a Plausible event waits for the mailbox to drain, then is stored once', async () => {
    await open(5_000, { commitQueueBytesMax: 2_000 });
    await fillMailbox('example.com');
    const sent = watched(beacon('example.com'));
    await Bun.sleep(150);
    expect(sent.answered).toBe(false); // without the wait: 429 at once
    drain();
    expect((await sent.answer).status).toBe(202);
    expect((await first)?.status).toBe(202);
    expect(await count('example.com')).toBe(2);
  });

  test('a request naming several sites (d=a,b) writes nothing while one is full, then each once', async () => {
    await open(5_000, { commitQueueBytesMax: 2_000 });
    await fillMailbox('b.example');
    const sent = watched(beacon('example.com,b.example'));
    await Bun.sleep(150);
    expect(sent.answered).toBe(false);
    // Refused whole: example.com's event was not written while b.example's mailbox was full.
    expect(await count('example.com')).toBe(0);
    drain();
    expect((await sent.answer).status).toBe(202);
    expect(await count('example.com')).toBe(1);
    expect(await count('b.example')).toBe(2); // the held request's and the beacon's
  });

  test('past NO_RETRY_WAIT: the 429 of today, and nothing stored', async () => {
    await open(200, { commitQueueBytesMax: 2_000 });
    await fillMailbox('example.com');
    const started = performance.now();
    const refused = await beacon('example.com');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Json).code).toBe('tenant_overloaded');
    drain();
    await first;
    expect(await count('example.com')).toBe(1); // the held request's only
  });

  test('a rate limit (429 rate_limited) is answered at once, never waited on', async () => {
    t = await makeCompatApp({
      noRetryWaitMs: 5_000,
      engine: { commitQueueBytesMax: 2_000 },
      tenancy: limitedTenancy(),
    });
    await fillMailbox('example.com');
    const started = performance.now();
    const res = await beacon('example.com');
    expect(res.status).toBe(429);
    expect(((await res.json()) as Json).code).toBe('rate_limited');
    expect(performance.now() - started).toBeLessThan(AT_ONCE_MS);
  });
});

test("a try after one whose part was written keeps its event_ids: that part isn't stored twice", async () => {
  // A batch of several tenants goes in parts only at ACTORS_MAX (README Limits), when a later
  // part may be refused for overload after an earlier one was written. Here the engine's first
  // try of a request writes example.com's event and answers overloaded; the wait tries again
  // with the same events (ids given once, before the first try), so example.com's is a
  // duplicate and b.example's is stored: one event each.
  await open(5_000);
  const ingestor = t.engine.ingestor;
  const ingest = ingestor.ingest.bind(ingestor);
  const tries: string[][] = [];
  ingestor.ingest = async (events) => {
    tries.push(events.map((e) => e.event_id));
    if (tries.length > 1) return ingest(events);
    const written = await ingest(events.filter((e) => e.tenant === 'example.com'));
    expect(written).toMatchObject({ kind: 'ok', accepted: 1 });
    return { kind: 'overloaded', reason: 'the commit queue is full' };
  };
  expect((await beacon('example.com,b.example')).status).toBe(202);
  expect(tries).toHaveLength(2);
  expect(tries[1]).toEqual(tries[0] as string[]);
  expect(await count('example.com')).toBe(1);
  expect(await count('b.example')).toBe(1);
});

/** Open tenancy whose write rate is spent for good on Plausible's route: `429 rate_limited`. */
function limitedTenancy(): TenantResolver {
  return {
    forIngest(request) {
      if (new URL(request.url).pathname === '/api/event') {
        throw new AppError('rate_limited', 'the write rate of this project is spent');
      }
      return (claimed) => claimed ?? 'default';
    },
    forRead: (_request, query) => query.tenant_id ?? 'default',
  };
}

// README Limits: "A waiting request polls (10 ms doubling to 200 ms …), so it is taken up to
// 200 ms after room frees, … and each try derives and encodes its events again (… up to 30
// times in 5 s)". Over a virtual clock: the pauses one wait of NO_RETRY_WAIT=5s takes.
test('a wait pauses 10 ms doubling to 200 ms: 30 tries at most in 5 s', async () => {
  await open(0); // the app the hooks close; this wait is one of its own
  let now = 0;
  const pauses: number[] = [];
  const clock = spyOn(performance, 'now').mockImplementation(() => now);
  const timer = spyOn(globalThis, 'setTimeout').mockImplementation(((
    done: () => void,
    ms: number,
  ) => {
    pauses.push(ms);
    now += ms;
    queueMicrotask(done);
    return 0;
  }) as unknown as typeof setTimeout);
  let tries = 1;
  try {
    const waits = new RoomWaits(5_000);
    await waits.around(new Request('http://localhost/api/send'), async (wait) => {
      while (await wait.next(() => true)) tries++;
    });
  } finally {
    clock.mockRestore();
    timer.mockRestore();
  }
  const { backoffFirstMs, backoffMaxMs } = noRetryWaitLimits;
  expect(pauses.slice(0, 6)).toEqual([10, 20, 40, 80, 160, 200]);
  expect([backoffFirstMs, backoffMaxMs]).toEqual([10, 200]);
  expect(Math.max(...pauses)).toBe(backoffMaxMs);
  expect(pauses.reduce((a, b) => a + b, 0)).toBe(5_000);
  expect(tries).toBe(30);
});

describe('over a socket: the real @umami/node, and a beacon whose client goes away', () => {
  test('@umami/node gets its 200 once a flush made room; an aborted fetch stops waiting', async () => {
    const server = await startCompatServer({
      noRetryWaitMs: 5_000,
      engine: { hotBytesMax: 1 },
    });
    const stored = async (tenant: string) => countEvents(server.engine.store, tenant);
    try {
      const fill = await fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'fill' }),
      });
      expect(fill.status).toBe(202);
      const umamiClient = new Umami({ websiteId: WEBSITE, hostUrl: server.url });
      const tracked = watched(umamiClient.track('waited', { n: 1 }));
      await Bun.sleep(150);
      expect(tracked.answered).toBe(false); // without the wait: a 503 its caller must resend
      await server.engine.store.flusher.flush();
      expect((await tracked.answer).status).toBe(200);
      expect(await stored(WEBSITE)).toBe(1);
      // Full again (the hot budget is 1 byte): a beacon sent now waits; its client leaves.
      const abort = new AbortController();
      const gone = fetch(`${server.url}/api/event`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' }),
        signal: abort.signal,
      }).catch(() => null);
      await Bun.sleep(100);
      abort.abort();
      expect(await gone).toBeNull();
      await Bun.sleep(50);
      await server.engine.store.flusher.flush();
      await Bun.sleep(noRetryWaitLimits.backoffMaxMs * 2); // a wait still running tries now
      expect(await stored('example.com')).toBe(0);
    } finally {
      await server.close();
    }
  });
});
