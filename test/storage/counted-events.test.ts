// A snapshot's relations and the engagement beacons (core/engagement.ts), hot and flushed:
// `from` and `minutesFrom` (what every counting read reads) leave them out, `allFrom` (raw
// access) has every stored row, after a compaction and a restart too (and the rollups rebuilt
// then count none). Written through Plausible's ingest, the one way they are.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from '../compat/helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp({ engine: { compactSegmentsMin: 2 } });
});
afterEach(() => t.close());

async function send(body: Record<string, unknown>): Promise<void> {
  const res = await t.post('/api/event', JSON.stringify({ d: 'example.com', ...body }), {
    'content-type': 'text/plain',
  });
  expect(res.status).toBe(202);
}

async function counts(
  tenant = 'example.com',
): Promise<{ from: number; all: number; minutes: number }> {
  const snapshot = await t.engine.store.snapshot(tenant);
  try {
    const r = await snapshot.connection.runAndReadAll(
      `SELECT (SELECT count(*) FROM ${snapshot.from} AS e) AS "from",
              (SELECT count(*) FROM ${snapshot.allFrom} AS e) AS "all",
              (SELECT coalesce(sum(events), 0) FROM ${snapshot.minutesFrom} AS m) AS minutes`,
      snapshot.params,
    );
    const row = r.getRowObjectsJS()[0] as Record<string, bigint>;
    return { from: Number(row.from), all: Number(row.all), minutes: Number(row.minutes) };
  } finally {
    snapshot.release();
  }
}

test('beacons are in allFrom only, before and after a flush', async () => {
  await send({ n: 'pageview', u: 'https://example.com/a' });
  await send({ n: 'engagement', u: 'https://example.com/a', sd: 50, e: 4000 });
  await send({ n: 'Signup', u: 'https://example.com/a' });
  expect(await counts()).toEqual({ from: 2, all: 3, minutes: 2 });
  expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 3 });
  expect(await counts()).toEqual({ from: 2, all: 3, minutes: 2 });
  await send({ n: 'engagement', u: 'https://example.com/a', sd: 70, e: 1000 });
  expect(await counts()).toEqual({ from: 2, all: 4, minutes: 2 });
});

test('a compacted segment (its minute counts) and rollups rebuilt at a restart leave them out', async () => {
  await send({ n: 'pageview', u: 'https://example.com/a' });
  await send({ n: 'engagement', u: 'https://example.com/a', sd: 50, e: 4000 });
  await t.engine.store.flusher.flush();
  await send({ n: 'engagement', u: 'https://example.com/a', sd: 90, e: 2000 });
  await send({ n: 'Signup', u: 'https://example.com/a' });
  await t.engine.store.flusher.flush();
  expect(await t.engine.store.compactor.compact()).toBe(1);
  expect(await counts()).toEqual({ from: 2, all: 4, minutes: 2 });
  await t.restart();
  expect(await counts()).toEqual({ from: 2, all: 4, minutes: 2 });
  const actor = t.engine.registry.actorFor('example.com');
  await actor?.whenReady();
  const live = actor?.rollups.snapshot(t.clock.now());
  expect(live?.windows['1h'].events).toBe(2);
  expect(live?.names.map((n) => n.name).sort()).toEqual(['Signup', 'pageview']);
});

test("PostHog's group updates ($groupidentify) are in allFrom only; the rollups count none", async () => {
  const capture = async (event: string, distinct_id: string) => {
    const res = await t.post('/capture/', { api_key: 'k', event, distinct_id });
    expect(res.status).toBe(200);
  };
  await capture('$groupidentify', '$company_acme');
  await capture('report_run', 'member-1');
  expect(await counts('default')).toEqual({ from: 1, all: 2, minutes: 1 });
  await t.engine.store.flusher.flush();
  expect(await counts('default')).toEqual({ from: 1, all: 2, minutes: 1 });
  const actor = t.engine.registry.actorFor('default');
  await actor?.whenReady();
  const live = actor?.rollups.snapshot(t.clock.now());
  expect(live?.windows['1h'].events).toBe(1);
  expect(live?.names.map((n) => n.name)).toEqual(['report_run']);
  // README "Limits": never counted whichever API sends the name, the native one too.
  const native = await t.post('/api/v1/events', { name: '$groupidentify', user_id: '$team_a' });
  expect(native.status).toBe(202);
  expect(await counts('default')).toEqual({ from: 1, all: 3, minutes: 1 });
});
