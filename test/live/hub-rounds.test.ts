// The hub under load on a manual clock: a tick builds no snapshot for an unchanged tenant yet
// still delivers window decay, long rounds (pushes, credential checks) go on in bounded turns,
// and subscribes that wait for a rebuild count toward the filter bound.

import { beforeEach, describe, expect, test } from 'bun:test';
import type { ManualClock } from '../../src/core/index.ts';
import type { LiveLimits } from '../../src/live/index.ts';
import {
  events1m,
  FakeActor,
  type FakePublisher,
  FakeSocket,
  type FakeSource,
  HubBench,
  snapshots,
  T0,
} from './hub-fakes.ts';

let bench: HubBench;
let clock: ManualClock;
let source: FakeSource;
let publisher: FakePublisher;

const makeHub = (limits: Partial<LiveLimits> = {}) => bench.makeHub(limits);
const ingest = (tenant: string, name: string) => bench.ingest(tenant, name);
const join = (...args: Parameters<HubBench['join']>) => bench.join(...args);

beforeEach(() => {
  bench = new HubBench();
  ({ clock, source, publisher } = bench);
});

describe('cost of a tick', () => {
  test('an unchanged watched tenant builds no snapshot, however long it is watched', async () => {
    const hub = makeHub();
    await join(hub);
    await join(hub, 'acme', ['signup']);
    hub.tick(); // the first push after subscribe builds once
    const built = hub.stats().snapshotsBuilt;
    for (let s = 1; s <= 120; s++) {
      clock.set(T0 + s * 1000);
      hub.tick();
    }
    expect(hub.stats().snapshotsBuilt).toBe(built);
    ingest('acme', 'signup');
    clock.advance(1000);
    hub.tick();
    expect(hub.stats().snapshotsBuilt).toBe(built + 1);
  });

  test('window decay is still delivered without events, building only when it happens', async () => {
    const hub = makeHub();
    ingest('acme', 'signup');
    const socket = await join(hub);
    const counts = () => {
      const last = snapshots(socket).at(-1);
      return last?.type === 'snapshot'
        ? [last.windows['1m'].events, last.windows['5m'].events]
        : [];
    };
    const seen: string[] = [];
    for (let s = 1; s <= 400; s++) {
      clock.set(T0 + s * 1000);
      hub.tick();
      const now = JSON.stringify(counts());
      if (seen.at(-1)?.endsWith(now) !== true) seen.push(`${s}s ${now}`);
    }
    expect(seen).toEqual(['1s [1,1]', '60s [0,1]', '300s [0,0]']);
    // Builds: the first push, the rate taking the second in and letting it go, the 1m and 5m
    // windows letting it go — not one a second.
    expect(hub.stats().snapshotsBuilt).toBeLessThanOrEqual(6);
  });

  test('a round over many changed tenants builds a bounded number per turn', async () => {
    const hub = makeHub({ tickSnapshotsPerTurnMax: 2 });
    const tenants = ['a', 'b', 'c', 'd', 'e'];
    const watchers = [];
    for (const t of tenants) watchers.push(await join(hub, t));
    for (const t of tenants) ingest(t, 'signup');
    clock.advance(250);
    const built = hub.stats().snapshotsBuilt;
    const round = hub.tick();
    expect(hub.stats().snapshotsBuilt - built).toBe(2); // the rest waits for the next turns
    hub.tick(); // a tick during the round starts no other round
    expect(hub.stats().snapshotsBuilt - built).toBe(2);
    await round;
    expect(hub.stats().snapshotsBuilt - built).toBe(5);
    for (const w of watchers) expect(events1m(w.sent.at(-1))).toBe(1);
  });

  test("a tenant's many topics are rendered a bounded number per turn", async () => {
    const hub = makeHub({ tickTopicsPerTurnMax: 8 });
    const watchers = [];
    // 20 distinct filters: 20 topics of one tenant, each rendered apart at every push.
    for (let f = 0; f < 20; f++) watchers.push(await join(hub, 'acme', ['signup', `n${f}`]));
    const left = watchers[15] as FakeSocket;
    ingest('acme', 'signup');
    clock.advance(250);
    const before = publisher.published.length;
    const round = hub.tick();
    expect(publisher.published.length - before).toBe(8); // the rest in the next turns
    hub.close(left); // its topic, not rendered yet, is skipped
    await round;
    expect(publisher.published.length - before).toBe(19);
    for (const w of watchers.filter((w) => w !== left)) {
      const last = w.sent.at(-1);
      expect(last?.type === 'snapshot' && last.windows['1m'].names[0]).toEqual({
        name: 'signup',
        events: 1,
      });
    }
  });
});

