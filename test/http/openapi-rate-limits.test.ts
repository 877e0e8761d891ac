// The rate limits' headers in /openapi/json, held to what the routes send with AUTH_MODE=required:
// each operation is called with a project's write key and with its read key, its documented
// examples sent, the body's and a GET's query's (the examples' write key replaced by the real
// one), and an operation whose answer carries X-RateLimit-* spends a rate. Exactly those document the three headers on
// every 2xx and on the refusal of their rate (a 429; a 503 on PostHog's routes, which answer a
// 429 so), and on what they answer a body they refuse once charged (sent `{}`: a 422, a 400…);
// every 429 and 503 documents Retry-After, every 429 the three headers.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import { EXAMPLE_WRITE_KEY } from '../../src/http/compat/docs.ts';
import { type AuthApp, json, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';
import { inlineSharedAnswers } from '../helpers/openapi.ts';

interface Answer {
  headers?: Record<string, { description?: string; schema?: { type?: string } }>;
}
interface Op {
  responses?: Record<string, Answer>;
  requestBody?: { content?: Record<string, { example?: unknown }> };
  parameters?: { name: string; in: string; example?: unknown }[];
}
interface Spec {
  paths: Record<string, Record<string, Op>>;
}

const RATE_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];
/** The live handshakes: a plain request is no WebSocket (their 429 is checked on its own). */
const WEBSOCKETS = ['get /api/v1/live', 'get /api/v1/ws/metrics'];
/** What a read needs to get past its parameters' checks to the credential's. */
const READ_QUERY = 'tenant_id=docs&site_id=example.com&name=n&steps=a,b&startAt=0&endAt=1';
/** Each path parameter's value: an id of the right shape, else the project's id. */
const pathValue = (name: string) =>
  name === 'event_id' ? '3f8e2a64-8d0b-4c1e-9a5f-2b7c6d1e0f93' : 'docs';

let t: AuthApp;
let spec: Spec;
const operations = () =>
  Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method, path, op, at: `${method} ${path}` })),
  );

beforeAll(async () => {
  // Rates no probe here exhausts (the clock stands still).
  const plenty = { perSecond: 1, burst: 10_000 };
  t = await makeAuthApp({
    auth: { rates: { ...defaultAuthOptions.rates, write: plenty, read: plenty } },
  });
  spec = inlineSharedAnswers(await json(await t.call('GET', '/openapi/json'))) as unknown as Spec;
});
afterAll(() => t.close());

/**
 * The rate an operation spends: that of the first of `keys` (write, read) whose answer carries
 * X-RateLimit-*; null when none does.
 */
async function spentRate(
  method: string,
  path: string,
  op: Op,
  keys: [write: string, read: string],
): Promise<'WRITE' | 'READ' | null> {
  const example = op.requestBody?.content?.['application/json']?.example;
  const text = typeof example === 'string' ? example : JSON.stringify(example);
  // A GET's query: what a read needs, and each query parameter's example (PostHog's capture by
  // GET has its body there), the examples' write key replaced by the key sent.
  const urlWith = (key: string) => {
    const examples = (op.parameters ?? []).flatMap((p) =>
      p.in === 'query' && typeof p.example === 'string'
        ? [`${p.name}=${encodeURIComponent(p.example.replaceAll(EXAMPLE_WRITE_KEY, key))}`]
        : [],
    );
    const withQuery = method === 'get' ? `${path}?${[READ_QUERY, ...examples].join('&')}` : path;
    return withQuery.replace(/\{([^}]+)\}/g, (_, name: string) => pathValue(name));
  };
  // Each header parameter's example (PostHog's capture v1 requires its SDKs' headers).
  const headers = Object.fromEntries(
    (op.parameters ?? []).flatMap((p) =>
      p.in === 'header' && typeof p.example === 'string' ? [[p.name, p.example]] : [],
    ),
  );
  for (const [i, key] of keys.entries()) {
    const res = await t.call(method.toUpperCase(), urlWith(key), {
      token: key,
      ...(example === undefined
        ? { headers }
        : {
            text: text.replaceAll(EXAMPLE_WRITE_KEY, key),
            headers: { ...headers, 'content-type': 'application/json' },
          }),
    });
    await res.arrayBuffer();
    if (res.headers.has('x-ratelimit-limit')) return i === 0 ? 'WRITE' : 'READ';
  }
  return null;
}

/**
 * The status `method` `path` answers an empty object for a body with `key`, when that answer
 * carries X-RateLimit-* (the body refused once the request was charged); else null.
 */
