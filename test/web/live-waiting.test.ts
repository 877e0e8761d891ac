// A socket whose subscribe waits for the tenant's counters to be rebuilt (after a restart, or
// for a tenant not read for a while) hears heartbeats before its first snapshot. Such a
// heartbeat says nothing of the counters on the page, which are an earlier socket's (before a
// reconnect) or none: the page must not say "no change since" then, but that it waits for the
// counters. Run against a stub WebSocket the test drives (web/live.ts).

import { expect, test } from 'bun:test';
import { connectLive, type LiveHandlers } from '../../web/live.ts';
import { stubLiveGlobals } from './page-globals.ts';

const sockets: StubWebSocket[] = [];

class StubWebSocket extends EventTarget {
  constructor() {
    super();
    sockets.push(this);
  }
  send(): void {}
  close(): void {}
  /** The server's message `body`, as the browser hands it to the page. */
  receive(body: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(body) }));
  }
}

stubLiveGlobals(StubWebSocket);

const T = Date.parse('2026-11-25T12:00:00Z');
const windows = Object.fromEntries(
  ['1m', '5m', '1h', '24h'].map((w) => [
    w,
    { events: 1, uniques: 1, events_per_second: 0.01, names: [], top_paths: [] },
  ]),
);
const snapshot = (at: number) => ({
  type: 'snapshot',
  at,
  tenant: 'acme',
  names_filter: null,
  events_per_second: 0.01,
  windows,
  latest_metrics: [],
});

test('a heartbeat before the first snapshot says the counters are awaited, not "no change"', () => {
  sockets.length = 0;
  const heartbeats: number[] = [];
  const states: string[] = [];
  const handlers: LiveHandlers = {
    onSnapshot: () => {},
    onHeartbeat: (at) => heartbeats.push(at),
    onState: (state, detail) => states.push(`${state}: ${detail}`),
    onRefused: () => {},
    onGone: () => {},
  };
  const live = connectLive(() => ({ token: null, project: null }), handlers);
  const socket = sockets[0] as StubWebSocket;
  socket.dispatchEvent(new Event('open'));
  socket.receive({ type: 'heartbeat', at: T });
  expect(heartbeats).toEqual([]);
  expect(states).toEqual([
    'connecting: connecting…',
    'connecting: waiting for the counters to be loaded…',
  ]);
  // Once a snapshot came, a heartbeat means that nothing changed since.
  socket.receive(snapshot(T + 1000));
  socket.receive({ type: 'heartbeat', at: T + 16_000 });
  expect(heartbeats).toEqual([T + 16_000]);
  expect(states.at(-1)).toBe('live: live');
  live.close();
});

test("after a reconnect, heartbeats wait for that socket's own first snapshot", async () => {
  sockets.length = 0;
  const heartbeats: number[] = [];
  const states: string[] = [];
  const handlers: LiveHandlers = {
    onSnapshot: () => {},
    onHeartbeat: (at) => heartbeats.push(at),
    onState: (state) => states.push(state),
    onRefused: () => {},
    onGone: () => {},
  };
  const live = connectLive(() => ({ token: null, project: null }), handlers);
  const first = sockets[0] as StubWebSocket;
  first.dispatchEvent(new Event('open'));
  first.receive(snapshot(T));
  first.dispatchEvent(new CloseEvent('close', { code: 1001, reason: 'server shutting down' }));
  await Bun.sleep(1100); // the first retry's backoff
  const second = sockets[1] as StubWebSocket;
  second.dispatchEvent(new Event('open'));
  second.receive({ type: 'heartbeat', at: T + 30_000 });
  expect(heartbeats).toEqual([]);
  expect(states).toEqual(['connecting', 'live', 'offline', 'connecting', 'connecting']);
  live.close();
});
