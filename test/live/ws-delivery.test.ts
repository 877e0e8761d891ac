// Live delivery over real sockets against the real engine: latency from an ingest ack to the
// first message that reflects it, coalescing, heartbeats, names filters, unsubscribe, shutdown,
// and a slow consumer (a raw client that stops reading) closed with 1013 while others go on,
// past its own limit or, with others, past the server's budget.

import { afterEach, describe, expect, test } from 'bun:test';
import {
  defaultLiveLimits,
  type LiveServerMessageBody,
  liveMessageBytesMax,
} from '../../src/live/index.ts';
import { RawWsClient } from './raw-client.ts';
import {
  isHeartbeat,
  isSnapshot,
  LiveClient,
  type LiveServer,
  startLiveServer,
  upgradeStatus,
} from './support.ts';

type Snapshot = Extract<LiveServerMessageBody, { type: 'snapshot' }>;

let server: LiveServer | null = null;
const clients: LiveClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = null;
});

async function subscribed(s: LiveServer, message: unknown = { type: 'subscribe' }) {
  const client = await LiveClient.connect(`${s.wsUrl}/api/v1/live`);
  clients.push(client);
  client.send(message);
  const first = await client.next(isSnapshot, 1000);
  return { client, first };
}

const events1m =
  (n: number) =>
  (m: LiveServerMessageBody): m is Snapshot =>
    isSnapshot(m) && m.windows['1m'].events === n;

