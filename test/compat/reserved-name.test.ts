// Tally's reserved event names (core/reserved.ts) sent by a client through every route but the
// one that writes each: refused there as the route refuses a bad item (the SDK batches keep
// their other events and name the one left out, as an SDK user sees it; the native batch and
// the seed services refuse it as any bad item), never stored. Only Plausible's ingest writes
// `$engagement` (its `n: "engagement"`), only Umami's identify with data `$umami_identify`
// (read back as Umami's session data, which an event of that name sent elsewhere became);
// their other spellings are names like any other.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

let t: CompatApp;
afterEach(() => t.close());

async function storedNames(tenant: string): Promise<string[]> {
  const res = await t.get(`/api/v1/export?tenant_id=${tenant}&format=ndjson`);
  expect(res.status).toBe(200);
  const text = (await res.text()).trim();
  if (text === '') return [];
  return text.split('\n').map((line) => String((JSON.parse(line) as Json).name));
}

for (const [RESERVED, WRITER] of [
  ['$engagement', "Plausible's engagement beacons"],
  ['$umami_identify', "Umami's identify data (its session properties)"],
] as const) {
  describe(`${RESERVED}: SDK routes`, () => {
    beforeEach(async () => {
      t = await makeCompatApp({ tenancy: keyTenancy({}) });
    });

    test('PostHog and Segment batches keep their other events and name the one left out', async () => {
      const at = new Date(T0).toISOString();
      const ph = (event: string, uuid: string) => ({
        event,
        distinct_id: 'd1',
        uuid,
        timestamp: at,
      });
      const posthog = await t.post('/batch/', {
        api_key: 'wk_acme',
        batch: [ph('signup', 'p-1'), ph(RESERVED, 'p-2')],
      });
      expect(posthog.status).toBe(200);
      const phBody = (await posthog.json()) as { dropped: { index: number; reason: string }[] };
      expect(phBody.dropped).toHaveLength(1);
      expect(phBody.dropped[0]?.index).toBe(1);
      expect(phBody.dropped[0]?.reason).toContain('reserved');
      const alone = await t.post('/capture/', { api_key: 'wk_acme', ...ph(RESERVED, 'p-3') });
      expect(alone.status).toBe(400);

      const track = (event: string, messageId: string) => ({
        type: 'track',
        userId: 'u1',
        event,
        messageId,
        timestamp: at,
      });
      const segment = await t.post('/v1/batch', {
        writeKey: 'wk_acme',
        batch: [track(RESERVED, 's-1'), track('Signed Up', 's-2')],
      });
      expect(segment.status).toBe(200);
      const sgBody = (await segment.json()) as { dropped: { index: number; reason: string }[] };
      expect(sgBody.dropped.map((d) => d.index)).toEqual([0]);
      expect(sgBody.dropped[0]?.reason).toContain('reserved');
      const single = await t.post('/v1/track', { writeKey: 'wk_acme', ...track(RESERVED, 's-3') });
      expect(single.status).toBe(400);

      expect((await storedNames('acme')).sort()).toEqual(['Signed Up', 'signup']);
    });
  });

  describe(`${RESERVED}: Umami, Plausible, the native API and other spellings`, () => {
    beforeEach(async () => {
      t = await makeCompatApp();
    });

    test('refused as a bad item of each route; a case or spacing variant is a name', async () => {
      const umami = (name: string) => ({
        type: 'event',
        payload: { website: WEBSITE, url: '/x', hostname: 'ex.com', name },
      });
      const batch = await t.post('/api/batch', [umami('clicked'), umami(RESERVED)]);
      expect(batch.status).toBe(200);
      expect(await batch.json()).toMatchObject({ size: 2, processed: 1, errors: 1 });
      expect((await t.post('/api/send', umami(RESERVED))).status).toBe(400);

      const native = await t.post('/api/v1/events/batch', {
        events: [
          { name: 'ok', tenant_id: 'n' },
          { name: RESERVED, tenant_id: 'n' },
        ],
      });
      expect(native.status).toBe(422);
      const detail = ((await native.json()) as { detail: { loc: unknown[]; msg: string }[] })
        .detail;
      expect(detail.map((d) => d.loc)).toEqual([['body', 'events', 1, 'name']]);
      expect(detail[0]?.msg).toBe(`name ${RESERVED} is reserved: Tally stores ${WRITER} under it`);
      const single = await t.post('/api/v1/events', { name: RESERVED, tenant_id: 'n' });
      expect(single.status).toBe(422);
      const ndjson = await t.post(
        '/api/v1/events/batch?tenant_id=n',
        `{"name":"ok"}\n{"name":"${RESERVED}"}\n`,
        { 'content-type': 'application/x-ndjson' },
      );
      expect(ndjson.status).toBe(422);
      expect(await storedNames('n')).toEqual([]);

      // The seed services name it event_type.
      const seed002 = await t.post('/events', {
        event_id: 'e-1',
        tenant_id: 's2',
        source: 'web',
        event_type: RESERVED,
        timestamp: new Date(T0).toISOString(),
        payload: {},
      });
      expect(seed002.status).toBe(422);
      const seed004 = await t.post('/event', {
        site_id: 's4',
        event_type: RESERVED,
        path: '/x',
        timestamp: new Date(T0).toISOString(),
      });
      expect(seed004.status).toBe(422);
      const loc = ((await seed004.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc;
      expect(loc).toEqual(['body', 'event_type']);
      expect([...(await storedNames('s2')), ...(await storedNames('s4'))]).toEqual([]);

      const plausible = await t.post(
        '/api/event',
        JSON.stringify({ n: RESERVED, u: 'https://example.com/', d: 'p.example' }),
        { 'content-type': 'text/plain' },
      );
      expect(plausible.status).toBe(400);
      expect(Object.keys((await plausible.json()) as Json)).toEqual(['errors']);
      expect(await storedNames('p.example')).toEqual([]);

      const capitalized = `$${RESERVED.charAt(1).toUpperCase()}${RESERVED.slice(2)}`;
      for (const name of [capitalized, ` ${RESERVED}`, RESERVED.slice(1)]) {
        const res = await t.post('/api/v1/events', { name, tenant_id: 'v' });
        expect(res.status, name).toBe(202);
      }
      const stats = await t.getJson<{ total_events: number }>(
        `/api/v1/stats?tenant_id=v&from=${new Date(T0 - 60_000).toISOString()}`,
      );
      expect(stats.total_events).toBe(3);
      expect(await storedNames(WEBSITE)).toEqual(['clicked']);
    });
  });
}
