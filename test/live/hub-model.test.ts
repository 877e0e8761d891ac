// The hub against a model (seeded), on a manual clock with the in-memory fakes: two tenants'
// sockets open, subscribe to filters (again and again), unsubscribe and close; events come,
// the clock moves and ticks run, some rounds over several turns (one topic and one tenant a
// turn, so sockets join in between); actors are dropped and rebuilt, some slowly (an erasure
// ending), or evicted with no room to come back; credentials are revoked and tenants deleted.
// Checked at every step: no tenant holds more filters than its bound (some subscribes are
// refused). Checked on every socket: it hears only its tenant, its snapshots' `at` never go
// back (nor a heartbeat's behind them), nothing after an unsubscribe, only its new filter once
// a snapshot of it came, and nothing after it was closed; once the ops stop and the clock runs
// on, every subscribed socket's last snapshot holds what its tenant's counters hold then; a
// revoked one is closed with 1008, a deleted tenant's with 4410 and an evicted one's with 1013
// after an `overloaded` error. It found a socket left showing erased counts (a join with newer
// counts than its topic was last sent: see LiveHub.join) and heartbeats stamped before a
// snapshot their socket had (push.ts). MODEL_SEEDS and MODEL_STEPS replay or lengthen a run.

import { describe, expect, test } from 'bun:test';
import type { LiveServerMessageBody } from '../../src/live/index.ts';
import { FakeSocket, HubBench } from './hub-fakes.ts';

type Snapshot = Extract<LiveServerMessageBody, { type: 'snapshot' }>;

const SEEDS = process.env.MODEL_SEEDS?.split(',').map(Number) ?? range(1, 300);
const STEPS = Number(process.env.MODEL_STEPS ?? 300);
const TENANTS = ['t1', 't2'];
const NAMES = ['a', 'b', 'c'];
const FILTERS: (string[] | null)[] = [null, ['a'], ['b'], ['b', 'a'], ['c']];
/** Distinct filters a tenant may hold: fewer than FILTERS, so subscribes are refused too. */
const FILTERS_MAX = 3;
/** Real turns of the event loop after the ops: every round, join and rebuild is done. */
const SETTLE_TICKS = 20;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A small seeded generator (an LCG): a seed replays its run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One socket as the model sees it. */
interface Client {
  socket: FakeSocket;
  tenant: string;
  /** The filter last asked (null: all names), or undefined: none, or unsubscribed. */
  filter: string[] | null | undefined;
  /** Its messages before the last subscribe or unsubscribe. */
  mark: number;
  authorized: boolean;
  /** Its tenant was deleted while it was open. */
  deleted: boolean;
  /** Its tenant's actor was evicted with no room to come back while it was open. */
  evicted: boolean;
  /** Closed by the client (no messages after), or by the server, with its code. */
  closedByClient: boolean;
  /** Messages when the server closed it (none may come after). */
  sentAtClose: number | null;
}

const snapshotsOf = (messages: LiveServerMessageBody[]) =>
  messages.filter((m): m is Snapshot => m.type === 'snapshot');
const filterKey = (names: readonly string[] | null) =>
  JSON.stringify(names === null ? null : [...new Set(names)].sort());