describe('delivery', () => {
  test('an acknowledged event shows in a live message within 1 s', async () => {
    server = await startLiveServer();
    const { client, first } = await subscribed(server);
    expect(first.message.windows['1m'].events).toBe(0);
    const latencies: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await server.post('/api/v1/events', { name: 'signup', path: '/welcome' });
      const ackAt = performance.now();
      expect(res.status).toBe(202);
      const seen = await client.next(events1m(i), 1000);
      latencies.push(seen.at - ackAt);
      await Bun.sleep(300);
    }
    expect(Math.max(...latencies)).toBeLessThanOrEqual(1000);
    const last = client.messages.filter(isSnapshot).at(-1) as Snapshot;
    expect(last.windows['1h'].names).toEqual([{ name: 'signup', events: 5 }]);
    expect(last.windows['5m'].uniques).toBe(1);
  });

  test('changes are coalesced: snapshots at most every 250 ms, the last one complete', async () => {
    server = await startLiveServer();
    const { client, first } = await subscribed(server);
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      await server.post('/api/v1/events', { name: 'page_view', path: `/p${i % 3}` });
      await Bun.sleep(15);
    }
    const elapsed = performance.now() - started;
    await client.next(events1m(40), 1000, first.index + 1);
    const pushed = client.messages.slice(first.index + 1).filter(isSnapshot);
    const gaps = pushed.slice(1).map((m, i) => m.at - (pushed[i] as Snapshot).at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(pushed.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
    expect(pushed.length).toBeGreaterThanOrEqual(2);
    const paths = (pushed.at(-1) as Snapshot).windows['1m'].top_paths;
    expect(paths.map((p) => p.views).reduce((a, b) => a + b)).toBe(40);
  });

  test('a quiet topic gets heartbeats; a names filter gets only its names', async () => {
    server = await startLiveServer({
      limits: { refreshIntervalMs: 300, heartbeatIntervalMs: 600 },
    });
    await server.post('/api/v1/events', { name: 'page_view', path: '/' });
    await server.post('/api/v1/events', { name: 'signup', value: 3 });
    const filtered = await subscribed(server, { type: 'subscribe', names: ['signup', 'refund'] });
    expect(filtered.first.message.names_filter).toEqual(['refund', 'signup']);
    expect(filtered.first.message.windows['1m'].names).toEqual([
      { name: 'signup', events: 1 },
      { name: 'refund', events: 0 },
    ]);
    expect(filtered.first.message.windows['1m'].events).toBe(2);
    expect(filtered.first.message.latest_metrics.map((m) => m.name)).toEqual(['signup']);
    const beat = await filtered.client.next(isHeartbeat, 1500);
    expect(beat.message.at - filtered.first.message.at).toBeGreaterThanOrEqual(600);
    expect(server.hub.stats().topics).toBe(1);
  });

  test('a PulseBoard client on /api/v1/ws/metrics only listens and gets metric updates', async () => {
    server = await startLiveServer();
    const client = await LiveClient.connect(`${server.wsUrl}/api/v1/ws/metrics?token=x`);
    clients.push(client);
    const first = await client.next(isSnapshot, 1000);
    expect(first.message.names_filter).toBeNull();
    const res = await server.post('/api/v1/metrics', { name: 'cpu_load', value: 0.5 });
    expect(res.status).toBe(202);
    const hasLoad = (m: LiveServerMessageBody): m is Snapshot =>
      isSnapshot(m) && m.latest_metrics.some((metric) => metric.name === 'cpu_load');
    const update = await client.next(hasLoad, 1000, first.index + 1);
    expect(update.message.latest_metrics[0]).toMatchObject({ name: 'cpu_load', value: 0.5 });
    // A subscribe still changes the filter, as on /api/v1/live.
    client.send({ type: 'subscribe', names: ['signup'] });
    const filtered = (m: LiveServerMessageBody): m is Snapshot =>
      isSnapshot(m) && m.names_filter !== null;
    const refiltered = await client.next(filtered, 1000, update.index + 1);
    expect(refiltered.message.names_filter).toEqual(['signup']);
    expect(refiltered.message.latest_metrics).toEqual([]);
    expect(server.hub.stats().topics).toBe(1);
  });

  test('unsubscribe stops messages; stopping the hub closes with 1001', async () => {
    server = await startLiveServer();
    const { client } = await subscribed(server);
    client.send({ type: 'unsubscribe' });
    // Wait until the server has taken the unsubscribe (its topic is gone), not a fixed time.
    for (const deadline = performance.now() + 5_000; server.hub.stats().topics > 0; ) {
      if (performance.now() > deadline) throw new Error('unsubscribe was never taken');
      await Bun.sleep(10);
    }
    const count = client.messages.length;
    await server.post('/api/v1/events', { name: 'signup' });
    await Bun.sleep(600);
    expect(client.messages.length).toBe(count);
    expect(server.hub.stats()).toMatchObject({ connections: 1, topics: 0 });
    server.hub.stop();
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

describe('slow consumers', () => {
  test('a client that stops reading is closed with 1013; the others keep receiving', async () => {
    server = await startLiveServer({
      limits: {
        // At least one whole message: with 600 names shown, 2.8 MiB (liveMessageBytesMax).
        wsBufferedBytesMax: liveMessageBytesMax({ ...defaultLiveLimits, namesShownMax: 600 }),
        pushIntervalMs: 20,
        tickIntervalMs: 5,
        refreshIntervalMs: 20,
        namesShownMax: 600,
      },
      engine: { rollupLimits: { namesMax: 1000, pathsMax: 100 } },
    });
    // 600 names make each snapshot about 100 KB.
    const names = Array.from({ length: 600 }, (_, i) => ({ name: `event-${i}` }));
    expect((await server.post('/api/v1/events/batch', { events: names })).status).toBe(202);
    const { client } = await subscribed(server);
    const raw = await RawWsClient.connect(server.port, '/api/v1/live');
    raw.sendText(JSON.stringify({ type: 'subscribe' }));
    await Bun.sleep(100);
    raw.pause();
    // ~30 snapshots fill the buffer: a few seconds here, tens of them on a loaded host.
    const deadline = performance.now() + 60_000;
    let sent = 600;
    while (server.hub.stats().slowConsumersClosed === 0 && performance.now() < deadline) {
      await server.post('/api/v1/events', { name: 'tick' });
      sent++;
      await Bun.sleep(5);
    }
    expect(server.hub.stats()).toMatchObject({ slowConsumersClosed: 1, connections: 1 });
    // The reader was not held back: it saw every event so far, and sees the next one.
    await client.next(events1m(sent), 2000);
    await server.post('/api/v1/events', { name: 'tick' });
    await client.next(events1m(sent + 1), 2000);
    raw.resume();
    const until = performance.now() + 5000;
    while (raw.closeFrame() === null && performance.now() < until) await Bun.sleep(20);
    const close = raw.closeFrame();
    expect(close?.code).toBe(1013);
    expect(close?.reason).toMatch(/^slow consumer: \d+ bytes queued$/);
    expect(raw.bytesReceived).toBeGreaterThan(256 * 1024);
    raw.end();
  }, 90_000);

  test("clients that stop reading are closed past the server's budget, under their own limit", async () => {
    // Each may queue 2.8 MiB, all together 1.5 times that: two that stop reading pass the
    // budget long before either passes its own limit, and the one holding more is closed.
    const own = liveMessageBytesMax({ ...defaultLiveLimits, namesShownMax: 600 });
    server = await startLiveServer({
      limits: {
        wsBufferedBytesMax: own,
        wsBufferedBytesTotalMax: Math.floor(own * 1.5),
        pushIntervalMs: 20,
        tickIntervalMs: 5,
        refreshIntervalMs: 20,
        namesShownMax: 600,
      },
      engine: { rollupLimits: { namesMax: 1000, pathsMax: 100 } },
    });
    const names = Array.from({ length: 600 }, (_, i) => ({ name: `event-${i}` }));
    expect((await server.post('/api/v1/events/batch', { events: names })).status).toBe(202);
    const { client } = await subscribed(server);
    const stalled = [
      await RawWsClient.connect(server.port, '/api/v1/live'),
      await RawWsClient.connect(server.port, '/api/v1/live'),
    ];
    for (const raw of stalled) raw.sendText(JSON.stringify({ type: 'subscribe' }));
    await Bun.sleep(100);
    for (const raw of stalled) raw.pause();
    const deadline = performance.now() + 60_000;
    let sent = 600;
    while (server.hub.stats().slowConsumersClosed === 0 && performance.now() < deadline) {
      await server.post('/api/v1/events', { name: 'tick' });
      sent++;
      await Bun.sleep(5);
    }
    expect(server.hub.stats()).toMatchObject({ slowConsumersClosed: 1, connections: 2 });
    await client.next(events1m(sent), 2000);
    for (const raw of stalled) raw.resume();
    const until = performance.now() + 5000;
    while (stalled.every((raw) => raw.closeFrame() === null) && performance.now() < until) {
      await Bun.sleep(20);
    }
    const closes = stalled.map((raw) => raw.closeFrame()).filter((c) => c !== null);
    expect(closes.map((c) => c.code)).toEqual([1013]);
    const queued = Number(/^slow consumer: (\d+) bytes queued$/.exec(closes[0]?.reason ?? '')?.[1]);
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(own);
    for (const raw of stalled) raw.end();
  }, 90_000);
});

describe('resident tenants', () => {
  test("at ACTORS_MAX a subscribe never pushes out a watched tenant's counters", async () => {
    server = await startLiveServer({ engine: { actorsMax: 2 } });
    const s = server;
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'a' });
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'b' });
    const watch = async (tenant: string) => {
      const client = await LiveClient.connect(`${s.wsUrl}/api/v1/live?tenant_id=${tenant}`);
      clients.push(client);
      client.send({ type: 'subscribe' });
      return client;
    };
    const a = await watch('a');
    await a.next(events1m(1));
    await (await watch('b')).next(events1m(1));
    // A dashboard of a project with no events yet: no room without pushing out a or b.
    const c = await watch('c');
    expect((await c.closed).code).toBe(1013);
    expect(c.messages).toEqual([
      { type: 'error', code: 'overloaded', detail: 'no room for more tenants; retry later' },
    ]);
    // a's counters stayed resident and live: its dashboard sees its next event.
    expect(s.engine.registry.peek('a')).toBeDefined();
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'a' });
    await a.next(events1m(2));
  });
});