async function chargedRefusal(method: string, path: string, key: string) {
  const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => pathValue(name));
  const res = await t.call(method.toUpperCase(), url, {
    token: key,
    text: '{}',
    headers: { 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  return res.headers.has('x-ratelimit-limit') && res.status >= 400 ? String(res.status) : null;
}

describe('the rate limits in the OpenAPI document', () => {
  test('the operations that spend a rate document X-RateLimit-* on what they answer once charged', async () => {
    const ada = await signUp(t, 'ada-rates@example.com');
    await makeProject(t, ada.access_token, 'docs');
    const write = await makeKey(t, ada.access_token, 'docs', 'write');
    const read = await makeKey(t, ada.access_token, 'docs', 'read');
    // Plausible's examples name this site.
    const alias = { alias: 'example.com', kind: 'plausible_domain' };
    const added = await t.call('POST', '/api/v1/projects/docs/aliases', {
      token: ada.access_token,
      body: alias,
    });
    expect(added.status).toBe(201);
    const sent: string[] = [];
    const documented: string[] = [];
    const misnamed: string[] = [];
    const refusedOnceCharged: string[] = [];
    const undocumented: string[] = [];
    for (const { method, path, op, at } of operations()) {
      if (WEBSOCKETS.includes(at)) continue;
      const answers = Object.entries(op.responses ?? {});
      // A rate's refusal is a 429, or a 503 where there is none (PostHog's).
      const refusal = answers.some(([s]) => s === '429') ? '429' : '503';
      const charged = answers.filter(([s]) => s.startsWith('2') || s === refusal);
      const limit = (a: Answer) => a.headers?.['X-RateLimit-Limit']?.description ?? '';
      const has = (a: Answer) => RATE_HEADERS.every((h) => a.headers?.[h]?.schema !== undefined);
      if (charged.every(([, a]) => has(a)) && answers.some(([s]) => s.startsWith('2'))) {
        documented.push(at);
      }
      const rate = await spentRate(method, path, op, [write.key, read.key]);
      if (rate === null) continue;
      sent.push(at);
      if (op.requestBody !== undefined) {
        const status = await chargedRefusal(method, path, rate === 'WRITE' ? write.key : read.key);
        if (status !== null) {
          refusedOnceCharged.push(at);
          const answer = op.responses?.[status];
          if (answer === undefined || !has(answer)) undocumented.push(`${at} ${status}`);
        }
      }
      // Each documented header names the rate the request was charged to.
      const named = charged.every(([, a]) => limit(a).includes(`RATE_${rate}_PER_SECOND`));
      if (!named) misnamed.push(`${at}: not RATE_${rate}_*`);
    }
    expect(documented).toEqual(sent);
    expect(misnamed).toEqual([]);
    expect(sent.length).toBeGreaterThan(60);
    expect(undocumented).toEqual([]);
    expect(refusedOnceCharged.length).toBeGreaterThan(10);
    // A live socket's handshake spends the read rate (routes/live.ts): its 429 says so.
    for (const at of WEBSOCKETS) {
      const [method = '', path = ''] = at.split(' ');
      const refused = spec.paths[path]?.[method]?.responses?.['429'];
      expect(refused?.headers?.['X-RateLimit-Limit']?.description).toContain('RATE_READ_');
    }
  }, 60_000);

  test('every 429 and 503 documents Retry-After, every 429 X-RateLimit-*', () => {
    const missing: string[] = [];
    for (const { op, at } of operations()) {
      for (const [status, answer] of Object.entries(op.responses ?? {})) {
        const wanted = [
          ...(status === '429' || status === '503' ? ['Retry-After'] : []),
          ...(status === '429' ? RATE_HEADERS : []),
        ];
        for (const header of wanted) {
          const doc = answer.headers?.[header];
          if (doc?.schema?.type !== 'integer' || !doc.description) {
            missing.push(`${at} ${status}: ${header}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    // The answer of a limit that is no key's or user's rate (here the login's).
    const login = spec.paths['/api/v1/auth/login']?.post?.responses?.['429'];
    expect(login?.headers?.['X-RateLimit-Limit']?.description).toContain('refused the request');
  });

  test("PostHog's refusal of the write rate is a 503 with the headers it documents", async () => {
    const one = { perSecond: 1, burst: 1 };
    const app = await makeAuthApp({ auth: { rates: { ...defaultAuthOptions.rates, write: one } } });
    try {
      const ada = await signUp(app, 'ada-posthog@example.com');
      await makeProject(app, ada.access_token, 'docs');
      const write = await makeKey(app, ada.access_token, 'docs', 'write');
      const capture = () =>
        app.call('POST', '/capture/', {
          body: { api_key: write.key, event: 'signup', distinct_id: 'u1' },
        });
      expect((await capture()).status).toBe(200);
      const refused = await capture();
      expect(refused.status).toBe(503);
      const documented = spec.paths['/capture/']?.post?.responses?.['503']?.headers ?? {};
      for (const header of ['Retry-After', ...RATE_HEADERS]) {
        expect({ header, sent: refused.headers.has(header) }).toEqual({ header, sent: true });
        expect(Object.keys(documented)).toContain(header);
      }
    } finally {
      await app.close();
    }
  });
});
