// A model-based check of the core invariants (seeded): a random sequence of single events and
// batches (the native API, JSON and NDJSON, and seed 002's compatibility routes) for tenants
// whose names differ only in case or by a suffix, with event_ids reused within and across
// batches, requests and tenants, late and far-past timestamps, flushes, compactions, person
// erasures and tenant deletions (alone, or amid other tenants' ingest, flushes and
// compactions), clean restarts (with the deduplication index's snapshot, or without it: a
// rebuild), and the clock moved past DEDUP_WINDOW. A plain model (per tenant, event_id → its
// stored copies) says what every answer and every read must be: each ingest answer (accepted
// or duplicate), and after each step, through the public reads, a tenant's list paged to its
// end (each event once, newest first, then by event_id and receipt; seed 002's offset pages,
// oldest first, at times), its stats total, and events by id (the copy received last; another
// tenant's, an erased or a deleted one a 404). A failure names its seed and steps:
// `ENGINE_MODEL_SEEDS=<seed>[,<seed>…] ENGINE_MODEL_STEPS=<n>` replays it, or runs longer.

import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAY_MS, defaultTunables } from '../../src/core/index.ts';
import { type CompatApp, makeCompatApp } from '../compat/helpers/compat-app.ts';
import { seededRandom } from '../helpers/random.ts';

let t: CompatApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Tenants whose names differ only in case, or one the other's prefix, stay apart. */
const TENANTS = ['acme', 'Acme', 'acme-eu', 'g.lo:bex'];
const USERS = ['u1', 'u2', 'u3'];
const DEVICES = ['d1', 'd2'];
const NAMES = ['page_view', 'signup', 'click'];
/** Ids that sort apart by UTF-16 and by UTF-8 bytes, need escaping in a URL, or hold NUL. */
const ODD_IDS = ['é', 'e\u0301', '😀', '\uffff', 'a b', 'a/b', '%41', 'q?x=1', 'h#1', 'Z'];
ODD_IDS.push('a\u0000b', 'a\nb', 'a');
/** Far-past instants: just before 1970, the epoch, a day before it, 1999, year 500. */
const FAR_PAST = [-1, 0, -DAY_MS, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(500, 0, 1)];
const HOUR_MS = 3_600_000;
/** Wider than every timestamp sent: the whole range of a stats read. */
const ALL = 'from=0001-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
/**
 * Past it every id received before is forgotten (the index drops whole generations of an
 * eighth of the window, a window after each ends): a resend is stored again, a second copy.
 */
const FORGET_MS = defaultTunables.dedupWindowMs + defaultTunables.dedupWindowMs / 8 + HOUR_MS;

/** What the test sends, and once stored, when it was received. */
interface Draft {
  tenant: string;
  id: string;
  name: string;
  timestamp: number;
  user: string | null;
  device: string | null;
  receivedAt?: number;
}

interface Model {
  /** Per tenant, event_id → its stored copies (one, or more once their ids were forgotten). */
  stored: Map<string, Map<string, Draft[]>>;
  /** Per tenant, the ids the deduplication index remembers (stored, or erased since). */
  remembered: Map<string, Set<string>>;
  /** Every id ever sent, for reuse. */
  ids: string[];
  next: number;
  /** When the clock last moved past DEDUP_WINDOW: copies received before are forgotten. */
  forgotAt: number;
}

type Route = 'native-one' | 'native-batch' | 'native-ndjson' | 'seed002-one' | 'seed002-bulk';

/** Byte order of UTF-8, as DuckDB orders VARCHARs. */
const compareText = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

const others = (tenant: string) => TENANTS.filter((other) => other !== tenant);

const keyOf = (d: Draft) => `${d.tenant}\u0000${d.id}`;

const known = (m: Model, d: Draft) => m.remembered.get(d.tenant)?.has(d.id) ?? false;