describe('evicted counters', () => {
  test("a watched tenant's counters evicted by ingest: its sockets are told, then 1013", async () => {
    server = await startLiveServer({ engine: { actorsMax: 2 } });
    const s = server;
    const watch = async (tenant: string) => {
      const client = await LiveClient.connect(`${s.wsUrl}/api/v1/live?tenant_id=${tenant}`);
      clients.push(client);
      client.send({ type: 'subscribe' });
      return client;
    };
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'a' });
    const a = await watch('a');
    await a.next(events1m(1));
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'b' });
    const b = await watch('b');
    await b.next(events1m(1));
    // Both resident actors are watched: c's events take the place of the least recently active.
    expect((await s.post('/api/v1/events', { name: 'signup', tenant_id: 'c' })).status).toBe(202);
    expect(s.engine.registry.peek('a')).toBeUndefined();
    expect(await a.closed).toMatchObject({
      code: 1013,
      reason: 'counters evicted: no room for more tenants (ACTORS_MAX)',
    });
    expect(a.messages.at(-1)).toEqual({
      type: 'error',
      code: 'overloaded',
      detail:
        "the counters of tenant a were evicted to make room for another tenant's events " +
        '(ACTORS_MAX resident tenants) and there is no room to bring them back; retry later',
    });
    // b's dashboard stays live; a reconnect of a's (c is not watched: it gives way) is rebuilt.
    await s.post('/api/v1/events', { name: 'signup', tenant_id: 'b' });
    await b.next(events1m(2));
    await s.engine.registry.peek('c')?.whenReady(); // still rebuilding, c would not give way
    const again = await watch('a');
    await again.next(events1m(1));
  });
});

