// The server's budget of bytes queued on all live sockets (LIVE_WS_BUFFERED_BYTES_TOTAL_MAX):
// many sockets that never read, each under its own limit, are closed (1013) once together
// they hold more than the budget, those holding the most first, while a socket that reads
// keeps getting every snapshot; a socket that drained since it was last measured is measured
// again before anyone is closed for it.

import { beforeEach, expect, test } from 'bun:test';
import { defaultLiveLimits, liveMessageBytesMax } from '../../src/live/index.ts';
import { events1m, type FakeSocket, HubBench } from './hub-fakes.ts';

let bench: HubBench;

beforeEach(() => {
  bench = new HubBench();
});

const PER_SOCKET = liveMessageBytesMax(defaultLiveLimits);

/** Bytes queued on the sockets still open. */
const queued = (sockets: FakeSocket[]) =>
  sockets.filter((s) => s.closed === null).reduce((sum, s) => sum + s.buffered, 0);

test('sockets that never read are closed past the server budget; a reader goes on', async () => {
  const budget = 4 * PER_SOCKET;
  const hub = bench.makeHub({ wsBufferedBytesMax: PER_SOCKET, wsBufferedBytesTotalMax: budget });
  // Snapshots of some size: 50 names, each on its own path.
  for (let i = 0; i < 50; i++) bench.ingest('acme', `event_${i}`, `/page/${i}`);
  const reader = await bench.join(hub);
  const stalled: FakeSocket[] = [];
  for (let i = 0; i < 100; i++) {
    const socket = await bench.join(hub);
    socket.reads = false;
    stalled.push(socket);
  }
  let closedBefore = 0;
  for (let round = 1; round <= 200; round++) {
    bench.ingest('acme', 'signup');
    bench.clock.advance(defaultLiveLimits.pushIntervalMs);
    await hub.tick();
    expect(queued(stalled)).toBeLessThanOrEqual(budget);
    expect(reader.closed).toBeNull();
    expect(events1m(reader.sent.at(-1))).toBe(50 + round);
    // Those closed held the most: as much as any still open, or more.
    const closed = stalled.filter((s) => s.closed !== null);
    const open = stalled.filter((s) => s.closed === null);
    const least = Math.min(...closed.slice(closedBefore).map((s) => s.buffered));
    expect(open.every((s) => s.buffered <= least)).toBe(true);
    closedBefore = closed.length;
  }
  const closed = stalled.filter((s) => s.closed !== null);
  expect(closed.length).toBeGreaterThan(50);
  for (const s of closed) expect(s.closed?.reason).toMatch(/^slow consumer: \d+ bytes queued$/);
  expect(closed.every((s) => s.closed?.code === 1013)).toBe(true);
  expect(hub.stats()).toMatchObject({ slowConsumersClosed: closed.length });
  const logged = bench.logs.filter((l) => l.msg === 'live: closing a slow consumer');
  expect(logged).toHaveLength(closed.length);
  // Most for the sum, each under its own limit (the last few open grow to theirs).
  const forTheSum = logged.filter((l) => l.server_limit_bytes === budget);
  expect(forTheSum.length).toBeGreaterThan(50);
  expect(forTheSum.every((l) => Number(l.buffered_bytes) <= PER_SOCKET)).toBe(true);
});

test('a socket that drained since it was last measured is measured again, not closed', async () => {
  const budget = 2 * PER_SOCKET - 2;
  const hub = bench.makeHub({ wsBufferedBytesMax: PER_SOCKET, wsBufferedBytesTotalMax: budget });
  const acme = await bench.join(hub, 'acme');
  const globex = await bench.join(hub, 'globex');
  // acme's socket is measured holding its limit at acme's push, then its client reads it all.
  acme.buffered = PER_SOCKET;
  bench.ingest('acme', 'signup');
  bench.clock.advance(defaultLiveLimits.pushIntervalMs);
  await hub.tick();
  acme.buffered = 0;
  // globex's push finds its socket holding its limit: with acme's old measure, over the budget.
  globex.buffered = PER_SOCKET;
  bench.ingest('globex', 'signup');
  bench.clock.advance(defaultLiveLimits.pushIntervalMs);
  await hub.tick();
  expect([acme.closed, globex.closed]).toEqual([null, null]);
  expect(hub.stats()).toMatchObject({ connections: 2, slowConsumersClosed: 0 });
  // Over the budget for real: the socket holding the most is closed.
  acme.buffered = PER_SOCKET - 1;
  bench.ingest('acme', 'signup');
  bench.clock.advance(defaultLiveLimits.pushIntervalMs);
  await hub.tick();
  expect(globex.closed).toEqual({
    code: 1013,
    reason: `slow consumer: ${PER_SOCKET} bytes queued`,
  });
  expect(acme.closed).toBeNull();
});