describe('a subscribe during a push that takes several turns', () => {
  test('the subscriber never gets an older snapshot after its first', async () => {
    const hub = makeHub({ tickTopicsPerTurnMax: 8 });
    const filters = Array.from({ length: 20 }, (_, f) => ['signup', `n${f}`]);
    const watchers = [];
    for (const names of filters) watchers.push(await join(hub, 'acme', names));
    ingest('acme', 'signup');
    clock.advance(250);
    const round = hub.tick(); // 8 topics now, the others in the next turns
    clock.advance(10);
    ingest('acme', 'signup');
    // Joins the filter of a topic the round has not published yet: its first snapshot
    // counts both signups, and the round's pending one (one signup) must not follow it.
    const late = await join(hub, 'acme', filters[15]);
    await round;
    clock.advance(250);
    await hub.tick();
    const seen = snapshots(late).map((m) => [m.at, events1m(m)]);
    expect(seen[0]).toEqual([T0 + 260, 2]);
    for (const [i, [at, events]] of seen.entries()) {
      expect(at).toBeGreaterThanOrEqual(seen[Math.max(0, i - 1)]?.[0] as number);
      expect(events).toBe(2);
    }
    // The topic's other member, and every other topic, still get the second signup.
    for (const w of watchers) expect(events1m(w.sent.at(-1))).toBe(2);
  });

  test("a first snapshot from the round's own is stamped when it was taken, never later", async () => {
    const hub = makeHub({ tickTopicsPerTurnMax: 8 });
    const filters = Array.from({ length: 20 }, (_, f) => ['signup', `n${f}`]);
    for (const names of filters) await join(hub, 'acme', names);
    ingest('acme', 'signup');
    clock.advance(250);
    const round = hub.tick(); // its snapshot is taken now, at T0 + 250
    clock.advance(10);
    // Nothing new: the late socket's first snapshot is the round's, taken at T0 + 250; the
    // round then reaches its topic with that same snapshot. `at` is when it was taken both times.
    const late = await join(hub, 'acme', filters[15]);
    await round;
    expect(snapshots(late).map((m) => [m.at, events1m(m)])).toEqual([
      [T0 + 250, 1],
      [T0 + 250, 1],
    ]);
  });
});

describe('a subscribe with newer counts than its topic was last sent', () => {
  test('its socket gets the next push, even one that renders what the topic was sent', async () => {
    const hub = makeHub();
    ingest('acme', 'signup');
    clock.advance(1000); // a whole second: the rate counts it
    const first = await join(hub); // a new topic: its content counts one signup
    clock.advance(100);
    ingest('acme', 'signup');
    // Before the push of the second signup: this socket's first snapshot counts both, sent to
    // it alone; the topic was last sent one.
    const second = await join(hub);
    expect(events1m(snapshots(second).at(-1))).toBe(2);
    // An erasure of the second signup ends: its actor is dropped and rebuilt without it, so
    // the counts are back to what the topic was last sent (the same second, the same rate).
    source.actors.delete('acme');
    clock.set(T0);
    ingest('acme', 'signup'); // the rebuild counts the first signup, received at T0
    clock.set(T0 + 1100);
    await hub.tick(); // the rebuilt actor is seen, and ready
    clock.advance(250);
    await hub.tick();
    expect(events1m(snapshots(first).at(-1))).toBe(1);
    // Not left showing the erased signup: its counts are the topic's again.
    expect(events1m(snapshots(second).at(-1))).toBe(1);
  });
});