describe('shares of the live sockets', () => {
  test('near LIVE_SUBSCRIBERS_MAX one tenant gets its part, another still connects', async () => {
    server = await startLiveServer({ limits: { subscribersPerTenantMax: 8, subscribersMax: 8 } });
    const s = server;
    const open = async (tenant: string) => {
      const client = await LiveClient.connect(`${s.wsUrl}/api/v1/live?tenant_id=${tenant}`);
      clients.push(client);
      return client;
    };
    // Six of eight sockets (3/4): from then on a tenant gets 8 ÷ 2 (itself and one to come).
    for (let i = 0; i < 6; i++) await open('flood');
    const refused = await upgradeStatus(`${s.wsUrl}/api/v1/live?tenant_id=flood`);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).not.toBeNull();
    expect(JSON.parse(refused.body)).toEqual({
      detail:
        "tenant flood has 6 of the server's 6 live subscribers while the server is near its " +
        'limit, and its part is 4 (LIVE_SUBSCRIBERS_MAX 8 ÷ 2 tenants: the one holding sockets ' +
        'and one to come)',
      code: 'tenant_overloaded',
    });
    // Another tenant's dashboard still opens and gets its counters, up to the server's limit.
    const other = await open('acme');
    other.send({ type: 'subscribe' });
    await other.next(isSnapshot, 2000);
    await open('acme');
    const full = await upgradeStatus(`${s.wsUrl}/api/v1/live?tenant_id=globex`);
    expect([full.status, JSON.parse(full.body).code]).toEqual([503, 'overloaded']);
    expect(s.hub.stats()).toMatchObject({ connections: 8, tenants: 2 });
  });
});

/** The answer to a handshake sent as written (fetch would cut a `#` off the target). */
async function rawHandshakeHead(live: LiveServer, target: string): Promise<string> {
  let text = '';
  const { promise: answered, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: Number(new URL(live.url).port),
    socket: {
      data: (_s, chunk) => {
        text += Buffer.from(chunk).toString();
        if (text.includes('}')) resolve(); // the JSON body of a refusal is in
      },
      close: () => resolve(),
    },
  });
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: ${new URL(live.url).host}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n',
  );
  await answered;
  socket.end();
  return text;
}

describe('open mode', () => {
  test('tenant_id is checked as the read routes check it: 422 before the upgrade', async () => {
    server = await startLiveServer();
    const long = 'x'.repeat(4000);
    const stats = await fetch(`${server.url}/api/v1/stats?tenant_id=${long}`);
    expect(stats.status).toBe(422);
    const live = await upgradeStatus(`${server.wsUrl}/api/v1/live?tenant_id=${long}`);
    expect(live.status).toBe(422);
    expect(JSON.parse(live.body)).toEqual({
      detail: [
        {
          loc: ['query', 'tenant_id'],
          msg: 'tenant_id must be at most 128 characters',
          type: 'string_too_long',
        },
      ],
    });
    // A name ingest refuses (here `a/b`) opens no socket either.
    const slashed = await upgradeStatus(`${server.wsUrl}/api/v1/live?tenant_id=a%2Fb`);
    expect(slashed.status).toBe(422);
    expect(JSON.parse(slashed.body).detail[0]).toMatchObject({
      loc: ['query', 'tenant_id'],
      type: 'string_pattern_mismatch',
    });
    // Empty, as on the read routes (README's examples: empty, `a/b`, over 128 characters).
    const empty = await upgradeStatus(`${server.wsUrl}/api/v1/live?tenant_id=`);
    expect(empty.status).toBe(422);
    expect(JSON.parse(empty.body).detail[0]).toMatchObject({ loc: ['query', 'tenant_id'] });
    // A raw `#` (no client sends a fragment; a raw request may) is the read routes' 400.
    const hashed = await rawHandshakeHead(server, '/api/v1/live?tenant_id=a#&tenant_id=b');
    expect(hashed).toStartWith('HTTP/1.1 400');
    expect(hashed).toContain('the query string holds a #');
    // Given twice, as on the read routes: a 422 naming it, not one of the two streamed.
    const twice = await upgradeStatus(`${server.wsUrl}/api/v1/live?tenant_id=a&tenant_id=b`);
    expect(twice.status).toBe(422);
    expect(JSON.parse(twice.body)).toEqual({
      detail: [
        { loc: ['query', 'tenant_id'], msg: 'give tenant_id once (got 2)', type: 'too_long' },
      ],
    });
    expect(server.engine.registry.size).toBe(0); // no actor, no rebuild
    const ok = await subscribed(server);
    expect(ok.first.message.tenant).toBe('default');
  });
});
