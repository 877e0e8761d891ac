// Umami's tracker sends back the `cache` of its last answer in `x-umami-cache`, and Umami keeps
// the visit it names (resolveCollectionSession) until 30 minutes after the visit's start, across
// the hour that otherwise starts a new visit; a token Umami did not sign, of another website or
// of another session is read as none.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
const MINUTE = 60_000;
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

describe("Umami's x-umami-cache", () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp();
  });
  afterEach(() => t.close());

  /** One page view of the tracker at `atMs`, with the cache it holds (none before the first). */
  const view = async (atMs: number, url: string, cache?: string, agent = CHROME) => {
    t.clock.set(atMs);
    const headers: Record<string, string> = { 'user-agent': agent };
    if (cache !== undefined) headers['x-umami-cache'] = cache;
    const payload = { website: WEBSITE, hostname: 'example.com', url, title: url };
    const res = await t.post('/api/send', { type: 'event', payload }, headers);
    expect(res.status).toBe(200);
    return (await res.json()) as { cache: string; sessionId: string; visitId: string };
  };
  const stats = () => t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}&date=2026-11-25`);

  test('a visit the tracker carries goes on past the hour, as Umami keeps it', async () => {
    const first = await view(T0 + 50 * MINUTE, '/');
    const second = await view(T0 + 65 * MINUTE, '/pricing', first.cache);
    expect(second.visitId).toBe(first.visitId);
    expect(second.sessionId).toBe(first.sessionId);
    expect(await stats()).toMatchObject({ page_views: 2, visits: 1, bounce_rate: 0 });
    // Without the token (@umami/node sends none) the hour starts a new visit, as in Umami.
    const bare = await view(T0 + 66 * MINUTE, '/docs');
    expect(bare.visitId).not.toBe(first.visitId);
  });

  test('the carried visit ends 30 minutes after it began, then the hour names it', async () => {
    const first = await view(T0 + 50 * MINUTE, '/');
    const second = await view(T0 + 70 * MINUTE, '/a', first.cache);
    const third = await view(T0 + 81 * MINUTE, '/b', second.cache);
    expect(second.visitId).toBe(first.visitId);
    expect(third.visitId).not.toBe(first.visitId);
    const fourth = await view(T0 + 85 * MINUTE, '/c', third.cache);
    expect(fourth.visitId).toBe(third.visitId);
    expect(await stats()).toMatchObject({ page_views: 4, visits: 2 });
  });

  test("Umami 2's tracker, which sends back the answer's whole text, keeps its visit", async () => {
    // Umami 2 answered the bare token and its tracker kept `cache = await res.text()`: against
    // Umami 3's JSON answer it sends the whole JSON text back.
    t.clock.set(T0 + 50 * MINUTE);
    const payload = { website: WEBSITE, hostname: 'example.com', url: '/', title: 'Home' };
    const headers = { 'user-agent': CHROME };
    const res = await t.post('/api/send', { type: 'event', payload }, headers);
    const text = await res.text();
    const first = JSON.parse(text) as { visitId: string };
    t.clock.set(T0 + 65 * MINUTE);
    const again = await t.post(
      '/api/send',
      { type: 'event', payload: { ...payload, url: '/pricing' } },
      { ...headers, 'x-umami-cache': text },
    );
    expect(((await again.json()) as { visitId: string }).visitId).toBe(first.visitId);
  });

  test("a token Tally did not sign, another website's or another session's is none", async () => {
    const first = await view(T0 + 50 * MINUTE, '/');
    const claims = JSON.parse(
      Buffer.from(first.cache.split('.')[0] ?? '', 'base64url').toString(),
    ) as Json;
    expect(claims).toMatchObject({ websiteId: WEBSITE, visitId: first.visitId });
    // Its claims without the signature, and with the signature of other claims.
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = first.cache.split('.')[1] ?? '';
    const other = { ...claims, websiteId: OTHER };
    const otherSite = `${Buffer.from(JSON.stringify(other)).toString('base64url')}.${signature}`;
    for (const cache of [forged, otherSite, `${forged}.AAAA`, 'not a token', '']) {
      const answer = await view(T0 + 65 * MINUTE, '/x', cache);
      expect(answer.visitId).not.toBe(first.visitId);
    }
    // Another browser behind the same token is another session: its own visit.
    const elsewhere = await view(T0 + 55 * MINUTE, '/y', first.cache, FIREFOX);
    expect(elsewhere.sessionId).not.toBe(first.sessionId);
    expect(elsewhere.visitId).not.toBe(first.visitId);
  });
});
