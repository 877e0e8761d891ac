// A body that takes too long to arrive in all (a client trickling it, slowloris) is a 408 in
// the error shape that closes the connection, and nothing of it is written. Over a real socket,
// with a short read time. One slower than 16 KiB an idle timeout is closed sooner by Bun itself
// (uWebSockets restarts the idle timeout only per 16 KiB of body), without an answer.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { type EarlyListener, listenEarly } from '../../src/http/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  READ_TIMEOUT_MS,
  type ReadTimeoutServer,
  serveWithReadTimeout,
} from '../helpers/read-timeout-server.ts';

let t: TestApp;
let listener: EarlyListener;
let server: ReadTimeoutServer;
beforeEach(async () => {
  server = await serveWithReadTimeout();
  ({ t, listener } = server);
});
afterEach(() => server.close());

/** What the server wrote on `socket` until it closed the connection. */
function answerOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
    });
    socket.on('close', () => resolve(text));
  });
}

/** A raw HTTP/1.1 POST of `headers`, then `start` of the body; the rest never comes. */
function postPart(path: string, headers: string[], start: string): Socket {
  const socket = connect(listener.server.port as number, '127.0.0.1');
  const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers].join('\r\n');
  socket.write(`${head}\r\n\r\n${start}`);
  return socket;
}

function parsed(answer: string): { status: number; headers: string; body: unknown } {
  const [headers = '', body = ''] = answer.split('\r\n\r\n');
  return { status: Number(headers.split(' ')[1]), headers, body: JSON.parse(body) };
}

const event = JSON.stringify({ event_id: 'slow-1', name: 'signup' });

describe('a body read in all within its time', () => {
  test('a declared length never completed: 408, the connection closed, nothing written', async () => {
    const socket = postPart(
      '/api/v1/events',
      ['Content-Type: application/json', `Content-Length: ${event.length}`],
      event.slice(0, 10),
    );
    const answer = parsed(await answerOf(socket));
    expect(answer.status).toBe(408);
    expect(answer.headers.toLowerCase()).toContain('connection: close');
    expect(answer.body).toEqual({
      detail: `the body did not arrive within ${READ_TIMEOUT_MS / 1000} s; send it again`,
      code: 'request_timeout',
    });
    expect(await t.count()).toBe(0);
  });

  test('a chunked body trickled a byte at a time, each well within the idle timeout', async () => {
    const socket = postPart(
      '/api/v1/events/batch',
      ['Content-Type: application/json', 'Transfer-Encoding: chunked'],
      '1\r\n{\r\n',
    );
    const answer = answerOf(socket);
    let sent = 1;
    // A byte every 50 ms: the read time (300 ms) ends it before Bun's idle timeout could.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('1\r\n \r\n');
      sent++;
    }, 50);
    try {
      const { status, body } = parsed(await answer);
      expect(status).toBe(408);
      expect(body).toMatchObject({ code: 'request_timeout' });
    } finally {
      clearInterval(trickle);
    }
    expect(sent).toBeGreaterThan(1);
    expect(await t.count()).toBe(0);
  });

  test('a compatibility route too: its own error shape, the connection closed', async () => {
    const socket = postPart(
      '/event',
      ['Content-Type: application/json', `Content-Length: ${event.length}`],
      event.slice(0, 10),
    );
    const answer = parsed(await answerOf(socket));
    expect(answer.status).toBe(408);
    expect(answer.headers.toLowerCase()).toContain('connection: close');
    expect(answer.body).toMatchObject({ detail: expect.stringContaining('did not arrive') });
    expect(await t.count()).toBe(0);
  });

  test("on PostHog's capture routes a 503 with Retry-After, as posthog-js drops a 4xx", async () => {
    // README "When Tally refuses": a 408, "a 503 with Retry-After on PostHog's routes".
    const body = JSON.stringify({ api_key: 'wk_test', batch: [{ event: 'e', distinct_id: 'd' }] });
    const socket = postPart(
      '/batch/',
      ['Content-Type: application/json', `Content-Length: ${body.length}`],
      body.slice(0, 10),
    );
    const answer = parsed(await answerOf(socket));
    expect(answer.status).toBe(503);
    expect(answer.headers.toLowerCase()).toContain('retry-after: 1');
    expect(answer.body).toMatchObject({ code: 'request_timeout' });
    expect(await t.count()).toBe(0);
  });

  test('on capture v1 a 408 stays a 408, which every v1 sender resends', async () => {
    const body = JSON.stringify({ batch: [{ event: 'e', uuid: 'u-1', distinct_id: 'd' }] });
    const socket = postPart(
      '/i/v1/analytics/events',
      [
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        'Authorization: Bearer wk_test',
        'User-Agent: posthog-python/7.0.0',
        'PostHog-Sdk-Info: posthog-python/7.0.0',
        'PostHog-Attempt: 1',
        'PostHog-Request-Id: 0193b5c4-7a1e-7c3a-9d2e-0000000000ff',
        `PostHog-Request-Timestamp: ${new Date().toISOString()}`,
      ],
      body.slice(0, 10),
    );
    const answer = parsed(await answerOf(socket));
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ error: 'request_timeout' });
    expect(await t.count()).toBe(0);
  });

  test('a body sent whole is read as before, on the same kind of connection', async () => {
    const res = await fetch(`${listener.server.url.href}api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: event,
    });
    expect(res.status).toBe(202);
    expect(await t.count()).toBe(1);
  });
});

describe("a body slower than Bun's idle timeout allows", () => {
  test('a byte at a time: closed by Bun with no answer, before the read time, nothing written', async () => {
    // The app's read time at its default (60 s); Bun's idle timeout shortened to 1 s (its
    // timers tick every few seconds), which a byte every 50 ms (20 B/s, far under 16 KiB a
    // timeout) never restarts: closed while the body still arrives (~30 s of it).
    const body = JSON.stringify({ name: 'slow', properties: { pad: 'x'.repeat(560) } });
    const app = await makeTestApp();
    const slow = listenEarly({
      hostname: '127.0.0.1',
      port: 0,
      maxRequestBodySize: 1 << 20,
      socket: {},
      retryAfterSeconds: 1,
      idleTimeoutS: 1,
    });
    slow.serve(app.app);
    const socket = connect(slow.server.port as number, '127.0.0.1');
    const head = [
      'POST /api/v1/events HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${body.length}`,
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    const answer = answerOf(socket);
    let sent = 0;
    const trickle = setInterval(() => {
      if (!socket.destroyed && sent < body.length) socket.write(body[sent++] as string);
    }, 50);
    try {
      expect(await answer).toBe('');
      expect(sent).toBeLessThan(body.length);
      expect(await app.count()).toBe(0);
    } finally {
      clearInterval(trickle);
      await slow.server.stop(true);
      await app.close();
    }
  });
});
