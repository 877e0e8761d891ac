// Answers to requests that carry a credential depend on it, not only on the URL: a caching
// proxy in front must never keep one (RFC 9111 §5.2.2.5). Authorization alone already keeps
// a shared cache off by default; X-Tally-Key (and Umami's x-umami-api-key) does not.

import { afterEach, expect, test } from 'bun:test';
import { type AuthApp, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';

let t: AuthApp;
afterEach(() => t.close());

test('every answer to a request with a key or a token is Cache-Control: no-store', async () => {
  t = await makeAuthApp();
  const ada = await signUp(t, 'ada@example.com');
  await makeProject(t, ada.access_token, 'acme');
  const read = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
  const alias = await t.call('POST', '/api/v1/projects/acme/aliases', {
    token: ada.access_token,
    body: { alias: 'acme.example', kind: 'plausible_domain' },
  });
  expect(alias.status).toBe(201);
  const calls: [string, Record<string, string>][] = [
    ['/api/v1/stats?tenant_id=acme', { 'x-tally-key': read }],
    ['/api/v1/stats', { 'x-tally-key': read }],
    ['/api/v1/events?tenant_id=acme', { authorization: `Bearer ${read}` }],
    ['/api/websites/acme/stats?startAt=0&endAt=1', { 'x-umami-api-key': read }],
    ['/api/v1/stats/aggregate?site_id=acme.example', { authorization: `Bearer ${read}` }],
    ['/api/v1/users/me', { authorization: `Bearer ${ada.access_token}` }],
    ['/api/v1/projects/acme', { authorization: `Bearer ${ada.access_token}` }],
  ];
  for (const [path, headers] of calls) {
    const res = await t.call('GET', path, { headers });
    expect([path, res.status]).toEqual([path, 200]);
    expect([path, res.headers.get('cache-control')]).toEqual([path, 'no-store']);
  }
  // A refused credential too: its 401 or 403 must not stand in for the owner's answer.
  const refused = await t.call('GET', '/api/v1/stats', { headers: { 'x-tally-key': 'rk_no' } });
  expect(refused.status).toBe(401);
  expect(refused.headers.get('cache-control')).toBe('no-store');
  // Ingest with a write key, an Authorization of another scheme, a refused Umami key: each
  // request carries a credential header, so each answer is no-store too.
  const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
  const others: [string, string, Record<string, string>, number][] = [
    ['POST', '/api/v1/events', { 'x-tally-key': write }, 202],
    ['GET', '/api/v1/stats', { authorization: 'Basic YTpi' }, 401],
    ['GET', '/api/websites/acme/stats?startAt=0&endAt=1', { 'x-umami-api-key': 'rk_no' }, 401],
  ];
  for (const [method, path, headers, status] of others) {
    const res = await t.call(method, path, {
      headers,
      body: method === 'POST' ? { name: 'x' } : undefined,
    });
    expect([path, res.status, res.headers.get('cache-control')]).toEqual([
      path,
      status,
      'no-store',
    ]);
  }
});

test('an answer that depends on no credential keeps its own caching', async () => {
  t = await makeAuthApp();
  const res = await t.call('GET', '/api/v1/stats?tenant_id=acme');
  expect(res.status).toBe(401);
  expect(res.headers.get('cache-control')).toBeNull();
});

test('static files are the same for everyone: no-cache with an ETag, a credential or not', async () => {
  t = await makeAuthApp();
  const ada = await signUp(t, 'ada@example.com');
  for (const path of ['/dashboard', '/dashboard/dashboard.js', '/openapi/assets/swagger-ui.css']) {
    const bare = await t.call('GET', path);
    const keyed = await t.call('GET', path, {
      headers: { authorization: `Bearer ${ada.access_token}` },
    });
    expect([path, bare.status, keyed.status]).toEqual([path, 200, 200]);
    expect([path, keyed.headers.get('cache-control')]).toEqual([path, 'no-cache']);
    expect(keyed.headers.get('etag')).toBe(bare.headers.get('etag'));
    expect(await keyed.text()).toBe(await bare.text());
  }
});
