// A read the server takes longer than Bun's idle timeout to answer is answered, not cut as an
// idle connection (a GET was: logged 499, the client's fetch reset): the timeout is off while
// the server works on a request with no body (http/server-work.ts, answerServing), and back
// once it is answered, so a connection then left idle is closed. A request with a body (SQL)
// never was cut once its body was in: Bun turns the timeout off itself then; its test keeps
// that so. Over a real socket, with the idle timeout shortened to 1 s. A body still arriving
// stays under the timeout: body-read-timeout.test.ts ("a body slower than Bun's idle timeout
// allows").

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { type EarlyListener, listenEarly } from '../../src/http/index.ts';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let listener: EarlyListener;
/** Lets the held reads go on. */
let release: () => void;
/** Resolved once a read is held (its snapshot asked for). */
let held: Promise<void>;

beforeEach(async () => {
  t = await makeTestApp();
  expect((await t.post('/api/v1/events', { event_id: 'e-1', name: 'pageview' })).status).toBe(202);
  await countersBuilt(t, 'default'); // its actor's rebuild reads the store: not held
  // Every read of the store waits until the test releases it: the server's work on it lasts
  // as long as the test needs, whatever the host's speed.
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = (): void => undefined;
  held = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const { store } = t.engine;
  const snapshot = store.snapshot;
  store.snapshot = async (tenant, range) => {
    entered();
    await released;
    return snapshot.call(store, tenant, range);
  };
  listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket: {},
    retryAfterSeconds: 1,
    idleTimeoutS: 1,
  });
  listener.serve(t.app);
});

afterEach(async () => {
  release();
  await listener.server.stop(true);
  await t.close();
});

/** A raw keep-alive connection that sends `request`; what it was answered until it closed. */
function sent(request: string): { socket: Socket; closed: Promise<string> } {
  const socket = connect(listener.server.port as number, '127.0.0.1');
  socket.write(request);
  const closed = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
    });
    socket.on('close', () => resolve(text));
  });
  return { socket, closed };
}

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}

function post(path: string, body: unknown): string {
  const text = JSON.stringify(body);
  const head = [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(text)}`,
  ];
  return `${head.join('\r\n')}\r\n\r\n${text}`;
}

/**
 * Sends `request`, holds its read until Bun has closed a connection left idle since after it
 * was sent (Bun's timers tick every few seconds: the read's connection, idle longer, would have
 * been closed by then too), then lets it go: the status of its answer, once the connection,
 * left idle after it, was closed in turn.
 */
async function heldRead(request: string): Promise<number> {
  const read = sent(request);
  await held;
  const idle = sent(get('/health'));
  expect(await idle.closed).toStartWith('HTTP/1.1 200');
  release();
  // Closed only when the idle timeout is back once the read is answered: else the test times out.
  const answer = await read.closed;
  return Number(answer.split(' ')[1]);
}

test("a stats read held past Bun's idle timeout is answered; the timeout is back after", async () => {
  expect(await heldRead(get('/api/v1/stats?range=7d'))).toBe(200);
});

test('a SQL statement held past the idle timeout is answered (Bun: its body is in)', async () => {
  const status = await heldRead(post('/api/v1/query', { sql: 'SELECT count(*) AS n FROM events' }));
  expect(status).toBe(200);
});

test("Plausible's stats (a GET) held past the idle timeout is answered", async () => {
  expect(await heldRead(get('/api/v1/stats/aggregate?site_id=default&period=7d'))).toBe(200);
});

test('a WebSocket handshake is not touched: its socket has its own timeout', async () => {
  const server = listener.server;
  const touched: string[] = [];
  const timeout = server.timeout.bind(server);
  server.timeout = (request, seconds) => {
    touched.push(new URL(request.url).pathname);
    timeout(request, seconds);
  };
  const handshake = [
    'GET /api/v1/live HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  ];
  // This app has no live hub: the handshake is refused, as one is before its upgrade (a live
  // socket served so is in test/live/ws-served.test.ts).
  const socket = sent(`${handshake.join('\r\n')}\r\n\r\n`);
  socket.socket.end();
  await socket.closed;
  release();
  expect((await fetch(`${server.url.href}health`)).status).toBe(200);
  expect(touched).toEqual(['/health', '/health']);
});

test("an export's own work nests in its answer's: off once, back once, on the same request", async () => {
  release();
  const server = listener.server;
  const calls: [string, number][] = [];
  const timeout = server.timeout.bind(server);
  server.timeout = (request, seconds) => {
    calls.push([new URL(request.url).pathname, seconds]);
    timeout(request, seconds);
  };
  const parquet = await fetch(`${server.url.href}api/v1/export?format=parquet`);
  expect(parquet.status).toBe(200);
  expect((await parquet.arrayBuffer()).byteLength).toBeGreaterThan(0);
  // The copy (the export's work) ran within the answer's: no call of its own; the idle
  // timeout restored is the server's (1 s), not the default.
  expect(calls).toEqual([
    ['/api/v1/export', 0],
    ['/api/v1/export', 1],
  ]);
});
