import { afterEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const body = (r: Response) => r.json() as Promise<Record<string, unknown>>;

describe('exact-once ingest', () => {
  test('the same id sent concurrently is accepted once', async () => {
    t = makeTestApp();
    const app = t;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app.post('/api/v1/events', { event_id: 'race', name: `n${i}` }),
      ),
    );
    const bodies = await Promise.all(responses.map(body));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(bodies.filter((b) => b.duplicate === false)).toHaveLength(1);
    expect(app.ingestor.stats().hotEvents).toBe(1);
  });

  test('events and dedup keys survive a restart', async () => {
    t = makeTestApp();
    await t.post('/api/v1/events/batch', {
      events: [
        { event_id: 'a', name: 'x', tenant_id: 'acme' },
        { event_id: 'b', name: 'y' },
      ],
    });
    await t.restart();
    expect((await t.get('/api/v1/events/a?tenant_id=acme')).status).toBe(200);
    const again = await t.post('/api/v1/events/batch', {
      events: [
        { event_id: 'a', name: 'x', tenant_id: 'acme' },
        { event_id: 'b', name: 'y' },
        { event_id: 'c', name: 'z' },
      ],
    });
    expect(await body(again)).toMatchObject({ accepted: 1, duplicates: 2 });
    expect(t.ingestor.stats().hotEvents).toBe(3);
  });

  test('an id is accepted again once the dedup window has passed', async () => {
    t = makeTestApp({ dedupWindowMs: 60_000 });
    await t.post('/api/v1/events', { event_id: 'w', name: 'x' });
    t.clock.advance(30_000);
    t.ingestor.expireDedup();
    expect(
      (await body(await t.post('/api/v1/events', { event_id: 'w', name: 'x' }))).duplicate,
    ).toBe(true);
    t.clock.advance(60_000);
    t.ingestor.expireDedup();
    expect(
      (await body(await t.post('/api/v1/events', { event_id: 'w', name: 'x' }))).duplicate,
    ).toBe(false);
  });
});

describe('explicit overload', () => {
  test('past the in-memory budget ingest answers 503 with Retry-After and stores nothing', async () => {
    t = makeTestApp({ hotBytesMax: 2_000 });
    expect((await t.post('/api/v1/events', { event_id: '1', name: 'x' })).status).toBe(202);
    const batch = Array.from({ length: 20 }, (_, i) => ({ event_id: `b${i}`, name: 'x' }));
    const res = await t.post('/api/v1/events/batch', { events: batch });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await body(res)).toEqual({
      detail: 'ingest is overloaded: the in-memory event budget is full; retry later',
      code: 'overloaded',
    });
    expect(t.ingestor.stats().hotEvents).toBe(1);
  });

  test('a full commit queue answers 503, and the refused ids can be sent again', async () => {
    t = makeTestApp({ commitQueueEventsMax: 5 });
    const app = t;
    const batch = (p: string) => ({
      events: Array.from({ length: 4 }, (_, i) => ({ event_id: `${p}${i}`, name: 'x' })),
    });
    const [first, second] = await Promise.all([
      app.post('/api/v1/events/batch', batch('a')),
      app.post('/api/v1/events/batch', batch('b')),
    ]);
    expect([first?.status, second?.status].sort()).toEqual([202, 503]);
    const retry = await app.post('/api/v1/events/batch', batch(first?.status === 503 ? 'a' : 'b'));
    expect(await body(retry)).toMatchObject({ accepted: 4, duplicates: 0 });
  });

  test('a full dedup index answers 503', async () => {
    t = makeTestApp({ dedupKeysMax: 2 });
    await t.post('/api/v1/events', { name: 'x' });
    await t.post('/api/v1/events', { name: 'x' });
    const res = await t.post('/api/v1/events', { name: 'x' });
    expect(res.status).toBe(503);
    expect((await body(res)).detail).toContain('deduplication index is full');
  });

  test('low disk space makes /ready 503 and ingest 503', async () => {
    t = makeTestApp({ diskFreeBytesMin: Number.MAX_SAFE_INTEGER });
    const ready = await t.get('/ready');
    expect(ready.status).toBe(503);
    expect((await body(ready)).detail).toMatch(/bytes free/);
    expect((await t.post('/api/v1/events', { name: 'x' })).status).toBe(503);
  });
});
