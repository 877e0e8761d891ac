// The unmodified SDK clients against the real server process: stopped (SIGKILL, SIGTERM) while
// their batches are in flight and started again on the same port, and a write key's rate limit
// (RATE_WRITE_*) in AUTH_MODE=required. Every event a client reported delivered is stored once:
// a batch whose answer the stop cut is retried with the same messageIds/uuids, and the restart's
// deduplication index (rebuilt from the log, or read from its snapshot) calls the copies
// duplicates.

import { afterEach, describe, expect, test } from 'bun:test';
import * as net from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { Umami } from '@umami/node';
import { PostHog } from 'posthog-node';
import { CAPTURE_BODY_MIB_MAX } from '../../src/http/compat/posthog.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

afterEach(killServers);

const PASSWORD = 'correct horse 1';
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
/** posthog-node's tries of a batch the stop cut: 300 ms apart, ~15 s for the restart. */
const POSTHOG_RETRIES = 50;

async function call(url: string, method: string, route: string, body?: unknown, token?: string) {
  return fetch(`${url}${route}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** How many times each stored event_id of `tenant` is stored, by SQL over everything. */
async function storedIds(url: string, tenant: string, token?: string) {
  const sql = 'SELECT event_id, count(*)::INTEGER FROM events GROUP BY event_id';
  const res = await call(url, 'POST', `/api/v1/query?tenant_id=${tenant}`, { sql }, token);
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as { rows: [string, number][] }).rows);
}

/** A port free now, to start the server on again after it was killed. */
function freePort(): number {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

describe('a server stopped while SDK batches are in flight, started again', () => {
  test.each([
    ['SIGKILL', 'a crash: the index is rebuilt from the log'],
    ['SIGTERM', 'a clean stop: the index comes back from its snapshot'],
  ] as const)(
    '%s (%s): every event analytics-node or posthog-node delivered stored once',
    async (signal) => {
      const { dir, remove } = makeTempDir('tally-sdk-restart-');
      const env = { PORT: String(freePort()), DISK_FREE_BYTES_MIN: '0' };
      let server: RunningServer = await startServer(dir, env);
      try {
        const host = server.url;
        const analytics = new Analytics({ writeKey: 'wk', host, flushAt: 5, flushInterval: 20 });
        // posthog-node gives up after fetchRetryCount tries (default 3, 300 ms apart: ~1 s),
        // less than a restart takes on a loaded host; Segment's 10 back off up to a minute.
        const posthog = new PostHog('phc_key', {
          host,
          flushAt: 5,
          flushInterval: 20,
          fetchRetryDelay: 300,
          fetchRetryCount: POSTHOG_RETRIES,
        });
        const delivered = new Set<string>();
        const failed: string[] = [];
        const uuids: string[] = [];
        const posthogErrors: unknown[] = [];
        posthog.on('error', (e) => posthogErrors.push(e));
        let answered = 0;
        analytics.on('http_response', () => answered++);
        const sendRound = (round: number) => {
          for (let i = 0; i < 5; i++) {
            analytics.track(
              { userId: `u${i}`, event: 'Survived', properties: { round } },
              (err, ctx) => {
                const id = ctx?.event.messageId as string;
                if (err === undefined) delivered.add(id);
                else failed.push(`${id}: ${String(err)}`);
              },
            );
            const uuid = crypto.randomUUID();
            uuids.push(uuid);
            posthog.capture({
              distinctId: `u${i}`,
              event: 'survived',
              uuid,
              properties: { round },
            });
          }
        };
        // Rounds before the kill, one of them surely in flight at it, and after the restart.
        for (let round = 0; round < 6; round++) {
          sendRound(round);
          await Bun.sleep(15);
        }
        while (answered < 2) await Bun.sleep(5);
        sendRound(6);
        server.kill(signal);
        await server.exited;
        sendRound(7);
        server = await startServer(dir, env);
        expect(server.url).toBe(host);
        sendRound(8);
        await analytics.closeAndFlush();
        await posthog.shutdown();
        expect(failed).toEqual([]);
        expect(posthogErrors).toEqual([]);
        expect(delivered.size).toBe(45);
        const segment = await storedIds(server.url, 'default');
        for (const id of delivered)
          expect({ id, times: segment.get(id) }).toEqual({ id, times: 1 });
        for (const uuid of uuids)
          expect({ uuid, times: segment.get(uuid) }).toEqual({ uuid, times: 1 });
        expect(segment.size).toBe(90);
      } finally {
        server.kill('SIGKILL');
        await server.exited;
        remove();
      }
    },
    60_000,
  );
});

describe('a batch sent while the store opens (listening, not yet ready)', () => {
  test('posthog-node and @umami/node: each capture waits for the store and is stored', async () => {
    // posthog-node drops a batch whose last try was answered with an error status (a 503
    // not_ready, with no retries left here), and keeps one that got no answer for its next
    // flush: a start longer than its tries lost the batches sent meanwhile. @umami/node never
    // resends: its caller got the 503.
    const { dir, remove } = makeTempDir('tally-sdk-starting-');
    const env = { DISK_FREE_BYTES_MIN: '0', FAULT_OPEN_DELAY: '2s' };
    const server = await startServer(dir, env, 'listening');
    try {
      const seen: number[] = [];
      const posthog = new PostHog('phc_key', {
        host: server.url,
        flushAt: 3,
        flushInterval: 0,
        fetchRetryCount: 0,
        fetch: (async (u: string, init: RequestInit) => {
          const res = await fetch(u, init);
          seen.push(res.status);
          return res;
        }) as never,
      });
      const errors: unknown[] = [];
      posthog.on('error', (e) => errors.push(e));
      const uuids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      for (const uuid of uuids) posthog.capture({ distinctId: 'u', event: 'early', uuid });
      const umami = new Umami({ websiteId: WEBSITE, hostUrl: server.url });
      const tracked = umami.track('early-umami');
      await posthog.shutdown();
      expect(errors).toEqual([]);
      expect(seen).toEqual([200]);
      expect((await tracked).status).toBe(200);
      const ids = await storedIds(server.url, 'default');
      expect(uuids.map((uuid) => ids.get(uuid))).toEqual([1, 1, 1]);
      expect([...(await storedIds(server.url, WEBSITE)).values()]).toEqual([1]);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      remove();
    }
  });
});

describe("a write key's rate limit (429 rate_limited, Retry-After) in AUTH_MODE=required", () => {
  test('the SDKs wait and resend: every event stored once', async () => {
    const { dir, remove } = makeTempDir('tally-sdk-rate-');
    const server = await startServer(dir, {
      AUTH_MODE: 'required',
      RATE_WRITE_PER_SECOND: '2',
      RATE_WRITE_BURST: '1',
      DISK_FREE_BYTES_MIN: '0',
    });
    try {
      const { url } = server;
      const user = { email: 'ada@example.com', password: PASSWORD };
      expect((await call(url, 'POST', '/api/v1/auth/register', user)).status).toBe(201);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: user.email, password: PASSWORD }),
      });
      const token = ((await login.json()) as { access_token: string }).access_token;
      expect(
        (await call(url, 'POST', '/api/v1/projects', { id: 'acme', name: 'Acme' }, token)).status,
      ).toBe(201);
      const made = await call(url, 'POST', '/api/v1/projects/acme/keys', { kind: 'write' }, token);
      const key = ((await made.json()) as { key: string }).key;

      const statuses: string[] = [];
      const analytics = new Analytics({ writeKey: key, host: url, flushAt: 2 });
      analytics.on('http_response', (r) => statuses.push(`segment ${r.status}`));
      const outcomes: string[] = [];
      for (let i = 0; i < 6; i++) {
        analytics.track({ userId: `u${i}`, event: 'Limited' }, (err) =>
          outcomes.push(err === undefined ? 'delivered' : String(err)),
        );
      }
      await analytics.closeAndFlush();
      expect(outcomes).toEqual(Array(6).fill('delivered'));
      expect(statuses).toContain('segment 429');

      const posthog = new PostHog(key, {
        host: url,
        flushAt: 6,
        flushInterval: 0,
        fetch: (async (u: string, init: RequestInit) => {
          const res = await fetch(u, init);
          statuses.push(`posthog ${res.status} ${res.headers.get('retry-after')}`);
          return res;
        }) as never,
      });
      const errors: unknown[] = [];
      posthog.on('error', (e) => errors.push(e));
      // Right after Segment's last request: the key's bucket is empty.
      for (let i = 0; i < 6; i++) posthog.capture({ distinctId: `u${i}`, event: 'limited' });
      await posthog.shutdown();
      expect(errors).toEqual([]);
      expect(statuses.filter((s) => s.startsWith('posthog'))).toEqual([
        'posthog 503 1', // the key's 429, sent as a 503 on PostHog's routes
        'posthog 200 null',
      ]);
      const ids = await storedIds(url, 'acme', token);
      expect(ids.size).toBe(12);
      expect([...ids.values()].every((n) => n === 1)).toBe(true);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      remove();
    }
  }, 60_000);
});

/**
 * POSTs `body` as Node's fetch (undici) does: the whole body written before the answer is read.
 * The answer's head, or the error that stopped the write (EPIPE, ECONNRESET).
 */
function postWholeBody(url: string, path: string, body: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    let wrote = false;
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (wrote) socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    socket.write(head);
    socket.write(body, (error) => {
      if (error !== undefined && error !== null) return;
      wrote = true;
      if (answer !== '') socket.end();
    });
  });
}

describe("a body over the route's limit, written whole before the answer is read", () => {
  test("posthog-node under Node reads the route's 413 (and halves its batch)", async () => {
    // posthog-node halves a batch on a 413 (isPostHogFetchContentTooLargeError), but under Node
    // its fetch writes the whole body first: when the server closed the connection unread past
    // a 6 MiB cap, the write failed (EPIPE), a network error that keeps the batch as it is.
    const { dir, remove } = makeTempDir('tally-sdk-body-');
    const server = await startServer(dir, { DISK_FREE_BYTES_MIN: '0' });
    try {
      const events = Array.from({ length: 100 }, (_, i) => ({
        event: '$ai_generation',
        distinct_id: 'u',
        properties: { i, $ai_input: 'z'.repeat(250_000) },
      }));
      const body = Buffer.from(JSON.stringify({ api_key: 'phc_key', batch: events }));
      // Past the capture routes' limit (CAPTURE_BODY_MIB_MAX), within the server's.
      expect(body.length).toBeGreaterThan((CAPTURE_BODY_MIB_MAX + 1) * 1024 * 1024);
      expect(await postWholeBody(server.url, '/batch/', body)).toBe(
        'HTTP/1.1 413 Payload Too Large',
      );
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      remove();
    }
  });
});