describe('in_other', () => {
  test('a quiet tenant is pushed again when a name\'s "(other)" marker expires', async () => {
    const MIN = 60_000;
    const DAY = 1440 * MIN;
    source.actors.set('acme', new FakeActor(1)); // one name counted on its own
    const hub = makeHub();
    const socket = await join(hub, 'acme', ['d']);
    const at = (ms: number) => {
      clock.set(T0 + ms);
      hub.tick();
    };
    const d24h = () => {
      const last = snapshots(socket).at(-1);
      return last?.type === 'snapshot' ? last.windows['24h'].names : [];
    };
    at(30_000);
    ingest('acme', 'a'); // a takes the one named counter
    at(DAY - 10 * MIN);
    ingest('acme', 'c'); // counted under "(other)"
    at(DAY + 30_000);
    ingest('acme', 'd'); // a left the 24 h: d gets its counter, partial until DAY + 30 s
    at(DAY + 60 * MIN + 30_000);
    ingest('acme', 'e'); // "(other)" again, in the 24 h window until 2 DAY + 1 h
    at(DAY + 60 * MIN + 31_000);
    expect(d24h()).toEqual([{ name: 'd', events: 1, in_other: true }]);
    at(2 * DAY + 1000); // d's minute left the 24 h; the marker has 29 s to go
    expect(d24h()).toEqual([{ name: 'd', events: 0, in_other: true }]);
    at(2 * DAY + 30_000); // the marker expired: nothing of d's is counted under "(other)"
    expect(d24h()).toEqual([{ name: 'd', events: 0 }]);
  });
});

describe('a subscribe waiting for a rebuild', () => {
  test('its socket gets heartbeats while the rebuild runs, then the snapshot', async () => {
    const hub = makeHub();
    const other = await join(hub, 'globex'); // a tenant whose rollups are ready
    const actor = source.actorFor('acme');
    let finish: () => void = () => {};
    actor.ready = new Promise((resolve) => {
      finish = resolve;
    });
    const socket = new FakeSocket();
    publisher.sockets.push(socket);
    hub.open(socket, 'acme', publisher);
    const subscribed = hub.receive(socket, { type: 'subscribe' });
    const beats = (s: FakeSocket) => s.sent.filter((m) => m.type === 'heartbeat').length;
    clock.advance(14_999);
    await hub.tick();
    expect(socket.sent).toEqual([]);
    for (let n = 1; n <= 4; n++) {
      clock.set(T0 + n * 15_000); // 60 s of rebuild: more than a client waits in silence
      await hub.tick();
      expect(beats(socket)).toBe(n);
      expect(socket.sent.at(-1)).toEqual({ type: 'heartbeat', at: T0 + n * 15_000 });
    }
    expect(beats(other)).toBe(4); // its own topic's, once each
    finish();
    await subscribed;
    expect(socket.sent.at(-1)?.type).toBe('snapshot');
    clock.advance(15_000);
    await hub.tick();
    expect(beats(socket)).toBe(5); // from its topic now, not twice
    expect(socket.closed).toBeNull();
  });

  test('an unsubscribe sent meanwhile stops its heartbeats; a subscribe after it resumes them', async () => {
    const hub = makeHub();
    const actor = source.actorFor('acme');
    let finish: () => void = () => {};
    actor.ready = new Promise((resolve) => {
      finish = resolve;
    });
    const socket = new FakeSocket();
    publisher.sockets.push(socket);
    hub.open(socket, 'acme', publisher);
    const subscribed = hub.receive(socket, { type: 'subscribe' });
    await hub.receive(socket, { type: 'unsubscribe' });
    for (let n = 1; n <= 2; n++) {
      clock.set(T0 + n * 15_000);
      await hub.tick();
    }
    expect(socket.sent).toEqual([]); // unsubscribed: no snapshot, no heartbeat
    const again = hub.receive(socket, { type: 'subscribe', names: ['signup'] });
    clock.set(T0 + 45_000);
    await hub.tick();
    expect(socket.sent).toEqual([{ type: 'heartbeat', at: T0 + 45_000 }]);
    finish();
    await Promise.all([subscribed, again]);
    expect(snapshots(socket).map((m) => m.type === 'snapshot' && m.names_filter)).toEqual([
      ['signup'],
    ]);
  });
});

describe('credentials', () => {
  test('each distinct credential is checked once per round, a bounded number per turn', async () => {
    const hub = makeHub({ recheckCredentialsPerTurnMax: 1 });
    const checked: string[] = [];
    const check = (key: string, allowed: boolean) => () => {
      checked.push(key);
      return allowed;
    };
    const shared = [];
    for (let i = 0; i < 50; i++)
      shared.push(await join(hub, 'acme', undefined, check('a', true), 'a'));
    const revoked = await join(hub, 'acme', undefined, check('b', false), 'b');
    const round = hub.tick();
    expect(checked).toEqual(['a']); // one check this turn; the rest after a setImmediate
    await round;
    expect(checked).toEqual(['a', 'b']);
    expect(revoked.closed?.code).toBe(1008);
    expect(shared.every((s) => s.closed === null)).toBe(true);
  });
});