const copiesOf = (m: Model, tenant: string): Draft[] =>
  [...(m.stored.get(tenant)?.values() ?? [])].flat();

function newDraft(m: Model, app: CompatApp, random: () => number, tenants: string[]): Draft {
  const tenant = pick(random, tenants);
  let id: string;
  const r = random();
  if (r < 0.35 && m.ids.length > 0) id = pick(random, m.ids);
  else if (r < 0.45) id = pick(random, ODD_IDS);
  else id = `e${m.next++}`;
  if (!m.ids.includes(id)) m.ids.push(id);
  const now = app.clock.now();
  const kind = random();
  let timestamp: number;
  if (kind < 0.35) timestamp = now - Math.floor(random() * 3 * HOUR_MS);
  else if (kind < 0.6) timestamp = now - Math.floor((1 + random() * 40) * DAY_MS);
  else if (kind < 0.7) timestamp = now + Math.floor(random() * 20 * HOUR_MS);
  else if (kind < 0.8) timestamp = pick(random, FAR_PAST);
  else {
    // The very instant of a stored event: the list orders such ties by event_id.
    const copies = copiesOf(m, tenant);
    timestamp = copies.length > 0 ? pick(random, copies).timestamp : now;
  }
  const user = random() < 0.7 ? pick(random, USERS) : null;
  const device = random() < 0.5 ? pick(random, DEVICES) : null;
  return { tenant, id, name: pick(random, NAMES), timestamp, user, device };
}

const nativeBody = (d: Draft, random: () => number) => ({
  event_id: d.id,
  tenant_id: d.tenant,
  name: d.name,
  // Epoch ms or ISO 8601 with an offset: two ways of one instant.
  timestamp: random() < 0.5 ? d.timestamp : new Date(d.timestamp).toISOString(),
  user_id: d.user,
  anonymous_id: d.device,
});

/** Seed 002's event has no user or device ids: its drafts have none (see withRoutes). */
const seed002Body = (d: Draft) => ({
  event_id: d.id,
  tenant_id: d.tenant,
  source: 'web',
  event_type: d.name,
  timestamp: new Date(d.timestamp).toISOString(),
  payload: {},
});

/** What a request's answer says: per draft whether it was stored, or (a bulk) how many. */
interface Sent {
  drafts: Draft[];
  accepted: boolean[] | number;
}

