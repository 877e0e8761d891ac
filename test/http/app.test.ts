// What createApp checks before any route, over a real socket (port 0): there Elysia registers
// static routes in Bun's own router, which decodes path parameters itself, so a check that
// holds under app.handle may not hold here.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { readsWaiting, withSnapshot } from '../../src/query/read.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { sqlChildren } from '../helpers/sql-children.ts';

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await makeTestApp();
  t.app.listen({ hostname: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${t.app.server?.port}`;
});
afterAll(async () => {
  await t.app.stop();
  await t.close();
});

describe('paths over a socket', () => {
  test('broken percent-encoding in a path parameter is a 400 saying so', async () => {
    for (const path of ['/api/v1/events/100%', '/api/v1/metrics/latest/%ZZ', '/nope/%E0%A4%A']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        detail: `the path ${path} is not valid percent-encoding`,
        code: 'bad_request',
      });
    }
    expect(t.logs.some((l) => l.includes('"path":"/api/v1/events/100%"'))).toBe(true);
  });

  test('well-formed escapes still reach their route, decoded', async () => {
    const res = await fetch(`${base}/api/v1/events/a%20b%25`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      detail: 'no event a b% for tenant default',
      code: 'not_found',
    });
    // A broken escape in the query is the query's business, not the path's.
    expect((await fetch(`${base}/health?x=%ZZ`)).status).toBe(200);
  });
});

describe('a client that goes away', () => {
  test('a body cut off by the client is logged as 499, not as an unhandled 500', async () => {
    const { port } = new URL(base);
    const body = '{"name":';
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port: Number(port),
      socket: { data() {} },
    });
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: 100\r\n\r\n${body}`,
    );
    await Bun.sleep(100);
    socket.end();
    const logged = () => t.logs.filter((l) => l.includes('"path":"/api/v1/events"'));
    const deadline = performance.now() + 10_000;
    while (logged().length === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(logged().map((l) => (JSON.parse(l) as { status: number }).status)).toEqual([499]);
    expect(t.logs.some((l) => l.includes('unhandled error'))).toBe(false);
  });

  test('a read waiting for its place whose client leaves frees the place at once: 499, never run', async () => {
    const { store } = t.engine;
    const { tenantReadsRunningMax: running, tenantReadsWaitingMax: waiting } = queryLimits;
    const waitingNow = () => readsWaiting(store, DEFAULT_TENANT);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from({ length: running }, () =>
      withSnapshot(store, DEFAULT_TENANT, {}, undefined, () => released),
    );
    const snapshot = store.snapshot;
    let snapshots = 0;
    store.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot.call(store, tenant, range);
    };
    try {
      // The queue is filled: first a read over a raw socket, then the others by fetch.
      const socket = await rawRequest(
        `GET /api/v1/events HTTP/1.1\r\nHost: ${hostOf(base)}\r\n\r\n`,
      );
      await until(() => waitingNow() === 1, 'the socket read waits');
      const others = Array.from({ length: waiting - 1 }, () => fetch(`${base}/api/v1/events`));
      await until(() => waitingNow() === waiting, 'the queue is full');
      expect((await fetch(`${base}/api/v1/events`)).status).toBe(429);
      socket.terminate();
      await until(() => waitingNow() === waiting - 1, 'the gone read leaves the queue');
      // Its place is taken by a live client's read, which is answered.
      const late = fetch(`${base}/api/v1/events`);
      await until(() => waitingNow() === waiting, 'the late read waits');
      release();
      await Promise.all(held);
      const answered = await Promise.all([...others, late]);
      expect(answered.map((r) => r.status)).toEqual(Array(waiting).fill(200));
      // The held reads' and the answered ones': the gone read took none.
      expect(snapshots).toBe(running + waiting);
      const gone = statusesOf('GET', '/api/v1/events').filter((status) => status === 499);
      expect(gone).toEqual([499]);
      expect(t.logs.some((l) => l.includes('unhandled error'))).toBe(false);
    } finally {
      release();
      store.snapshot = snapshot;
    }
  });

  test('a SQL statement whose client leaves is stopped: 499, its process killed', async () => {
    const before = new Set(sqlChildren());
    const body = JSON.stringify({
      sql: 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1e12) SELECT count(*) FROM r',
    });
    const socket = await rawRequest(
      `POST /api/v1/query HTTP/1.1\r\nHost: ${hostOf(base)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    // The statement takes the spare (or a new process) and a new spare is started: the new
    // pid shows the statement has its process. Of the children then, the statement's is killed.
    await until(
      () => sqlChildren().some((pid) => !before.has(pid)),
      "the statement's process is started",
    );
    const children = sqlChildren();
    socket.terminate();
    await until(() => statusesOf('POST', '/api/v1/query').length === 1, 'the statement is logged');
    expect(statusesOf('POST', '/api/v1/query')).toEqual([499]);
    // At least the statement's is gone (a spare that ended meanwhile is not this test's).
    const alive = () => sqlChildren().filter((pid) => children.includes(pid)).length;
    await until(() => alive() < children.length, "the statement's process is killed");
    expect(t.logs.some((l) => l.includes('unhandled error'))).toBe(false);
  });
});

/** Sends `raw` over a socket of its own, to be cut by the test. */
function rawRequest(raw: string) {
  const { port } = new URL(base);
  return Bun.connect({ hostname: '127.0.0.1', port: Number(port), socket: { data() {} } }).then(
    (socket) => {
      socket.write(raw);
      return socket;
    },
  );
}

const hostOf = (url: string) => new URL(url).host;

/** Statuses of the request log's lines for `method` `path`, in order. */
function statusesOf(method: string, path: string): number[] {
  return t.logs
    .map((l) => JSON.parse(l) as { method?: string; path?: string; status?: number })
    .filter((l) => l.method === method && l.path === path && l.status !== undefined)
    .map((l) => l.status as number);
}

/** Waits until `done()` holds; fails naming `what` after 4 s (within the test's 5 s). */
/**
 * Waits for `done`. The deadline only ends a test that would hang: a SQL process starts in well
 * under a second alone, but took over 4 s once with other test runs sharing the two cores.
 */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await Bun.sleep(10);
  }
}
