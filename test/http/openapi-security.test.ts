// The OpenAPI document's credentials: its security schemes, and each operation's requirement
// checked against what the route does with AUTH_MODE=required when no credential is sent.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type AuthApp, json, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';

type Requirement = Record<string, string[]>;
interface Op {
  security?: Requirement[];
  requestBody?: { content?: Record<string, { example?: unknown }> };
}
interface Spec {
  paths: Record<string, Record<string, Op>>;
  components?: { securitySchemes?: Record<string, { type: string; in?: string; name?: string }> };
}

/**
 * Public routes whose body is a credential: the document's example is not a valid one (a
 * refresh token, a Umami account's password), so they answer it 401 without being protected.
 */
const CREDENTIAL_IN_BODY = [
  'post /api/v1/auth/refresh',
  'post /api/auth/login',
  'post /api/v1/auth/logout', // a refresh token in the body, or the bearer access token
];
/** The live handshakes: a plain request is no WebSocket (test/live covers their credential). */
const WEBSOCKETS = ['get /api/v1/live', 'get /api/v1/ws/metrics'];

let t: AuthApp;
let spec: Spec;
beforeAll(async () => {
  t = await makeAuthApp();
  spec = (await json(await t.call('GET', '/openapi/json'))) as unknown as Spec;
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method, path, op })),
  );
const takesNone = (op: Op) => (op.security ?? []).every((r) => Object.keys(r).length > 0) === false;

describe('the OpenAPI security schemes', () => {
  test('every operation names its requirement, from schemes the document defines', () => {
    const schemes = spec.components?.securitySchemes ?? {};
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.tallyKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Tally-Key' });
    for (const { method, path, op } of operations()) {
      expect({ at: `${method} ${path}`, has: Array.isArray(op.security) }).toEqual({
        at: `${method} ${path}`,
        has: true,
      });
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) expect(Object.keys(schemes)).toContain(name);
      }
    }
    const of = (method: string, path: string) => spec.paths[path]?.[method]?.security;
    expect(of('get', '/health')).toEqual([]);
    expect(of('get', '/api/v1/stats')).toEqual([{ bearer: [] }, { tallyKey: [] }]);
    expect(of('get', '/api/v1/status')).toEqual([{ bearer: [] }]);
    expect(of('post', '/v1/batch')).toContainEqual({ segmentBasic: [] });
    expect(of('post', '/api/event')).toContainEqual({});
    expect(of('post', '/api/v1/auth/logout')).toEqual([{ bearer: [] }, {}]);
  });

  test('without a credential, a route is 401 only when its document needs one', async () => {
    const wrong: string[] = [];
    for (const { method, path, op } of operations()) {
      const at = `${method} ${path}`;
      if (WEBSOCKETS.includes(at)) continue;
      const example = op.requestBody?.content?.['application/json']?.example;
      const res = await t.call(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'), {
        ...(typeof example === 'string'
          ? { text: example, headers: { 'content-type': 'application/json' } }
          : example === undefined
            ? {}
            : { body: example }),
      });
      const required = !takesNone(op) && (op.security ?? []).length > 0;
      // Needed: a 401, or a refusal of the request itself before its credential is read.
      if (required && ![400, 401, 403, 422].includes(res.status))
        wrong.push(`${at}: ${res.status}`);
      if (!required && res.status === 401 && !CREDENTIAL_IN_BODY.includes(at)) {
        wrong.push(`${at}: 401 though documented without a credential`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('each scheme carries a credential where its operations take it', async () => {
    const ada = await signUp(t, 'ada-docs@example.com');
    await makeProject(t, ada.access_token, 'docs');
    const read = await makeKey(t, ada.access_token, 'docs', 'read');
    const write = await makeKey(t, ada.access_token, 'docs', 'write');
    const schemes = spec.components?.securitySchemes ?? {};
    const header = (scheme: string, key: string) => ({
      [String(schemes[scheme]?.name).toLowerCase()]: key,
    });
    const calls: [string, string, Record<string, string>, unknown?][] = [
      ['GET', '/api/v1/stats', { authorization: `Bearer ${read.key}` }],
      ['GET', '/api/v1/stats', header('tallyKey', read.key)],
      ['GET', '/api/websites', header('umamiApiKey', read.key)],
      ['GET', '/api/websites', header('tallyKey', read.key)],
      ['GET', '/api/v1/status', { authorization: `Bearer ${ada.access_token}` }],
      [
        'POST',
        '/v1/track',
        { authorization: `Basic ${btoa(`${write.key}:`)}` },
        { event: 'signup', userId: 'u1' },
      ],
    ];
    for (const [method, path, headers, body] of calls) {
      const res = await t.call(method, path, { headers, ...(body === undefined ? {} : { body }) });
      // Authenticated: 200, or 403 for a user who is not an admin (the status route).
      expect({ path, headers, status: res.status }).toEqual({
        path,
        headers,
        status: path === '/api/v1/status' ? 403 : 200,
      });
    }
  });
});