async function run(seed: number): Promise<void> {
  const r = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
  const bench = new HubBench();
  const limits = {
    tickTopicsPerTurnMax: 1,
    tickTenantsPerTurnMax: 1,
    tickSnapshotsPerTurnMax: 1,
    filtersPerTenantMax: FILTERS_MAX,
  };
  const hub = bench.makeHub(limits);
  const clients: Client[] = [];
  const pending: Promise<unknown>[] = [];
  const rebuilds: (() => void)[] = [];
  let noRoom: string | null = null;
  const live = () => clients.filter((c) => !c.closedByClient && c.socket.closed === null);
  const noteCloses = () => {
    for (const c of clients) {
      if (c.socket.closed !== null && c.sentAtClose === null) c.sentAtClose = c.socket.sent.length;
    }
  };
  for (let step = 0; step < STEPS; step++) {
    const x = r();
    const some = live();
    if (x < 0.1) {
      const tenant = pick(TENANTS);
      const client: Client = {
        socket: new FakeSocket(),
        tenant,
        filter: undefined,
        mark: 0,
        authorized: true,
        deleted: false,
        evicted: false,
        closedByClient: false,
        sentAtClose: null,
      };
      bench.publisher.sockets.push(client.socket);
      const credentials = { key: `k${clients.length}`, stillAuthorized: () => client.authorized };
      if (hub.open(client.socket, tenant, bench.publisher, credentials)) clients.push(client);
    } else if (x < 0.28 && some.length > 0) {
      const c = pick(some);
      const filter = pick(FILTERS);
      const before = c.socket.sent.length;
      const names = filter === null ? {} : { names: filter };
      pending.push(hub.receive(c.socket, { type: 'subscribe', ...names }));
      // Refused at once past the tenant's filters: the socket keeps the filter it had.
      const refused = c.socket.sent.slice(before).some((m) => m.type === 'error');
      if (!refused) {
        c.filter = filter;
        c.mark = before;
      }
    } else if (x < 0.32 && some.length > 0) {
      const c = pick(some);
      c.filter = undefined;
      c.mark = c.socket.sent.length;
      pending.push(hub.receive(c.socket, { type: 'unsubscribe' }));
    } else if (x < 0.36 && some.length > 0) {
      const c = pick(some);
      c.closedByClient = true;
      c.sentAtClose = c.socket.sent.length;
      c.socket.close(1000, '');
      hub.close(c.socket);
    } else if (x < 0.4) {
      // An erasure ends: the actor is dropped; half the time its successor rebuilds slowly.
      const tenant = pick(TENANTS);
      bench.source.actors.delete(tenant);
      if (r() < 0.5) {
        const actor = bench.source.actorFor(tenant);
        actor.ready = new Promise((resolve) => rebuilds.push(() => resolve()));
      }
    } else if (x < 0.44 && rebuilds.length > 0) {
      rebuilds.shift()?.();
    } else if (x < 0.46 && some.length > 0) {
      pick(some).authorized = false;
      hub.recheckSoon();
    } else if (x < 0.465 && noRoom === null) {
      // Evicted for another tenant's events, and no room to come back until the next tick.
      noRoom = pick(TENANTS);
      bench.source.actors.delete(noRoom);
      bench.source.room = false;
    } else if (x < 0.47) {
      const tenant = pick(TENANTS);
      for (const c of some) if (c.tenant === tenant) c.deleted = true;
      hub.closeTenant(tenant);
    } else if (x < 0.72) {
      bench.ingest(pick(TENANTS), pick(NAMES));
    } else if (x < 0.92) {
      bench.clock.advance(Math.floor(r() * 400));
      pending.push(hub.tick());
      for (const c of live()) if (!bench.source.actors.has(c.tenant)) c.evicted = true;
      noRoom = null;
      bench.source.room = true;
    } else {
      await new Promise((resolve) => setImmediate(resolve)); // a round's next turns, too
    }
    // While there is no room, a turn of a round may find any tenant's actor gone for good.
    if (noRoom !== null)
      for (const c of live()) if (!bench.source.actors.has(c.tenant)) c.evicted = true;
    noteCloses();
    // Topics, not reservations; a socket alone on its filter that switches frees it only once
    // its join is done (a rebuild may hold it), and its new filter may have a topic by then.
    type Feed = { topics: Map<string, unknown>; freeing: Map<string, number> };
    const feeds = (hub as unknown as { feeds: Map<string, Feed> }).feeds;
    for (const [tenant, feed] of feeds) {
      const over = feed.topics.size > FILTERS_MAX + feed.freeing.size;
      expect({ seed, step, tenant, over }).toEqual({
        seed,
        step,
        tenant,
        over: false,
      });
    }
  }
  for (const finish of rebuilds) finish();
  await Promise.all(pending);
  for (let i = 0; i < SETTLE_TICKS; i++) {
    bench.clock.advance(300);
    await hub.tick();
    await new Promise((resolve) => setImmediate(resolve));
    noteCloses();
  }
  for (const [i, c] of clients.entries()) check(bench, c, `seed ${seed}, socket ${i}`);
  const open = live();
  const topics = new Set(
    open
      .filter((c) => c.filter !== undefined)
      .map((c) => `${c.tenant} ${filterKey(c.filter ?? null)}`),
  );
  expect({ seed, ...pick2(hub.stats()) }).toEqual({
    seed,
    connections: open.length,
    topics: topics.size,
  });
}

