// What createApp checks before any route, over a real socket (port 0): there Elysia registers
// static routes in Bun's own router, which decodes path parameters itself, so a check that
// holds under app.handle may not hold here.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

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
});
