// What posthog-js (the browser SDK) sends besides posthog-node's batches, at the protocol
// level: the remote config and feature flags it asks for at every page load, and its events,
// which carry 50–100 properties of the SDK's own. test/e2e/posthog.test.ts runs the real SDK.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

const ORIGIN = { origin: 'https://shop.example' };

let t: CompatApp;
const tenancy = keyTenancy({});
beforeEach(async () => {
  tenancy.keys.length = 0;
  t = await makeCompatApp({ tenancy });
});
afterEach(() => t.close());

/** posthog-js posts gzip as text/plain, with no `compression` parameter. */
const gzipText = (path: string, body: unknown) =>
  t.post(path, gzipSync(JSON.stringify(body)), { 'content-type': 'text/plain', ...ORIGIN });

describe('posthog-js remote config', () => {
  test('GET /array/{token}/config answers the config of a project with no extras', async () => {
    const res = await t.get('/array/wk_acme/config', ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toMatchObject({
      token: 'wk_acme',
      supportedCompression: ['gzip', 'gzip-js'],
      analytics: { endpoint: '/i/v0/e/' },
      sessionRecording: false,
      surveys: false,
      heatmaps: false,
      capturePerformance: false,
      siteApps: [],
    });
  });

  test('the script form sets window._POSTHOG_REMOTE_CONFIG[token], as the SDK reads it', async () => {
    const res = await t.get('/array/phc_Ab-9/config.js', ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('application/javascript');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const window: { _POSTHOG_REMOTE_CONFIG?: Record<string, { config: Json; siteApps: [] }> } = {};
    new Function('window', await res.text())(window);
    expect(window._POSTHOG_REMOTE_CONFIG?.phc_Ab_9).toBeUndefined();
    expect(window._POSTHOG_REMOTE_CONFIG?.['phc_Ab-9']).toMatchObject({
      config: { token: 'phc_Ab-9', supportedCompression: ['gzip', 'gzip-js'] },
      siteApps: [],
    });
  });

  test('a token that is no token is a 404, never part of a script', async () => {
    for (const token of ["x'];alert(1);//", '%3C%2Fscript%3E', 'a'.repeat(129)]) {
      const res = await t.get(`/array/${encodeURIComponent(token)}/config.js`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('alert');
    }
  });
});

describe('posthog-js feature flags', () => {
  const request = { token: 'wk_acme', distinct_id: 'd1', groups: {} };

  test('/flags/?v=2 with a gzip body answers no flags in the v2 shape', async () => {
    const res = await gzipText('/flags/?v=2', request);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ flags: {}, errorsWhileComputingFlags: false });
    expect(body.featureFlags).toBeUndefined();
    expect(tenancy.keys).toEqual(['wk_acme']);
  });

  test('older SDKs: /flags/ v1 and /decide/ get featureFlags; /decide/ the config too', async () => {
    const form = `data=${encodeURIComponent(Buffer.from(JSON.stringify(request)).toString('base64'))}`;
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const v1 = (await (await t.post('/flags/', form, formType)).json()) as Json;
    expect(v1).toMatchObject({ featureFlags: {}, featureFlagPayloads: {} });
    expect(v1.flags).toBeUndefined();
    expect(v1.supportedCompression).toBeUndefined();
    const decide = await t.post('/decide/?v=3', request);
    expect(await decide.json()).toMatchObject({
      featureFlags: {},
      errorsWhileComputingFlags: false,
      supportedCompression: ['gzip', 'gzip-js'],
      sessionRecording: false,
    });
    const withConfig = await t.post('/flags/?v=2&config=true', request);
    expect(await withConfig.json()).toMatchObject({ flags: {}, sessionRecording: false });
  });

  test('no token or a key the resolver refuses is a 401; a preflight is answered', async () => {
    const none = await t.post('/flags/?v=2', { distinct_id: 'd1' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ type: 'authentication_error' });
    expect((await t.post('/flags/?v=2', { ...request, token: 'phc_unknown' })).status).toBe(401);
    expect((await t.post('/flags/?v=2', '{"token": ')).status).toBe(400);
    const preflight = await t.handle(
      new Request('http://localhost/flags/?v=2', {
        method: 'OPTIONS',
        headers: { ...ORIGIN, 'access-control-request-method': 'POST' },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});
