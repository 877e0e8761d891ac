// The live WebSocket's handshake over a real socket: both paths, authentication like the read
// routes (?token=, Authorization, Sec-WebSocket-Protocol), the Origin check, subscriber bounds,
// client message errors, and the OpenAPI components; a plain GET is 426, another method 405.

import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import {
  AppError,
  DEFAULT_TENANT,
  ManualClock,
  type TenantResolver,
} from '../../src/core/index.ts';
import { isOriginAllowed, readOfferedProtocols } from '../../src/http/routes/live.ts';
import * as closeCodes from '../../src/live/close-codes.ts';
import { CREDENTIALS_RECHECK_MS, LiveServerMessage } from '../../src/live/index.ts';
import { inlineSharedAnswers } from '../helpers/openapi.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { RawWsClient } from './raw-client.ts';
import {
  isError,
  isSnapshot,
  LiveClient,
  type LiveServer,
  startLiveServer,
  upgradeStatus,
} from './support.ts';

interface Operation {
  tags?: string[];
  parameters?: { in: string; name: string }[];
  responses: Record<string, { content?: Record<string, { schema?: unknown; example?: unknown }> }>;
}

/** Reads need a read key from the Authorization header or ?token=: rk_<tenant>. */
const keyTenancy: TenantResolver = {
  forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
  forRead: (request) => {
    const bearer = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    const token = bearer ?? new URL(request.url).searchParams.get('token');
    if (token === null || token === undefined) throw new AppError('unauthorized', 'no token');
    if (token !== 'rk_acme' && token !== 'rk_globex') {
      throw new AppError('unauthorized', 'unknown token');
    }
    return token.slice(3);
  },
};

