// A live subscribe waiting for a rebuild that an erasure's end stops (the registry drops the
// actor, real engine): the socket is not closed as for a failed rebuild (1011), and its first
// snapshot comes from the tenant's next actor, which counts what the store holds.

import { afterEach, expect, test } from 'bun:test';
import { createLogger } from '../../src/core/index.ts';
import { defaultLiveLimits, LiveHub } from '../../src/live/index.ts';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import { batch, endlessNextSnapshot, soon, statusSoon } from '../helpers/held-rebuild.ts';
import { FakePublisher, FakeSocket, snapshots } from './hub-fakes.ts';

let t: TestApp | undefined;
let abandon = () => {};
afterEach(async () => {
  abandon();
  await t?.close();
  t = undefined;
});

test("a socket waiting for a rebuild an erasure's end stops gets its successor's snapshot", async () => {
  const failures: unknown[] = [];
  t = await makeTestApp({ onRebuildError: (_, e) => failures.push(e) });
  const app = t;
  const { registry, store } = app.engine;
  expect(await statusSoon(app, batch('a', 'e0', 3))).toBe(202);
  await countersBuilt(app, 'a');
  await store.flusher.flush();
  registry.rebuild('a'); // as an idle eviction: the subscribe makes the next actor
  const endless = endlessNextSnapshot(app);
  abandon = endless.abandon;
  const logs: string[] = [];
  const log = createLogger('warn', (line) => logs.push(line));
  const hub = new LiveHub({ source: registry, clock: app.clock, limits: defaultLiveLimits, log });
  const socket = new FakeSocket();
  const publisher = new FakePublisher();
  publisher.sockets.push(socket);
  expect(hub.open(socket, 'a', publisher)).toBe(true);
  const subscribing = hub.receive(socket, { type: 'subscribe' });
  await endless.started;
  const first = registry.peek('a');
  registry.rebuild('a'); // as an erasure's end does: its rebuild is stopped
  expect(await soon(subscribing)).toBeUndefined();
  expect(socket.closed).toBeNull();
  const [snapshot] = snapshots(socket);
  expect(snapshot?.type === 'snapshot' ? snapshot.windows['1h'].events : null).toBe(3);
  expect(registry.peek('a')).not.toBe(first as never);
  expect(registry.rebuildStopped(first as object)).toBe(true);
  expect(failures).toEqual([]);
  expect(logs).toEqual([]);
  hub.close(socket);
});
