// PostHog's capture API as older and non-JavaScript clients use it: the /track/ path its
// capture routes as /e/.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

describe('PostHog capture: legacy paths and encodings', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy: keyTenancy({}) });
  });
  afterEach(() => t.close());

  const at = new Date(T0).toISOString();
  const event = (extra: Json = {}) => ({
    event: 'signed_up',
    distinct_id: 'd1',
    timestamp: at,
    properties: { plan: 'pro' },
    ...extra,
  });
  const stored = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);

  test('/track/ (and /track) is a capture path, as /e/ is on PostHog', async () => {
    const one = await t.post('/track/', { api_key: 'wk_acme', ...event({ uuid: 't-1' }) });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ status: 1 });
    const batch = [event({ uuid: 't-2', properties: { token: 'wk_acme' } })];
    expect((await t.post('/track', batch)).status).toBe(200);
    expect(await stored('t-1')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
    expect(await stored('t-2')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
    const preflight = await t.handle(new Request('http://localhost/track/', { method: 'OPTIONS' }));
    expect(preflight.status).toBe(204);
  });
});