async function send(app: CompatApp, route: Route, drafts: Draft[], random: () => number) {
  const ok = async (res: Response, statuses: number[]) => {
    const text = await res.text();
    const what = `${route} ${JSON.stringify(drafts.map((d) => [d.tenant, d.id]))}`;
    if (!statuses.includes(res.status)) throw new Error(`${what}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const first = drafts[0] as Draft;
  if (route === 'native-one') {
    const body = await ok(await app.post('/api/v1/events', nativeBody(first, random)), [202]);
    expect([body.event_id, body.duplicate]).toEqual([first.id, body.status === 'duplicate']);
    return { drafts, accepted: [body.status === 'accepted'] };
  }
  if (route === 'native-batch' || route === 'native-ndjson') {
    const events = drafts.map((d) => nativeBody(d, random));
    const ndjson = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
    const res =
      route === 'native-batch'
        ? await app.post('/api/v1/events/batch', { events })
        : await app.post('/api/v1/events/batch', ndjson, {
            'content-type': 'application/x-ndjson',
          });
    const body = await ok(res, [202]);
    const results = body.results as { event_id: string; status: string }[];
    expect(results.map((r) => r.event_id)).toEqual(drafts.map((d) => d.id));
    const accepted = results.map((r) => r.status === 'accepted');
    const stored = accepted.filter(Boolean).length;
    expect([body.accepted, body.duplicates]).toEqual([stored, drafts.length - stored]);
    return { drafts, accepted };
  }
  if (route === 'seed002-one') {
    const res = await app.post('/events', seed002Body(first));
    const body = await ok(res, [200, 201]);
    expect([body.event_id, body.tenant_id]).toEqual([first.id, first.tenant]);
    return { drafts, accepted: [res.status === 201] };
  }
  const res = await app.post('/events/bulk', { events: drafts.map(seed002Body) });
  const body = await ok(res, [200]);
  const inserted = body.inserted as number;
  expect([body.received, inserted + (body.duplicates as number)]).toEqual([
    drafts.length,
    drafts.length,
  ]);
  return { drafts, accepted: inserted };
}

function store(m: Model, d: Draft, receivedAt: number): void {
  const ids = m.stored.get(d.tenant) ?? new Map<string, Draft[]>();
  ids.set(d.id, [...(ids.get(d.id) ?? []), { ...d, receivedAt }]);
  m.stored.set(d.tenant, ids);
  const remembered = m.remembered.get(d.tenant) ?? new Set<string>();
  remembered.add(d.id);
  m.remembered.set(d.tenant, remembered);
}

/** Drafts for one request: 1–12, sometimes an id twice within it (same tenant or another). */
function draftsFor(m: Model, app: CompatApp, random: () => number, tenants = TENANTS): Draft[] {
  const size = random() < 0.4 ? 1 : 2 + Math.floor(random() * 11);
  const drafts: Draft[] = [];
  for (let i = 0; i < size; i++) {
    const again = i > 0 && random() < 0.15 ? pick(random, drafts) : undefined;
    const copies = random() < 0.15 ? copiesOf(m, pick(random, tenants)) : [];
    if (again) drafts.push({ ...newDraft(m, app, random, tenants), id: again.id });
    else if (copies.length > 0) {
      // A stored event sent again as it was, as a client retries: the same id and instant.
      const { receivedAt: _, ...copy } = pick(random, copies);
      drafts.push(copy);
    } else drafts.push(newDraft(m, app, random, tenants));
  }
  return drafts;
}

/** A route for each request; seed 002's drafts carry no ids of a person. */
function withRoutes(requests: Draft[][], random: () => number): Route[] {
  return requests.map((drafts) => {
    const routes: Route[] =
      drafts.length === 1
        ? ['native-one', 'seed002-one', 'native-batch']
        : ['native-batch', 'native-ndjson', 'seed002-bulk'];
    const route = pick(random, routes);
    if (route.startsWith('seed002')) {
      for (const d of drafts) Object.assign(d, { user: null, device: null });
    }
    return route;
  });
}

/** One request: its answer is the model's, item by item (a bulk: its count). */
async function ingestOne(m: Model, app: CompatApp, random: () => number): Promise<void> {
  const drafts = draftsFor(m, app, random);
  const [route] = withRoutes([drafts], random);
  const seen = new Set<string>();
  const expected = drafts.map((d) => {
    const isNew = !known(m, d) && !seen.has(keyOf(d));
    seen.add(keyOf(d));
    return isNew;
  });
  const sent = await send(app, route as Route, drafts, random);
  if (typeof sent.accepted === 'number') {
    expect(sent.accepted).toBe(expected.filter(Boolean).length);
  } else {
    expect(sent.accepted).toEqual(expected);
  }
  drafts.forEach((d, i) => {
    if (expected[i]) store(m, d, app.clock.now());
  });
}

/**
 * Several requests at once, a flush and a compaction among them, and `alongside` (an erasure
 * or a deletion of a tenant not in `tenants`). An id new to the model is sent with the same
 * content by every request that carries it, so whichever wins stores the same event: exactly
 * one of them is accepted, and every remembered id is a duplicate.
 */
async function ingestTogether(
  m: Model,
  app: CompatApp,
  random: () => number,
  tenants = TENANTS,
  alongside?: () => Promise<unknown>,
): Promise<void> {
  const fresh = new Map<string, Draft>();
  const requests = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
    draftsFor(m, app, random, tenants).map((d) => {
      if (known(m, d)) return d;
      const first = fresh.get(keyOf(d)) ?? d;
      fresh.set(keyOf(d), first);
      return first;
    }),
  );
  const routes = withRoutes(requests, random);
  const work: Promise<Sent | unknown>[] = requests.map((drafts, i) =>
    send(app, routes[i] as Route, drafts, random),
  );
  if (random() < 0.5) work.splice(1, 0, app.engine.store.flusher.flush());
  if (alongside !== undefined) work.splice(Math.floor(random() * work.length), 0, alongside());
  if (random() < 0.3) work.push(app.engine.store.compactor.compact());
  const answers = (await Promise.all(work)).filter(
    (s): s is Sent => (s as Sent | undefined)?.drafts !== undefined,
  );
  let accepted = 0;
  const storedBy = new Map<string, number>();
  for (const sent of answers) {
    if (typeof sent.accepted === 'number') {
      accepted += sent.accepted;
      continue;
    }
    sent.drafts.forEach((d, i) => {
      if (!(sent.accepted as boolean[])[i]) return;
      accepted++;
      expect([d.id, fresh.has(keyOf(d))]).toEqual([d.id, true]);
      storedBy.set(keyOf(d), (storedBy.get(keyOf(d)) ?? 0) + 1);
    });
  }
  for (const [key, n] of storedBy) expect([key, n]).toEqual([key, 1]);
  expect(accepted).toBe(fresh.size);
  for (const d of fresh.values()) store(m, d, app.clock.now());
}

/** A person's events go, by user_id or anonymous_id; their ids stay remembered. */
async function erasePerson(m: Model, app: CompatApp, random: () => number): Promise<void> {
  const tenant = pick(random, TENANTS);
  const byUser = random() < 0.6;
  const value = byUser ? pick(random, USERS) : pick(random, DEVICES);
  const theirs = (d: Draft) => (byUser ? d.user : d.device) === value;
  const gone = copiesOf(m, tenant).filter(theirs).length;
  const field = byUser ? 'user_id' : 'anonymous_id';
  let erasureId = '';
  const erase = async () => {
    erasureId = (await app.engine.erasures.request(tenant, field, value)).id;
    await app.engine.erasures.settled();
  };
  // Alone, or amid other tenants' ingest, flushes and compactions.
  if (random() < 0.5) await erase();
  else await ingestTogether(m, app, random, others(tenant), erase);
  const erasure = app.engine.erasures.get(tenant, erasureId);
  expect([erasure.status, erasure.hotEvents + erasure.segmentEvents]).toEqual(['done', gone]);
  const ids = m.stored.get(tenant) ?? new Map<string, Draft[]>();
  for (const [id, copies] of ids) {
    const kept = copies.filter((d) => !theirs(d));
    if (kept.length > 0) ids.set(id, kept);
    else ids.delete(id);
  }
}

/**
 * A tenant deleted: its events go, and its ids are new again; so too when an erasure of the
 * tenant was asked for just before (running, or refused with a 404 as its project went).
 */
async function deleteTenant(m: Model, app: CompatApp, random: () => number): Promise<void> {
  const tenant = pick(random, TENANTS);
  const erasing = async () => {
    try {
      await app.engine.erasures.request(tenant, 'user_id', pick(random, USERS));
    } catch (error) {
      expect((error as { code?: string }).code).toBe('not_found');
    }
  };
  const erasure = random() < 0.3 ? erasing() : undefined;
  const remove = async () => {
    await app.engine.deletions.delete(tenant, { decide: (tomb) => tomb() });
    await erasure;
    await app.engine.erasures.settled();
  };
  if (random() < 0.5) await remove();
  else await ingestTogether(m, app, random, others(tenant), remove);
  m.stored.delete(tenant);
  m.remembered.delete(tenant);
}

/** The clock moves past DEDUP_WINDOW (as the engine's expiry timer runs): ids are forgotten. */
function forgetIds(m: Model, app: CompatApp): void {
  app.clock.advance(FORGET_MS);
  app.engine.dedup.expire(app.clock.now());
  m.remembered.clear();
  m.forgotAt = app.clock.now();
}

/**
 * A restart without the deduplication index's snapshot (as after a shutdown forced before it
 * was written): the index is rebuilt from the stored events received within the window, so
 * the ids of erased events are new again (README, "Erasing one person's events").
 */
async function restartRebuilding(m: Model, app: CompatApp): Promise<void> {
  await app.restart(() => fs.rmSync(path.join(app.dataDir, 'dedup-index.snapshot')));
  m.remembered.clear();
  for (const tenant of TENANTS) {
    const recent = copiesOf(m, tenant).filter((d) => (d.receivedAt as number) >= m.forgotAt);
    m.remembered.set(tenant, new Set(recent.map((d) => d.id)));
  }
}

const getJson = async (app: CompatApp, path: string) => {
  const res = await app.get(path);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
};

/** What a read shows of a copy. */
const shown = (d: Draft) => [d.id, d.name, d.timestamp, d.user, d.device, d.receivedAt];
const shownOf = (e: Record<string, unknown>) => [
  e.event_id,
  e.name,
  Date.parse(e.timestamp as string),
  e.user_id,
  e.anonymous_id,
  Date.parse(e.received_at as string),
];

/**
 * Seed 002's list, offset pages oldest first (read in windows from the first event, those
 * before a page only counted), agrees with the model too.
 */
async function checkSeed002List(app: CompatApp, tenant: string, oldest: Draft[], size: number) {
  const listed: unknown[][] = [];
  for (let page = 1; page <= oldest.length / size + 1; page++) {
    const query = `tenant_id=${encodeURIComponent(tenant)}&page=${page}&page_size=${size}`;
    const body = await getJson(app, `/events?${query}`);
    expect(body.total).toBe(oldest.length);
    for (const e of body.items as Record<string, unknown>[]) {
      expect(e.tenant_id).toBe(tenant);
      const at = (key: string) => Date.parse(e[key] as string);
      listed.push([e.event_id, e.event_type, at('timestamp'), at('received_at')]);
    }
  }
  expect(listed).toEqual(oldest.map((d) => [d.id, d.name, d.timestamp, d.receivedAt]));
}

/** Every read of `tenant` agrees with the model (seed 002's list too, when `all`). */
async function checkTenant(
  m: Model,
  app: CompatApp,
  tenant: string,
  random: () => number,
  all = random() < 0.3,
) {
  const q = encodeURIComponent(tenant);
  const copies = copiesOf(m, tenant).sort(
    (a, b) =>
      b.timestamp - a.timestamp ||
      compareText(a.id, b.id) ||
      (a.receivedAt as number) - (b.receivedAt as number),
  );
  const listed: unknown[][] = [];
  const limit = pick(random, [1, 2, 5, 20, 1000]);
  let cursor: string | null = null;
  for (let pages = 0; pages <= copies.length; pages++) {
    const after: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = await getJson(app, `/api/v1/events?tenant_id=${q}&limit=${limit}${after}`);
    for (const e of page.events as Record<string, unknown>[]) {
      expect(e.tenant).toBe(tenant);
      listed.push(shownOf(e));
    }
    cursor = page.next_cursor as string | null;
    if (cursor === null) break;
  }
  expect(cursor).toBeNull();
  expect(listed).toEqual(copies.map(shown));
  const oldest = copies.toSorted(
    (a, b) =>
      a.timestamp - b.timestamp ||
      compareText(a.id, b.id) ||
      (a.receivedAt as number) - (b.receivedAt as number),
  );
  if (all) await checkSeed002List(app, tenant, oldest, pick(random, [1, 4, 30]));

  const stats = await getJson(app, `/api/v1/stats?tenant_id=${q}&${ALL}&bots=include`);
  expect(stats.total_events).toBe(copies.length);

  // By id: a sample of the tenant's ids (the copy received last), and ids it does not hold.
  const byId = (id: string) => app.get(`/api/v1/events/${encodeURIComponent(id)}?tenant_id=${q}`);
  const held = [...(m.stored.get(tenant)?.values() ?? [])];
  for (let i = 0; i < Math.min(2, held.length); i++) {
    const last = pick(random, held).at(-1) as Draft;
    const res = await byId(last.id);
    expect([last.id, res.status]).toEqual([last.id, 200]);
    const e = (await res.json()) as Record<string, unknown>;
    expect([e.tenant, ...shownOf(e)]).toEqual([tenant, ...shown(last)]);
  }
  const absent = m.ids.filter((id) => !m.stored.get(tenant)?.has(id));
  for (let i = 0; i < Math.min(2, absent.length); i++) {
    const id = pick(random, absent);
    const res = await byId(id);
    expect([id, res.status]).toEqual([id, 404]);
  }
}

const OPS = [
  ['ingest', 0.42],
  ['together', 0.15],
  ['flush', 0.1],
  ['compact', 0.07],
  ['erase', 0.08],
  ['delete', 0.05],
  ['restart', 0.06],
  ['rebuild', 0.04],
  ['forget', 0.03],
] as const;

function opOf(random: () => number): (typeof OPS)[number][0] {
  let r = random();
  for (const [op, p] of OPS) {
    if (r < p) return op;
    r -= p;
  }
  return 'ingest';
}

async function step(m: Model, app: CompatApp, op: string, random: () => number) {
  if (op === 'ingest') await ingestOne(m, app, random);
  else if (op === 'together') await ingestTogether(m, app, random);
  else if (op === 'flush') await app.engine.store.flusher.flush();
  else if (op === 'compact') await app.engine.store.compactor.compact();
  else if (op === 'erase') await erasePerson(m, app, random);
  else if (op === 'delete') await deleteTenant(m, app, random);
  else if (op === 'restart') await app.restart();
  else if (op === 'rebuild') await restartRebuilding(m, app);
  else forgetIds(m, app);
}

async function run(seed: number, steps: number): Promise<void> {
  const random = seededRandom(seed);
  t = await makeCompatApp({ engine: { compactSegmentsMin: 2 } });
  const m: Model = { stored: new Map(), remembered: new Map(), ids: [], next: 0, forgotAt: 0 };
  const trail: string[] = [];
  const at = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      throw new Error(`seed ${seed}, ${what} (${trail.join(' ')}): ${error}`, { cause: error });
    }
  };
  for (let i = 0; i < steps; i++) {
    const app = t;
    app.clock.advance(Math.floor(random() * 10 * 60_000));
    const op = opOf(random);
    trail.push(op);
    await at(`step ${i}`, async () => {
      await step(m, app, op, random);
      await checkTenant(m, app, pick(random, TENANTS), random);
    });
  }
  const app = t;
  await at('the last checks', async () => {
    await app.restart();
    for (const tenant of TENANTS) await checkTenant(m, app, tenant, random, true);
  });
}

/**
 * The default run: seeds (and steps) that between them take every step and page across two
 * copies of one id and time (an id sent again after its window), kept short.
 */
const DEFAULT_RUNS: [number, number][] = [
  [3, 10],
  [6, 10],
  [7, 6],
];
const { ENGINE_MODEL_SEEDS: seeds, ENGINE_MODEL_STEPS: steps } = process.env;
const RUNS: [number, number][] =
  seeds === undefined && steps === undefined
    ? DEFAULT_RUNS
    : (seeds ?? '3,6,7').split(',').map((seed) => [Number(seed), Number(steps ?? 10)]);

for (const [seed, n] of RUNS) {
  test(`seed ${seed}: every answer and read is the model's`, () => run(seed, n), {
    timeout: 60_000 + n * 5_000,
  });
}