const pick2 = ({ connections, topics }: { connections: number; topics: number }) => ({
  connections,
  topics,
});

function check(bench: HubBench, c: Client, where: string): void {
  const sent = c.socket.sent;
  expect({ where, tenants: [...new Set(snapshotsOf(sent).map((m) => m.tenant))] }).toEqual({
    where,
    tenants: snapshotsOf(sent).length === 0 ? [] : [c.tenant],
  });
  // A heartbeat says nothing changed since its `at`: never before a snapshot already sent.
  let snapshotAt = Number.NEGATIVE_INFINITY;
  const beatsBack = sent.filter((m) => {
    if (m.type === 'snapshot') snapshotAt = Math.max(snapshotAt, m.at);
    return m.type === 'heartbeat' && m.at < snapshotAt;
  });
  expect({ where, beatsBack }).toEqual({ where, beatsBack: [] });
  const ats = snapshotsOf(sent).map((m) => m.at);
  expect({ where, ats }).toEqual({ where, ats: [...ats].sort((a, b) => a - b) });
  if (c.sentAtClose !== null) {
    expect({ where, after: sent.length - c.sentAtClose }).toEqual({ where, after: 0 });
  }
  const since = sent.slice(c.mark);
  if (c.filter === undefined) {
    // Unsubscribed (or never subscribed): nothing since, not even a heartbeat.
    const heard = since.filter((m) => m.type !== 'error').map((m) => m.type);
    if (c.mark > 0) expect({ where, heard }).toEqual({ where, heard: [] });
    return;
  }
  const wanted = filterKey(c.filter);
  const after = snapshotsOf(since);
  const first = after.findIndex((m) => filterKey(m.names_filter) === wanted);
  const filters = first < 0 ? [] : after.slice(first).map((m) => filterKey(m.names_filter));
  expect({ where, filters }).toEqual({ where, filters: filters.map(() => wanted) });
  if (c.socket.closed !== null) {
    // By the server only for a deletion (4410) or revoked credentials (1008).
    const code = c.socket.closed.code;
    const evicted = c.evicted && code === 1013;
    const why = c.closedByClient ? 1000 : c.deleted && code === 4410 ? 4410 : evicted ? 1013 : 1008;
    if (evicted) {
      const told = sent.at(-1);
      expect({ where, told: told?.type === 'error' && told.code }).toEqual({
        where,
        told: 'overloaded',
      });
    }
    expect({ where, code }).toEqual({ where, code: why });
    if (why === 1008)
      expect({ where, authorized: c.authorized }).toEqual({ where, authorized: false });
    return;
  }
  expect({ where, revokedStillOpen: !c.authorized }).toEqual({ where, revokedStillOpen: false });
  expect({ where, deletedStillOpen: c.deleted }).toEqual({
    where,
    deletedStillOpen: false,
  });
  // Settled: the last snapshot holds the tenant's counters now.
  const actor = bench.source.actors.get(c.tenant);
  const now = actor?.rollups.snapshot(bench.clock.now());
  const last = after.at(-1);
  const windows = (w: Snapshot['windows'] | undefined) =>
    w === undefined ? null : Object.values(w).map((v) => [v.events, v.uniques]);
  expect({ where, windows: windows(last?.windows) }).toEqual({
    where,
    windows:
      now === undefined ? null : Object.values(now.windows).map((v) => [v.events, v.uniques]),
  });
}

describe('the hub against a model', () => {
  for (const seed of SEEDS) test(`seed ${seed}`, () => run(seed));
});
