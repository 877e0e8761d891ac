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

/** The status of a request whose body declares 40 bytes and sends 5, the rest never coming. */
function statusOfPartial(method: string, path: string, headers: string[]): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(listener.server.port as number, '127.0.0.1');
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
      if (text.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(Number(text.split(' ')[1])));
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
      return { route: `${method} ${path}`, status, documented: '408' in (op.responses ?? {}) };
    }),
  );
  const late = answers.filter((a) => a.status === 408);
  // Ingest (native and every SDK's), accounts, SQL, Umami's login, Plausible's query, …
  expect(late.length).toBeGreaterThan(50);
  for (const route of ['post /api/v1/events', 'post /v1/batch', 'post /batch/', 'post /api/send']) {
    expect(late.map((a) => a.route)).toContain(route);
  }
  expect(late.filter((a) => !a.documented).map((a) => a.route)).toEqual([]);
}, 30_000);
