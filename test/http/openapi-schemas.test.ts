// The schemas request bodies and error answers hold alike are written once in
// components.schemas (openapi-schemas.ts), and every `$ref` of the document names something it
// holds: what Swagger UI at /openapi renders, and any OpenAPI 3.1 reader resolves.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openApiSchema, ValidationErrorOut } from '../../src/http/model.ts';
import { shareSchemas, sharesAnswerSchemas } from '../../src/http/openapi-schemas.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { inlineSharedAnswers } from '../helpers/openapi.ts';

type Media = { schema?: unknown };
type Answer = { $ref?: string; content?: Record<string, Media> };
type Spec = {
  paths: Record<
    string,
    Record<string, { requestBody?: Answer; responses?: Record<string, Answer> }>
  >;
  components: { schemas?: Record<string, unknown>; responses?: Record<string, Answer> };
};

let t: TestApp;

beforeAll(async () => {
  t = await makeTestApp();
});

afterAll(() => t.close());

const LIVE_MESSAGE = /^#\/components\/schemas\/Live(Server|Client)Message$/;

/** `schema` with each `$ref` to a shared schema of `spec` written in its place. */
function deref(spec: Spec, schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return schema;
  if (Array.isArray(schema)) return schema.map((item) => deref(spec, item));
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') return deref(spec, resolve(spec, ref));
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, deref(spec, v)]));
}

const fetchSpec = async () => (await (await t.get('/openapi/json')).json()) as Spec;

/** Every `$ref` in `value`, with where it is. */
function refsOf(value: unknown, at: string, out: [string, string][] = []): [string, string][] {
  if (typeof value !== 'object' || value === null) return out;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) refsOf(item, `${at}/${i}`, out);
    return out;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$ref' && typeof inner === 'string') out.push([at, inner]);
    else if (key !== 'example' && key !== 'examples') refsOf(inner, `${at}/${key}`, out);
  }
  return out;
}

/** What the JSON pointer `ref` (a local `#/...`) names in `doc`, or undefined. */
function resolve(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let at: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

describe('/openapi/json shared schemas', () => {
  test('every $ref names something the document holds (fetched twice)', async () => {
    for (const fetched of [0, 1]) {
      const spec = await fetchSpec();
      const refs = refsOf(spec, '#');
      expect(refs.length).toBeGreaterThan(100);
      // The live protocol's messages are components of the live routes, which a test app
      // (no live hub) has not; the server's document holds them (test/live/ws-auth.test.ts).
      const dangling = refs.filter(
        ([, ref]) => resolve(spec, ref) === undefined && !LIVE_MESSAGE.test(ref),
      );
      expect([fetched, dangling]).toEqual([fetched, []]);
      // Component names as OpenAPI 3.1 allows them.
      for (const kind of ['schemas', 'responses'] as const) {
        const names = Object.keys(spec.components[kind] ?? {});
        expect(names.filter((n) => !/^[a-zA-Z0-9.\-_]+$/.test(n))).toEqual([]);
      }
    }
  });

  test('a schema bodies and errors hold alike is written once, Tally’s errors by name', async () => {
    // Written out in each place, the document was 988 kB with some 30,800 values; Swagger UI's
    // ApiDOM took a fifth more CPU time to render it.
    const spec = await fetchSpec();
    const written = new Map<string, string>();
    const repeated: string[] = [];
    const check = (answer: Answer | undefined, at: string) => {
      for (const [type, media] of Object.entries(answer?.content ?? {})) {
        const json = JSON.stringify(media.schema);
        if (json === undefined || json.length < 200) continue;
        const first = written.get(json);
        if (first !== undefined) repeated.push(`${at} ${type} as ${first}`);
        else written.set(json, `${at} ${type}`);
      }
    };
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        check(op.requestBody, `${method} ${path} body`);
        for (const [status, answer] of Object.entries(op.responses ?? {})) {
          if (sharesAnswerSchemas(status)) check(answer, `${method} ${path} ${status}`);
        }
      }
    }
    expect(repeated).toEqual([]);
    const schemas = spec.components.schemas ?? {};
    expect(deref(spec, schemas.ValidationError)).toEqual(
      JSON.parse(JSON.stringify(openApiSchema(ValidationErrorOut))),
    );
    expect(schemas.Error).toEqual({
      type: 'object',
      required: ['detail', 'code'],
      properties: { detail: { type: 'string' }, code: { type: 'string' } },
    });
    const stats = spec.paths['/api/v1/stats']?.get?.responses?.['422'];
    const named = stats?.$ref ? resolve(spec, stats.$ref) : stats;
    expect((named as Answer).content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/ValidationError',
    });
  });

  test('the helper tests read schemas through writes each shared schema in its place', async () => {
    const spec = inlineSharedAnswers(await fetchSpec());
    const refs = refsOf(spec.paths, '#/paths').map(([, ref]) => ref);
    // Only the live protocol's messages stay named (their reader checks the name).
    expect(refs.filter((ref) => !LIVE_MESSAGE.test(ref))).toEqual([]);
    const body = spec.paths['/api/v1/events']?.post?.requestBody?.content?.['application/json'];
    expect(body?.schema).toMatchObject({ type: 'object', required: ['name'] });
  });

  test('a component schema has no $id with a fragment (invalid in OpenAPI 3.1)', () => {
    // The plugin gives a model (the live protocol's messages) `$id: '#/components/schemas/…'`;
    // a test app has no live routes, so the step is given such a document.
    const message = { type: 'object', $id: '#/components/schemas/LiveServerMessage' };
    const plain = { type: 'string', $id: 'https://example.com/plain' };
    const doc = { paths: {}, components: { schemas: { LiveServerMessage: message, plain } } };
    const shared = shareSchemas(doc);
    expect(shared.components?.schemas).toEqual({
      LiveServerMessage: { type: 'object' },
      plain: { type: 'string', $id: 'https://example.com/plain' },
    });
    expect(message.$id).toBe('#/components/schemas/LiveServerMessage'); // the plugin's, whole
  });
});
