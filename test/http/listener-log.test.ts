// The requests the listener answers itself (listener.ts: while the store opens, and a host the
// router cannot read) are logged as the app logs its own: README's "every request is logged as
// one JSON line", which a minute of recovery answered in silence.

import { afterEach, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { createLogger } from '../../src/core/index.ts';
import { type EarlyListener, listenEarly } from '../../src/http/index.ts';

let listener: EarlyListener | undefined;
afterEach(async () => {
  await listener?.server.stop(true);
  listener = undefined;
});

function listen(lines: string[], level: 'info' | 'warn' = 'info'): EarlyListener {
  listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket: {},
    retryAfterSeconds: 1,
    log: createLogger(level, (line) => lines.push(line)),
  });
  return listener;
}

const requestLines = (lines: string[]) =>
  lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request');

describe('the listener logs the requests it answers', () => {
  test('while the store opens: one line each, with method, path, status and duration', async () => {
    const lines: string[] = [];
    const { server } = listen(lines);
    const url = server.url.href.replace(/\/$/, '');
    const key = `wk_${'a'.repeat(12)}${'b'.repeat(43)}`;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(503);
    const ingest = await fetch(`${url}/api/v1/events?api_key=secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: '{"name":"signup","properties":{"password":"hunter2"}}',
    });
    expect(ingest.status).toBe(503);
    expect((await fetch(`${url}/array/${key}/config`)).status).toBe(503);
    const logged = requestLines(lines);
    expect(logged.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: 'GET', path: '/health', status: 200 },
      { method: 'GET', path: '/ready', status: 503 },
      { method: 'POST', path: '/api/v1/events', status: 503 },
      { method: 'GET', path: `/array/wk_${'a'.repeat(12)}…/config`, status: 503 },
    ]);
    for (const line of logged) expect(typeof line.duration_ms).toBe('number');
    // Never the body, the query string or the credential.
    expect(lines.join('\n')).not.toMatch(/hunter2|secret|b{43}/);
  });

  test('a host the router cannot read, once the app serves', async () => {
    const lines: string[] = [];
    const early = listen(lines);
    early.serve(new Elysia().get('/health', () => 'ok'));
    const port = early.server.port;
    const answer = await fetch(`http://127.0.0.1:${port}/health`, { headers: { host: 'api' } });
    expect(answer.status).toBe(400);
    expect(requestLines(lines)).toMatchObject([{ method: 'GET', path: '/health', status: 400 }]);
  });

  test('below LOG_LEVEL=info, none', async () => {
    const lines: string[] = [];
    const { server } = listen(lines, 'warn');
    expect((await fetch(`${server.url.href}ready`)).status).toBe(503);
    expect(lines).toEqual([]);
  });
});
