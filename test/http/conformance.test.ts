// Every operation of /openapi/json, sent its documented example and then seeded mutations of
// it (a field missing or of another JSON type, empty, long, NUL, a lone surrogate, deep
// nesting, numbers past their range, an odd query value, a path parameter with %2F, another
// Content-Type or Content-Encoding): no answer is a 5xx, each status is one the operation
// documents, and a native route's refusal has Tally's error shape. A failure names its seed;
// CONFORMANCE_SEED=<seed> repeats that run.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { operationsOf } from '../helpers/openapi.ts';
import { seededRandom } from '../helpers/random.ts';

const SEED = Number(process.env.CONFORMANCE_SEED ?? 20261128);
/** Mutations sent per operation (beyond its example): enough to cover, few enough to be fast. */
const MUTATIONS_PER_OPERATION = 5;

interface Media {
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Parameter extends Media {
  in: string;
  name: string;
  required?: boolean;
  schema?: Media;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, unknown>;
}

interface Sent {
  method: string;
  path: string;
  query: string[];
  headers: Record<string, string>;
  body?: string;
}

const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
const VALUES: unknown[] = [
  null,
  5,
  -1,
  0,
  2 ** 53 + 2,
  1.5,
  true,
  [],
  ['a'],
  {},
  '',
  ' ',
  'x'.repeat(70_000),
  'a\u0000b',
  'a\ud800b',
  '\u202eabc',
  '😀',
  'NaN',
  deep(300),
];
const WHOLE_BODIES = ['null', '[]', '5', '""', '{', '', 'hello', JSON.stringify(deep(5000))];
const QUERY_VALUES = [
  '',
  'x'.repeat(9000),
  '-1',
  '0',
  '9007199254740993',
  'NaN',
  '1e309',
  '%00',
  '%FF',
];
const PATH_VALUES = ['a%2Fb', 'x'.repeat(5000), 'a%00b', '%F0%9F%98%80', 'a%20b'];
const ENCODINGS: Record<string, string>[] = [
  { 'content-type': 'application/xml' },
  { 'content-type': ';;;' },
  { 'content-encoding': 'gzip' },
  { 'content-encoding': 'zzz' },
];

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await makeTestApp();
  const credentials = { email: 'ada@example.com', password: 'correct horse 1' };
  await t.post('/api/v1/auth/register', credentials);
  const login = await t.post('/api/v1/auth/login', credentials);
  token = ((await login.json()) as { access_token: string }).access_token;
  await t.post('/api/v1/projects', { id: 'p1', name: 'p1' }, { authorization: `Bearer ${token}` });
  await t.post('/api/v1/events', { event_id: 'e1', name: 'page_view', path: '/' });
});
afterAll(() => t.close());

const exampleOf = (m: Media): unknown =>
  m.example !== undefined ? m.example : Object.values(m.examples ?? {})[0]?.value;