let server: LiveServer;
const clients: LiveClient[] = [];
const connect = async (path: string, init: Bun.WebSocketOptions = {}) => {
  const client = await LiveClient.connect(`${server.wsUrl}${path}`, init);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  server = await startLiveServer({
    tenancy: () => keyTenancy,
    allowedOrigins: ['https://dash.example'],
    limits: { subscribersPerTenantMax: 3, subscribersMax: 4 },
    logLevel: 'info',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
});

describe('credentials that lapse', () => {
  test('a revoked key closes its open sockets with 1008 at the next check', async () => {
    const revoked = new Set<string>();
    const clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
    const revocable: TenantResolver = {
      ...keyTenancy,
      forRead: (request, query, options) => {
        const tenant = keyTenancy.forRead(request, query, options);
        if (revoked.has(tenant)) throw new AppError('unauthorized', 'unknown or revoked read key');
        return tenant;
      },
    };
    const own = await startLiveServer({ tenancy: () => revocable, clock });
    try {
      const acme = await LiveClient.connect(`${own.wsUrl}/api/v1/live?token=rk_acme`);
      const globex = await LiveClient.connect(`${own.wsUrl}/api/v1/live?token=rk_globex`);
      acme.send({ type: 'subscribe' });
      globex.send({ type: 'subscribe' });
      await acme.next(isSnapshot);
      await globex.next(isSnapshot);
      revoked.add('acme');
      clock.advance(CREDENTIALS_RECHECK_MS);
      expect(await acme.closed).toEqual({ code: 1008, reason: 'credentials revoked or expired' });
      const still = await upgradeStatus(`${own.wsUrl}/api/v1/live?token=rk_acme`);
      expect(still.status).toBe(401);
      expect(own.hub.stats()).toMatchObject({ connections: 1, revokedClosed: 1 });
      globex.close();
    } finally {
      await own.close();
    }
  });
});

/** A real SQLITE_BUSY: a read of a database another connection holds an exclusive lock on. */
function sqliteBusy(): Error {
  const temp = makeTempDir('tally-busy-');
  const holder = new Database(path.join(temp.dir, 'keys.db'));
  const reader = new Database(path.join(temp.dir, 'keys.db'));
  try {
    holder.run('CREATE TABLE keys (id TEXT)');
    reader.run('PRAGMA busy_timeout = 0');
    holder.run('BEGIN EXCLUSIVE');
    reader.query('SELECT id FROM keys').all();
    throw new Error('the read was not refused');
  } catch (error) {
    return error as Error;
  } finally {
    holder.close();
    reader.close();
    temp.remove();
  }
}

describe('credentials that cannot be checked', () => {
  test('a database error keeps the socket; six failed rounds in a row close it (1011)', async () => {
    const busy = sqliteBusy();
    expect(busy).toMatchObject({ name: 'SQLiteError', code: 'SQLITE_BUSY' });
    let failing = false;
    let rechecks = 0;
    const clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
    const flaky: TenantResolver = {
      ...keyTenancy,
      forRead: (request, query, options) => {
        if (options?.rateLimited === false) {
          rechecks++;
          if (failing) throw busy;
        }
        return keyTenancy.forRead(request, query, options);
      },
    };
    const own = await startLiveServer({ tenancy: () => flaky, clock, logLevel: 'info' });
    /**
     * Runs one credentials round and waits until the hub checked. The deadline only ends a test
     * that would hang: the hub's real tick timer runs the round, late on a loaded machine.
     */
    const round = async () => {
      const before = rechecks;
      clock.advance(CREDENTIALS_RECHECK_MS);
      const deadline = performance.now() + 30_000;
      while (rechecks === before && performance.now() < deadline) await Bun.sleep(5);
      expect(rechecks).toBe(before + 1);
    };
    try {
      const acme = await LiveClient.connect(`${own.wsUrl}/api/v1/live?token=rk_acme`);
      acme.send({ type: 'subscribe' });
      await acme.next(isSnapshot);
      failing = true;
      for (let i = 0; i < 5; i++) {
        await round();
        expect(own.hub.stats()).toMatchObject({ connections: 1, revokedClosed: 0 });
      }
      const warned = own.logs.filter((l) => l.includes('checking credentials failed'));
      expect(warned).toHaveLength(5);
      expect(warned[0]).toContain('database is locked');
      failing = false;
      await round(); // answered: the count of failed rounds starts again
      failing = true;
      for (let i = 0; i < 5; i++) await round();
      expect(own.hub.stats().connections).toBe(1);
      await round();
      expect(await acme.closed).toEqual({
        code: 1011,
        reason: 'the credentials could not be checked',
      });
      expect(own.hub.stats()).toMatchObject({
        connections: 0,
        revokedClosed: 0,
        uncheckedClosed: 1,
      });
    } finally {
      await own.close();
    }
  });
});

describe('the request log', () => {
  test('an upgrade is logged as 101, a refused handshake with its status', async () => {
    const client = await connect('/api/v1/live?token=rk_acme');
    expect((await upgradeStatus(`${server.url}/api/v1/live?token=rk_nobody`)).status).toBe(401);
    client.close();
    await Bun.sleep(50); // the log is written after the answer
    const lines = server.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request' && l.path === '/api/v1/live');
    expect(lines.map((l) => l.status)).toEqual(expect.arrayContaining([101, 401]));
    expect(lines.find((l) => l.status === 101)).toMatchObject({ method: 'GET', tenant: 'acme' });
  });
});

describe('requests that are not a handshake', () => {
  test('a plain GET is 426 asking for the upgrade', async () => {
    for (const path of ['/api/v1/live', '/api/v1/ws/metrics', '/api/v1/live/']) {
      const res = await fetch(`${server.url}${path}?token=rk_acme`);
      expect(res.status).toBe(426);
      expect(res.headers.get('upgrade')).toBe('websocket');
      expect(await res.json()).toEqual({
        detail: `${path} is a WebSocket; open it with a WebSocket handshake (Upgrade: websocket)`,
        code: 'upgrade_required',
      });
    }
  });

  test('a handshake whose Upgrade value is not lower case is accepted (RFC 6455)', async () => {
    for (const upgrade of ['WebSocket', 'WEBSOCKET']) {
      const raw = await RawWsClient.connect(server.port, '/api/v1/live?token=rk_acme', {}, upgrade);
      expect(raw.head).toStartWith('HTTP/1.1 101');
      raw.end();
    }
    for (const deadline = performance.now() + 5_000; server.hub.stats().connections > 0; ) {
      if (performance.now() > deadline) throw new Error('the raw sockets were never closed');
      await Bun.sleep(10);
    }
  });

  test('another method is 405 with Allow: GET', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const res = await fetch(`${server.url}/api/v1/live`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET');
    }
    const post = await fetch(`${server.url}/api/v1/ws/metrics`, { method: 'POST' });
    expect(await post.json()).toEqual({
      detail: 'POST is not allowed on /api/v1/ws/metrics; use GET',
      code: 'method_not_allowed',
    });
  });
});