describe('filters', () => {
  test('subscribes waiting for a rebuild count toward the filter bound', async () => {
    const hub = makeHub({ filtersPerTenantMax: 3 });
    const actor = source.actorFor('acme');
    let finish: () => void = () => {};
    actor.ready = new Promise((resolve) => {
      finish = resolve;
    });
    const sockets: FakeSocket[] = [];
    const waiting = [];
    for (let i = 0; i < 10; i++) {
      const socket = new FakeSocket();
      sockets.push(socket);
      hub.open(socket, 'acme', publisher);
      waiting.push(hub.receive(socket, { type: 'subscribe', names: [`n${i % 5}`] }));
    }
    finish();
    await Promise.all(waiting);
    expect(hub.stats().topics).toBe(3);
    const refused = sockets.filter((s) => s.sent[0]?.type === 'error');
    expect(refused).toHaveLength(4); // n3 and n4, twice each
    expect(sockets.filter((s) => s.sent[0]?.type === 'snapshot')).toHaveLength(6);
  });

  test('a finished subscribe gives its reservation back: filters changed one after another', async () => {
    const hub = makeHub({ filtersPerTenantMax: 3 });
    const socket = new FakeSocket();
    hub.open(socket, 'acme', publisher);
    // Each subscribe replaces the socket's filter: never more than one in use at a time.
    for (let i = 0; i < 10; i++) await hub.receive(socket, { type: 'subscribe', names: [`n${i}`] });
    expect(socket.sent.filter((m) => m.type === 'error')).toEqual([]);
    expect(socket.sent.filter((m) => m.type === 'snapshot')).toHaveLength(10);
    expect(hub.stats().topics).toBe(1);
  });

  test('at the bound, a socket alone on its filter may change it: still as many filters', async () => {
    const hub = makeHub({ filtersPerTenantMax: 3 });
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push(await join(hub, 'acme', [`n${i}`]));
    const moving = sockets[2] as FakeSocket;
    await hub.receive(moving, { type: 'subscribe', names: ['n9'] });
    expect(moving.sent.at(-1)?.type).toBe('snapshot');
    expect(hub.stats().topics).toBe(3);
    // A socket that shares its filter would add one: refused, it keeps its filter.
    const sharing = await join(hub, 'acme', ['n0']);
    await hub.receive(sharing, { type: 'subscribe', names: ['n8'] });
    expect(sharing.sent.at(-1)).toMatchObject({ type: 'error', code: 'tenant_overloaded' });
    expect(hub.stats().topics).toBe(3);
  });

  test('at the bound, joining the filter a switching socket frees counts as a new one', async () => {
    const hub = makeHub({ filtersPerTenantMax: 3 });
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push(await join(hub, 'acme', [`n${i}`]));
    const actor = source.actorFor('acme');
    let finish: () => void = () => {};
    actor.ready = new Promise((resolve) => {
      finish = resolve;
    });
    // n2's only socket moves to n9 and waits for the rebuild; n2 is to be freed meanwhile.
    const moving = sockets[2] as FakeSocket;
    const switching = hub.receive(moving, { type: 'subscribe', names: ['n9'] });
    const joining = new FakeSocket();
    hub.open(joining, 'acme', publisher);
    const joined = hub.receive(joining, { type: 'subscribe', names: ['n2'] });
    await Bun.sleep(1);
    expect(joining.sent.at(-1)).toMatchObject({ type: 'error', code: 'tenant_overloaded' });
    finish();
    await Promise.all([switching, joined]);
    expect(moving.sent.at(-1)?.type).toBe('snapshot');
    expect(hub.stats().topics).toBe(3);
    // Once the switch ended, n2 is free: a socket alone on its filter may move there.
    await hub.receive(sockets[1] as FakeSocket, { type: 'subscribe', names: ['n2'] });
    expect(sockets[1]?.sent.at(-1)?.type).toBe('snapshot');
    expect(hub.stats().topics).toBe(3);
  });
});