/** The request of an operation's example: its body, its required query, `p1` in the path. */
function exampleRequest(method: string, path: string, op: Operation): Sent {
  const query: string[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in !== 'query' || !p.required) continue;
    const example = exampleOf(p) ?? exampleOf(p.schema ?? {}) ?? 'x';
    for (const one of [example].flat()) query.push(`${p.name}=${encodeURIComponent(`${one}`)}`);
  }
  const contents = op.requestBody?.content ?? {};
  const type = contents['application/json'] ? 'application/json' : Object.keys(contents)[0];
  const example = type === undefined ? undefined : exampleOf(contents[type] as Media);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (type !== undefined) headers['content-type'] = type;
  const body =
    example === undefined || typeof example === 'string' ? example : JSON.stringify(example);
  return {
    method: method.toUpperCase(),
    path: path.replace(/\{\w+\}/g, 'p1'),
    query,
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

/** One mutation of `base` drawn by `random`, and what it is. */
function mutated(base: Sent, op: Operation, random: () => number): [string, Sent] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const kinds: string[] = ['query'];
  let parsed: unknown;
  if (base.body !== undefined) {
    kinds.push('whole', 'encoding');
    try {
      parsed = JSON.parse(base.body);
    } catch {}
  }
  const target = Array.isArray(parsed) ? parsed[0] : parsed;
  const fields = target !== null && typeof target === 'object' ? Object.keys(target) : [];
  if (fields.length > 0) kinds.push('field', 'field', 'field');
  if ((op.parameters ?? []).some((p) => p.in === 'path')) kinds.push('path');
  switch (pick(kinds)) {
    case 'whole': {
      const body = pick(WHOLE_BODIES);
      return [`body ${body.slice(0, 20)}`, { ...base, body }];
    }
    case 'encoding': {
      const headers = pick(ENCODINGS);
      return [JSON.stringify(headers), { ...base, headers: { ...base.headers, ...headers } }];
    }
    case 'field': {
      const field = pick(fields);
      const value = random() < 0.2 ? undefined : pick(VALUES);
      const copy: Record<string, unknown> = { ...(target as object), [field]: value };
      if (value === undefined) delete copy[field];
      const body = JSON.stringify(Array.isArray(parsed) ? [copy] : copy);
      return [`${field}=${JSON.stringify(value)?.slice(0, 20)}`, { ...base, body }];
    }
    case 'path': {
      const value = pick(PATH_VALUES);
      const path = base.path.replace('p1', value);
      return [`path ${value.slice(0, 20)}`, { ...base, path }];
    }
    default: {
      const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const name = names.length > 0 && random() < 0.8 ? pick(names) : 'zz_unknown';
      const value = pick(QUERY_VALUES);
      const query = [...base.query.filter((q) => !q.startsWith(`${name}=`)), `${name}=${value}`];
      return [`?${name}=${value.slice(0, 20)}`, { ...base, query }];
    }
  }
}

/** A native route's refusal: `{detail, code}`, or a 422's `{detail: [{loc, msg, type}]}`. */
function hasTallyShape(status: number, body: unknown): boolean {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (status !== 422)
    return typeof detail === 'string' && typeof (body as { code?: unknown }).code === 'string';
  return (
    Array.isArray(detail) &&
    detail.every(
      (issue: { loc?: unknown; msg?: unknown; type?: unknown }) =>
        Array.isArray(issue.loc) && typeof issue.msg === 'string' && typeof issue.type === 'string',
    )
  );
}

const isNative = (path: string) =>
  (path.startsWith('/api/v1/') && !path.startsWith('/api/v1/stats/')) || path === '/health';

test('every operation answers its example and mutations of it as its document says', async () => {
  const random = seededRandom(SEED);
  const problems: string[] = [];
  const operations = await operationsOf<Operation>(t);
  expect(operations.length).toBeGreaterThan(100);
  for (const { method, path, op } of operations) {
    // Deleting the project or account, or ending the session, would change every later answer.
    if (method === 'delete' || /logout|users\/me$|\/live$|ws\/metrics/.test(path)) continue;
    const base = exampleRequest(method, path, op);
    const sends: [string, Sent][] = [['example', base]];
    for (let i = 0; i < MUTATIONS_PER_OPERATION; i++) sends.push(mutated(base, op, random));
    for (const [what, sent] of sends) {
      const query = sent.query.length > 0 ? `?${sent.query.join('&')}` : '';
      const res = await t.app.handle(
        new Request(`http://localhost${sent.path}${query}`, {
          method: sent.method,
          headers: sent.headers,
          ...(sent.body === undefined ? {} : { body: sent.body }),
        }),
      );
      const text = await res.text();
      const where = `${method.toUpperCase()} ${path} ${what}: ${res.status} ${text.slice(0, 120)}`;
      if (res.status >= 500) problems.push(`a 5xx: ${where}`);
      else if (op.responses?.[String(res.status)] === undefined) {
        problems.push(`undocumented: ${where}`);
      }
      if (res.status >= 400 && isNative(path)) {
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {}
        if (!hasTallyShape(res.status, body)) problems.push(`not Tally's shape: ${where}`);
      }
    }
  }
  if (problems.length > 0) console.log(`conformance: CONFORMANCE_SEED=${SEED}`);
  expect(problems).toEqual([]);
}, 60_000);
