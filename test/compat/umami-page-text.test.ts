// Umami saves a page's path decodeURI-d and its title decodeURIComponent-d (safeDecodeURI and
// safeDecodeURIComponent in its send route): its reads list and filter `/café`, never the
// browser's `/caf%C3%A9` or the `Caf%C3%A9%20Menu` its 2.x trackers sent as the title.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

describe('Umami page text, decoded as Umami stores it', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp();
  });
  afterEach(() => t.close());

  test('a path is stored decodeURI-d and a title decodeURIComponent-d, as Umami saves them', async () => {
    // Umami's send route saves urlPath: safeDecodeURI(path) and pageTitle:
    // safeDecodeURIComponent(title). Its tracker sends location.href (the browser's escapes,
    // /caf%C3%A9); its 2.x trackers sent the path decoded and the title encodeURI-d.
    const send = (payload: Json) =>
      t.post('/api/send', {
        type: 'event',
        payload: { website: WEBSITE, hostname: 'example.com', ...payload },
      });
    const pages = [
      { url: 'https://example.com/caf%C3%A9?x=1', title: 'Café Menu' },
      { url: '/café', title: 'Caf%C3%A9%20Menu' },
      // Escapes decodeURI keeps (a slash, a ?), text that is no escape (100%), as Umami keeps.
      { url: 'https://example.com/a%2Fb/100%', title: '100% sure' },
    ];
    for (const page of pages) expect((await send(page)).status).toBe(200);
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.map((e) => [e.path, (e.properties as Json).$title])).toEqual([
      ['/café', 'Café Menu'],
      ['/café', 'Café Menu'],
      ['/a%2Fb/100%', '100% sure'],
    ]);
    const range = `startAt=${T0 - 3_600_000}&endAt=${T0 + 3_600_000}`;
    const paths = await t.getJson<unknown>(`/api/websites/${WEBSITE}/metrics?type=path&${range}`);
    expect(paths).toEqual([
      { x: '/a%2Fb/100%', y: 1 },
      { x: '/café', y: 1 },
    ]);
    // A dashboard filtered to the page names it as Umami lists it.
    const filtered = await t.getJson(
      `/api/websites/${WEBSITE}/stats?${range}&path=${encodeURIComponent('/café')}`,
    );
    expect(filtered).toMatchObject({ pageviews: 2 });
  });
});