describe('authentication', () => {
  test('no token or a bad one is refused with 401 before the upgrade', async () => {
    const none = await upgradeStatus(`${server.wsUrl}/api/v1/live`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({ detail: 'no token', code: 'unauthorized' });
    const bad = await upgradeStatus(`${server.wsUrl}/api/v1/ws/metrics?token=rk_other`);
    expect(bad.status).toBe(401);
    const badProtocol = await upgradeStatus(`${server.wsUrl}/api/v1/live`, {
      'sec-websocket-protocol': 'tally.live, bearer.rk_other',
    });
    expect(badProtocol.status).toBe(401);
  });

  test('a ?token= with characters no token has is 401 invalid_token, not a 500', async () => {
    // A line break, a NUL, a tab, a space or a character past Latin-1 cannot be a header
    // value: copied into Authorization, it threw, and the handshake was a 500.
    for (const token of ['a%0Ab', 'a%00b', 'a%0Db', 'a%09b', 'a%20b', '%E2%82%AC']) {
      const refused = await upgradeStatus(`${server.wsUrl}/api/v1/live?token=${token}`);
      expect({ token, status: refused.status }).toEqual({ token, status: 401 });
      expect(JSON.parse(refused.body)).toEqual({
        detail: 'invalid access token: it holds characters no token has',
        code: 'unauthorized',
      });
    }
    expect(server.logs.some((line) => line.includes('unhandled error'))).toBe(false);
    // Around it, white space is trimmed as a header value's is: a token read from a file with
    // its line break still works.
    const client = await connect('/api/v1/ws/metrics?token=rk_acme%0A');
    expect((await client.next(isSnapshot)).message.tenant).toBe('acme');
    client.close();
    await client.closed;
  });

  test('?token= on the seed-001 path: a snapshot of the token tenant at once', async () => {
    const client = await connect('/api/v1/ws/metrics?token=rk_acme');
    const sentAt = performance.now();
    client.send({ type: 'subscribe' });
    const { message, at } = await client.next(isSnapshot, 1000);
    expect(at - sentAt).toBeLessThan(1000);
    expect(message.tenant).toBe('acme');
    expect(Object.keys(message.windows)).toEqual(['1m', '5m', '1h', '24h']);
    expect(client.invalid).toEqual([]);
    client.close();
    await client.closed;
  });

  test('a token in Sec-WebSocket-Protocol; the server selects tally.live', async () => {
    const client = await connect('/api/v1/live', { protocols: ['tally.live', 'bearer.rk_acme'] });
    expect(client.ws.protocol).toBe('tally.live');
    client.send({ type: 'subscribe' });
    expect((await client.next(isSnapshot)).message.tenant).toBe('acme');
    const pair = await connect('/api/v1/live', { protocols: ['bearer', 'rk_acme'] });
    expect(pair.ws.protocol).toBe('bearer');
    pair.send({ type: 'subscribe' });
    expect((await pair.next(isSnapshot)).message.tenant).toBe('acme');
    client.close();
    pair.close();
    await Promise.all([client.closed, pair.closed]);
  });

  test('a token in the subprotocol is used when Authorization holds no bearer token', async () => {
    // Behind a proxy asking for Basic credentials the browser sends them on the handshake too;
    // the page's token, offered as a subprotocol (or ?token=), was ignored then, a 401.
    const basic = { authorization: `Basic ${btoa('ops:proxy password')}` };
    const client = await connect('/api/v1/live', {
      headers: basic,
      protocols: ['tally.live', 'bearer.rk_acme'],
    });
    client.send({ type: 'subscribe' });
    expect((await client.next(isSnapshot)).message.tenant).toBe('acme');
    const query = await connect('/api/v1/ws/metrics?token=rk_acme', { headers: basic });
    expect((await query.next(isSnapshot)).message.tenant).toBe('acme');
    client.close();
    query.close();
    await Promise.all([client.closed, query.closed]);
  });

  test('the secret of a bearer.<token> protocol is never echoed in the answer', async () => {
    const only = await RawWsClient.connect(server.port, '/api/v1/live', {
      'Sec-WebSocket-Protocol': 'bearer.rk_acme',
    });
    expect(only.head).toStartWith('HTTP/1.1 101');
    expect(only.head).not.toContain('rk_acme');
    expect(only.head.toLowerCase()).not.toContain('sec-websocket-protocol');
    only.end();
    const both = await RawWsClient.connect(server.port, '/api/v1/live', {
      'Sec-WebSocket-Protocol': 'bearer.rk_acme, tally.live',
    });
    expect(both.head).toMatch(/^sec-websocket-protocol: tally\.live$/im);
    expect(both.head).not.toContain('rk_acme');
    both.end();
    // The bounds tests below count sockets: wait until the server has let these go.
    for (const deadline = performance.now() + 5_000; server.hub.stats().connections > 0; ) {
      if (performance.now() > deadline) throw new Error('the raw sockets were never closed');
      await Bun.sleep(10);
    }
  });

  test('reading offered protocols', () => {
    expect(readOfferedProtocols('tally.live, bearer.abc')).toEqual({
      token: 'abc',
      selected: 'tally.live',
    });
    expect(readOfferedProtocols('bearer.abc')).toEqual({ token: 'abc', selected: null });
    expect(readOfferedProtocols('bearer, abc')).toEqual({ token: 'abc', selected: 'bearer' });
    expect(readOfferedProtocols('chat')).toEqual({ token: null, selected: null });
    expect(readOfferedProtocols(null)).toEqual({ token: null, selected: null });
  });
});

describe('origin', () => {
  test('a foreign page is refused with 403; same host and listed origins are fine', async () => {
    const path = `${server.wsUrl}/api/v1/live?token=rk_acme`;
    const foreign = await upgradeStatus(path, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).code).toBe('forbidden');
    const same = await connect('/api/v1/live?token=rk_acme', {
      headers: { origin: `http://127.0.0.1:${server.port}` },
    });
    const listed = await connect('/api/v1/live?token=rk_acme', {
      headers: { origin: 'https://dash.example' },
    });
    same.close();
    listed.close();
    await Promise.all([same.closed, listed.closed]);
  });

  test('the rule', () => {
    expect(isOriginAllowed(null, 'a.example', [])).toBe(true);
    expect(isOriginAllowed('https://a.example', 'a.example', [])).toBe(true);
    expect(isOriginAllowed('http://a.example:8080', 'a.example:8080', [])).toBe(true);
    expect(isOriginAllowed('https://b.example', 'a.example', [])).toBe(false);
    expect(isOriginAllowed('null', 'a.example', [])).toBe(false);
    expect(isOriginAllowed('https://b.example', 'a.example', ['https://b.example'])).toBe(true);
    expect(isOriginAllowed('https://c.example', 'a.example', ['*'])).toBe(true);
  });

  test('the socket of a page whose Host a proxy wrote with its default port opens', async () => {
    const path = '/api/v1/live?token=rk_acme';
    const origin = 'https://tally.example';
    const rewritten = await RawWsClient.connect(server.port, path, {
      origin,
      host: 'tally.example:443',
    });
    expect(rewritten.head).toStartWith('HTTP/1.1 101');
    rewritten.end();
    const other = RawWsClient.connect(server.port, path, { origin, host: 'tally.example:8443' });
    await expect(other).rejects.toThrow('upgrade refused: HTTP/1.1 403');
    for (const deadline = performance.now() + 5_000; server.hub.stats().connections > 0; ) {
      if (performance.now() > deadline) throw new Error('the raw socket was never closed');
      await Bun.sleep(10);
    }
  });

  test('a default port written out is the one the origin leaves out, either way', () => {
    // A proxy that rewrites Host to `tally.example:443` must not make the dashboard's own
    // socket a 403. The Host has no scheme: its port is read with the origin's.
    const same: [string, string][] = [
      ['https://tally.example', 'tally.example:443'],
      ['https://tally.example', 'TALLY.example:443'],
      ['http://tally.example', 'tally.example:80'],
      ['https://tally.example:443', 'tally.example'],
      ['http://tally.example:80', 'tally.example'],
      ['https://tally.example:443', 'tally.example:443'],
      ['wss://tally.example', 'tally.example:443'],
      ['ws://tally.example', 'tally.example:80'],
      ['https://[::1]', '[::1]:443'],
      ['http://127.0.0.1', '127.0.0.1:80'],
    ];
    const other: [string, string][] = [
      ['https://tally.example', 'tally.example:80'], // http's default, not https's
      ['http://tally.example', 'tally.example:443'],
      ['https://tally.example', 'tally.example:8443'],
      ['https://tally.example:8443', 'tally.example'],
      ['https://tally.example:8443', 'tally.example:443'],
      ['http://tally.example:8080', 'tally.example:80'],
      ['https://other.example', 'tally.example:443'],
      ['https://tally.example', 'other.example:443'],
      ['https://tally.example.evil', 'tally.example:443'],
      ['https://[::1]', '[::2]:443'],
      // A Host header with more than a host and a port names no origin.
      ['https://tally.example', 'evil@tally.example'],
      ['https://tally.example', 'tally.example/x'],
      ['https://tally.example', 'tally.example:443/x'],
      ['https://tally.example', 'tally.example:99999'],
      ['https://tally.example', ''],
    ];
    const answer = ([origin, host]: [string, string]) => [
      origin,
      host,
      isOriginAllowed(origin, host, []),
    ];
    expect(same.map(answer)).toEqual(same.map(([o, h]) => [o, h, true]));
    expect(other.map(answer)).toEqual(other.map(([o, h]) => [o, h, false]));
  });
});

