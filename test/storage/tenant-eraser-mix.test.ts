// A tenant deleted again and again amid another tenant's traffic, flushes, compactions and
// restarts (seeded): the other tenant holds exactly its acknowledged events, re-sent ids are
// duplicates; the deleted one holds exactly what was acknowledged since its last deletion,
// and ids it sent before a deletion are new again.

import { afterEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { seededRandom } from '../helpers/random.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

/** What the test knows of each tenant's events. */
interface Model {
  next: number;
  deleting: boolean;
  globex: Set<string>;
  /** acme's ids acknowledged since its last deletion. */
  acme: Set<string>;
  /** acme's ids deleted, to be sent again. */
  acmeDeleted: string[];
}

async function sendOne(app: TestApp, tenant: string, id: string): Promise<Response> {
  return app.post('/api/v1/events/batch', {
    events: [{ event_id: id, name: 'x', tenant_id: tenant }],
  });
}

/** Sends one event of `tenant` (sometimes an id sent before) and notes what must be stored. */
async function ingest(app: TestApp, m: Model, tenant: string, random: () => number) {
  const known = [...m.globex];
  if (tenant === 'globex' && random() < 0.1 && known.length > 0) {
    const res = await sendOne(app, tenant, known[Math.floor(random() * known.length)] as string);
    if (res.status === 202)
      expect(((await res.json()) as { duplicates: number }).duplicates).toBe(1);
    return;
  }
  const again =
    tenant === 'acme' && random() < 0.2 && !m.deleting ? m.acmeDeleted.pop() : undefined;
  const id = again ?? `${tenant}-${m.next++}`;
  const startedDeleting = m.deleting;
  const res = await sendOne(app, tenant, id);
  if (res.status !== 202) return; // 503 while acme is deleted
  expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
  if (tenant === 'globex') m.globex.add(id);
  else if (startedDeleting) throw new Error(`${id} was acknowledged while its tenant was deleted`);
  else if (!m.deleting) m.acme.add(id);
  // else: handed in before the deletion, acknowledged, and deleted with it
}

async function run(seed: number): Promise<void> {
  const random = seededRandom(seed);
  t = await makeTestApp({ compactSegmentsMin: 2 });
  const app = t;
  const m: Model = {
    next: 0,
    deleting: false,
    globex: new Set(),
    acme: new Set(),
    acmeDeleted: [],
  };
  const erase = () => {
    m.deleting = true;
    const deleted = [...m.acme];
    return app.engine.deletions.delete('acme', { decide: (tombstone) => tombstone() }).then(() => {
      m.deleting = false;
      m.acme = new Set();
      m.acmeDeleted.push(...deleted);
    });
  };
  for (let round = 0; round < 30; round++) {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      work.push(ingest(app, m, random() < 0.5 ? 'acme' : 'globex', random));
      if (random() < 0.1) work.push(app.engine.store.flusher.flush());
      if (random() < 0.05) work.push(app.engine.store.compactor.compact());
      if (random() < 0.03 && !m.deleting) work.push(erase());
      if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
      if (random() < 0.3) await Promise.all(work);
    }
    await Promise.all(work);
    expect(await app.count('globex')).toBe(m.globex.size);
    expect(await app.count('acme')).toBe(m.acme.size);
    if (random() < 0.15) {
      await app.restart();
      expect(await app.count('globex')).toBe(m.globex.size);
      expect(await app.count('acme')).toBe(m.acme.size);
    }
  }
}

for (const seed of [3]) {
  test(
    `seed ${seed}: every acknowledged event is stored once, none of a deletion's`,
    () => run(seed),
    60_000,
  );
}
