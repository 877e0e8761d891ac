import { afterEach, describe, expect, test } from 'bun:test';
import { type AuthApp, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const DASHBOARD = 'https://dash.example.com';
const preflight = (path: string, origin: string, method = 'POST', headers = 'content-type') =>
  t.call('OPTIONS', path, {
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers,
    },
  });

describe('CORS on ingest routes', () => {
  test('preflights from any site are answered with *, never with credentials', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    for (const path of ['/api/v1/events', '/api/v1/events/batch', '/api/v1/metrics']) {
      const res = await preflight(path, 'https://blog.example.org', 'POST', 'x-tally-key');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toBe('x-tally-key');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  test('a text/plain JSON beacon with a write key is accepted with ACAO *', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    await makeProject(t, ada.access_token, 'acme');
    const { key } = await makeKey(t, ada.access_token, 'acme', 'write');
    const res = await t.call('POST', '/api/v1/events', {
      text: JSON.stringify({ name: 'pageview', path: '/' }),
      headers: {
        'content-type': 'text/plain;charset=UTF-8',
        origin: 'https://blog.example.org',
        'x-tally-key': key,
      },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
    // Refusals carry the header too, so a page can read the error.
    const refused = await t.call('POST', '/api/v1/events', {
      text: '{"name":"x"}',
      headers: { 'content-type': 'text/plain', origin: 'https://blog.example.org' },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS on read routes', () => {
  test('only configured origins are allowed', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    const ok = await preflight('/api/v1/stats', DASHBOARD, 'GET', 'authorization');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(ok.headers.get('vary')).toBe('Origin');
    const refused = await preflight('/api/v1/stats', 'https://evil.example', 'GET');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const get = await t.call('GET', '/api/v1/stats', { headers: { origin: DASHBOARD } });
    expect(get.status).toBe(401);
    expect(get.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    const evil = await t.call('GET', '/api/v1/stats', {
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a configured origin may preflight every method of an account route: PATCH too', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    // The dashboard renames a project (PATCH /api/v1/projects/{id}); without PATCH in the
    // allowed methods the browser never sends it.
    for (const method of ['PATCH', 'PUT', 'DELETE', 'POST']) {
      const res = await preflight('/api/v1/projects/acme', DASHBOARD, method, 'authorization');
      expect(res.status).toBe(204);
      const allowed = res.headers.get('access-control-allow-methods')?.split(', ');
      expect(allowed).toContain(method);
    }
  });

  test('a configured origin may send a gzip body to the SQL and account routes', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    for (const path of ['/api/v1/query', '/api/v1/auth/login']) {
      const res = await preflight(path, DASHBOARD, 'POST', 'content-type, content-encoding');
      expect(res.status).toBe(204);
      const allowed = res.headers.get('access-control-allow-headers')?.toLowerCase().split(', ');
      expect(allowed).toEqual(expect.arrayContaining(['content-type', 'content-encoding']));
    }
  });

  test('GET on an ingest path is a read: no wildcard', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    const list = await t.call('GET', '/api/v1/events', {
      headers: { origin: 'https://evil.example' },
    });
    expect(list.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight('/api/v1/events', 'https://evil.example', 'GET');
    expect(pre.status).toBe(403);
    const login = await preflight('/api/v1/auth/login', 'https://evil.example', 'POST');
    expect(login.status).toBe(403);
  });
});

describe('CORS on the invitation routes', () => {
  test('another site can neither preflight nor read an accept; a form post joins nobody', async () => {
    t = await makeAuthApp({ readOrigins: [DASHBOARD] });
    const ada = await signUp(t, 'ada@example.com');
    const bob = await signUp(t, 'bob@example.com');
    await makeProject(t, ada.access_token, 'acme');
    const made = await t.call('POST', '/api/v1/projects/acme/invitations', {
      token: ada.access_token,
      body: { email: 'bob@example.com' },
    });
    const { token } = (await made.json()) as { token: string };
    const evil = 'https://evil.example';
    for (const path of ['/api/v1/invitations/accept', '/api/v1/projects/acme/invitations']) {
      expect((await preflight(path, evil, 'POST', 'authorization, content-type')).status).toBe(403);
      expect((await preflight(path, DASHBOARD, 'POST', 'authorization')).status).toBe(204);
    }
    // What a cross-site page can send without a preflight: no Authorization header, and a
    // form or text body. Tally authenticates by bearer token only, so it is 401.
    for (const headers of [
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
    ]) {
      const res = await t.call('POST', '/api/v1/invitations/accept', {
        text: `token=${token}`,
        headers: { ...headers, origin: evil },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    // With the token, a form body is not what the route reads (415), and nobody joined.
    const form = await t.call('POST', '/api/v1/invitations/accept', {
      token: bob.access_token,
      form: { token },
    });
    expect(form.status).toBe(415);
    expect(t.auth.stores.projects.members('acme').map((m) => m.email)).toEqual(['ada@example.com']);
  });
});