describe('bounds and messages', () => {
  test('subscribers per tenant and per server are bounded', async () => {
    const open = await Promise.all([1, 2, 3].map(() => connect('/api/v1/live?token=rk_acme')));
    const overTenant = await upgradeStatus(`${server.wsUrl}/api/v1/live?token=rk_acme`);
    expect(overTenant.status).toBe(429);
    expect(JSON.parse(overTenant.body).code).toBe('tenant_overloaded');
    expect(Number(overTenant.retryAfter)).toBeGreaterThan(0); // README: "with `Retry-After`"
    expect(server.hub.stats().connections).toBe(3);
    const other = await connect('/api/v1/live?token=rk_globex');
    const overServer = await upgradeStatus(`${server.wsUrl}/api/v1/live?token=rk_globex`);
    expect(overServer.status).toBe(503);
    expect(JSON.parse(overServer.body).code).toBe('overloaded');
    expect(Number(overServer.retryAfter)).toBeGreaterThan(0);
    other.close();
    await other.closed;
    (open[0] as LiveClient).close();
    await (open[0] as LiveClient).closed;
    await Bun.sleep(20);
    const again = await connect('/api/v1/live?token=rk_acme');
    again.send({ type: 'subscribe' });
    await again.next(isSnapshot);
    for (const c of [...open.slice(1), again]) c.close();
    await Promise.all([...open.slice(1), again].map((c) => c.closed));
  });

  test('a bad message gets an error and the socket stays usable', async () => {
    const client = await connect('/api/v1/live?token=rk_acme');
    client.send('not json');
    client.send({ type: 'subscribe', names: 'signup' });
    client.send({ type: 'dance' });
    client.send({ type: 'subscribe', names: ['x'.repeat(200)] });
    // Binary frames, a subscribe's bytes or 8 KiB (half the limit): not JSON text.
    client.ws.send(new TextEncoder().encode('{"type":"subscribe"}'));
    client.ws.send(new Uint8Array(8 * 1024));
    let from = 0;
    for (let i = 0; i < 6; i++) from = (await client.next(isError, 2000, from)).index + 1;
    expect(client.messages.filter(isError).map((m) => m.detail)).toEqual([
      'a message must be JSON',
      '/names: Expected array',
      'expected {"type":"subscribe","names":[…]?} or {"type":"unsubscribe"}',
      '/names/0: Expected string length less or equal to 120',
      'a message must be a JSON text frame, not a binary one',
      'a message must be a JSON text frame, not a binary one',
    ]);
    client.send({ type: 'subscribe', names: ['signup'] });
    const { message } = await client.next(isSnapshot);
    expect(message.names_filter).toEqual(['signup']);
    client.close();
    await client.closed;
  });

  test('a message over the size limit closes the socket with 1009', async () => {
    const client = await connect('/api/v1/live?token=rk_acme');
    client.send({ type: 'subscribe', names: ['x'.repeat(17 * 1024)] });
    expect((await client.closed).code).toBe(1009);
  });

  test('the protocol is documented as OpenAPI components', async () => {
    const spec = inlineSharedAnswers(await (await fetch(`${server.url}/openapi/json`)).json()) as {
      components: { schemas: Record<string, { description?: string }> };
    };
    expect(spec.components.schemas.LiveServerMessage?.description).toContain('/api/v1/live');
    expect(spec.components.schemas.LiveClientMessage).toBeDefined();
  });

  test('the component names every close code the server ends a socket with', async () => {
    // The 101 answer sends clients to this description for the close codes: 4410 (the
    // project was deleted, README "Close codes") was missing from it.
    const spec = inlineSharedAnswers(await (await fetch(`${server.url}/openapi/json`)).json()) as {
      components: { schemas: Record<string, { description?: string }> };
    };
    const description = spec.components.schemas.LiveServerMessage?.description ?? '';
    const codes = Object.values(closeCodes).filter((v) => typeof v === 'number');
    expect(codes).toContain(4410);
    // 1009 (a client message over the limit) is Bun's own close.
    for (const code of [...codes, 1009]) expect(description).toContain(`${code} `);
  });

  test('both handshakes are operations of the document: 101, every refusal, the parameters', async () => {
    // The plugin leaves WebSocket routes out: /openapi/json had no live path at all (its
    // `live` tag had no operation), so nothing said how to open the socket or how it fails.
    const spec = inlineSharedAnswers(await (await fetch(`${server.url}/openapi/json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    for (const path of ['/api/v1/live', '/api/v1/ws/metrics']) {
      const op = spec.paths[path]?.get;
      expect(op?.tags).toEqual(['live']);
      expect(Object.keys(op?.responses ?? {})).toEqual([
        '101',
        '400',
        '401',
        '403',
        '422',
        '426',
        '429',
        '503',
      ]);
      expect(op?.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual([
        'query tenant_id',
        'query token',
        'header Sec-WebSocket-Protocol',
      ]);
      const opened = op?.responses['101']?.content?.['application/json'];
      expect(opened?.schema).toEqual({ $ref: '#/components/schemas/LiveServerMessage' });
      expect(Value.Check(LiveServerMessage, opened?.example)).toBe(true);
      // Every refusal it documents is one the handshake answers.
      const refused = await upgradeStatus(`${server.wsUrl}${path}?tenant_id=a/b`, {
        authorization: 'Bearer rk_acme',
      });
      expect(Object.keys(op?.responses ?? {})).toContain(String(refused.status));
      // A query string read two ways (query-string.ts) is refused before any credential:
      // the 400 was answered but not documented.
      const broken = await upgradeStatus(`${server.wsUrl}${path}?tenant_id=%FF`, {
        authorization: 'Bearer rk_acme',
      });
      expect(broken.status).toBe(400);
      expect(Object.keys(op?.responses ?? {})).toContain('400');
    }
  });
});
