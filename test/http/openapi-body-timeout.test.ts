// Every route that reads a body answers a body still arriving after its time with a 408
// (body-bytes.ts), and its OpenAPI answers say so: the native ingest routes, and as much the
// account routes, SQL and every compatibility route (an SDK's or a service's) whose body is
// read the same way. Found by asking each route of /openapi/json over a real socket, with a
// body that never arrives whole (README, Ingest: "so on every route that reads a body").

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { connect } from 'node:net';
import type { EarlyListener } from '../../src/http/index.ts';
import type { TestApp } from '../helpers/app.ts';
import { operationsOf } from '../helpers/openapi.ts';
import { type ReadTimeoutServer, serveWithReadTimeout } from '../helpers/read-timeout-server.ts';

let t: TestApp;
let listener: EarlyListener;
let server: ReadTimeoutServer;
beforeAll(async () => {
  server = await serveWithReadTimeout();
  ({ t, listener } = server);
});
afterAll(() => server.close());

/** The answer to a request whose body declares 40 bytes and sends 5, the rest never coming. */
function answerToPartial(method: string, path: string, headers: string[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(listener.server.port as number, '127.0.0.1');
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
      // The whole answer (head and Content-Length bytes): a keep-alive answer is not closed.
      const [head, body] = text.split('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(head ?? '')?.[1];
      if (body !== undefined && Buffer.byteLength(body) >= Number(length ?? 0)) socket.destroy();
    });
    socket.on('close', () => resolve(text));
    const head = [
      `${method.toUpperCase()} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      'Content-Length: 40',
      ...headers,
    ].join('\r\n');
    socket.write(`${head}\r\n\r\n{"a":`);
  });
}

/** The status of answerToPartial's answer. */
const statusOfPartial = async (method: string, path: string, headers: string[]) =>
  Number((await answerToPartial(method, path, headers)).split(' ')[1]);

/** PostHog's routes: a late body is a 503 there (posthog-js drops a 4xx), not a 408. */
const POSTHOG_PATHS =
  /^\/(batch|capture|e|track|engage|s|flags|decide|i\/v0\/e|i\/v0\/ai\/batch)\/$/;

test('every route that answers a late body 408 documents its 408', async () => {
  const credentials = { email: 'ada@example.com', password: 'correct horse battery' };
  expect((await t.post('/api/v1/auth/register', credentials)).status).toBe(201);
  const login = await t.post('/api/v1/auth/login', credentials);
  const token = ((await login.json()) as { access_token: string }).access_token;
  const operations = await operationsOf<{ responses?: Record<string, unknown> }>(t);
  const withBody = operations.filter(
    ({ method, path }) =>
      ['post', 'put', 'patch', 'delete'].includes(method) &&
      // Deleting the account would end the token the others are sent with.
      !(method === 'delete' && path === '/api/v1/users/me'),
  );
  const answers = await Promise.all(
    withBody.map(async ({ method, path, op }) => {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      let status = await statusOfPartial(method, url, []);
      // Account routes check the caller first: signed in, they read the body.
      if (status === 401) {
        status = await statusOfPartial(method, url, [`Authorization: Bearer ${token}`]);
      }
      const documented = (status: number) => String(status) in (op.responses ?? {});
      return { route: `${method} ${path}`, path, status, documented };
    }),
  );
  const late = answers.filter((a) => a.status === 408);
  // Ingest (native and every SDK's but PostHog's), accounts, SQL, Umami's login, Plausible's query…
  expect(late.length).toBeGreaterThan(40);
  for (const route of ['post /api/v1/events', 'post /v1/batch', 'post /api/send']) {
    expect(late.map((a) => a.route)).toContain(route);
  }
  expect(late.filter((a) => !a.documented(408)).map((a) => a.route)).toEqual([]);
  // PostHog's answer it 503, documented so, and none of them 408.
  const posthog = answers.filter((a) => POSTHOG_PATHS.test(a.path));
  expect(posthog.map((a) => a.route)).toContain('post /batch/');
  expect(posthog.length).toBeGreaterThanOrEqual(10);
  for (const a of posthog) {
    expect([a.route, a.status, a.documented(503), a.documented(408)]).toEqual([
      a.route,
      503,
      true,
      false,
    ]);
  }
}, 30_000);

// posthog-js resends a request answered a 5xx and drops one answered a 4xx: a capture whose
// body came too slowly (a phone on a bad link) was a 408, its events lost for good.
test("PostHog's capture answers a late body 503 with Retry-After, a 5xx posthog-js resends", async () => {
  const answer = await answerToPartial('post', '/batch/', []);
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
  expect(head.toLowerCase()).toContain('\r\nretry-after: ');
  expect(head.toLowerCase()).toContain('\r\nconnection: close');
  expect(JSON.parse(body)).toMatchObject({ type: 'server_error', code: 'request_timeout' });
  expect(await t.engine.store.hot.bytes).toBe(0);
});
