// /openapi/json (issue 2, point 14) describes every route with its schema and examples: each
// operation has a summary; each success with a body documents its schema and an example; each
// request body has an example; each error has a schema. Every example fits its own schema,
// checked by TypeBox over the schema as the document spells it (objects closed unless they say
// otherwise, so an example's undocumented field fails too). A path parameter over its length
// limit, and a malformed or wrong-typed body, are refused with a status the operation documents.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { FormatRegistry, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { startingAnswer } from '../../src/http/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { type FoundOperation, operationsOf } from '../helpers/openapi.ts';

/** The JSON Schema keywords /openapi/json uses (TypeBox's, and OpenAPI 3.0's `nullable`). */
interface JsonSchema {
  type?: string;
  const?: string | number | boolean;
  enum?: (string | number | boolean)[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  maxLength?: number;
  [keyword: string]: unknown;
}
interface Media {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Parameter {
  in: string;
  name: string;
  schema?: JsonSchema;
}
interface Operation {
  operationId?: string;
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}
type Found = FoundOperation<Operation>;

// OpenAPI's `binary` (a file's bytes, e.g. a Parquet export): its example is a placeholder text.
FormatRegistry.Set('binary', () => true);

let t: TestApp;
let operations: Found[];
beforeAll(async () => {
  t = await makeTestApp();
  operations = await operationsOf<Operation>(t);
});
afterAll(() => t.close());

const nameOf = ({ method, path }: Found) => `${method.toUpperCase()} ${path}`;
const hasExample = (media: Media) => media.example !== undefined || media.examples !== undefined;

/** What `found` leaves undocumented, as readable lines. */
function undocumented(found: Found): string[] {
  const { op } = found;
  const where = nameOf(found);
  const problems = op.summary ? [] : [`${where}: no summary`];
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    if (media.schema === undefined) problems.push(`${where} body ${type}: no schema`);
    if (!hasExample(media)) problems.push(`${where} body ${type}: no example`);
  }
  const answers = Object.entries(op.responses ?? {});
  if (answers.length === 0) problems.push(`${where}: no responses`);
  for (const [status, answer] of answers) {
    const success = status.startsWith('2');
    if (!answer.description) problems.push(`${where} ${status}: no description`);
    if (!success && answer.content === undefined) problems.push(`${where} ${status}: no schema`);
    for (const [type, media] of Object.entries(answer.content ?? {})) {
      if (media.schema === undefined) problems.push(`${where} ${status} ${type}: no schema`);
      if (success && !hasExample(media)) problems.push(`${where} ${status} ${type}: no example`);
    }
  }
  return problems;
}

/**
 * A TypeBox schema allowing what the JSON Schema `s` allows. An object with properties that
 * does not say otherwise is closed (as test/http/reads.test.ts checks real answers).
 */
function typeBoxOf(s: JsonSchema): TSchema {
  const { type, anyOf, properties, required = [], items, patternProperties, ...rest } = s;
  const { additionalProperties: extra = properties === undefined, ...options } = rest;
  if (anyOf !== undefined) return Type.Union(anyOf.map(typeBoxOf), options);
  if (s.const !== undefined) return Type.Literal(s.const);
  if (s.enum !== undefined) return Type.Union(s.enum.map((v) => Type.Literal(v)));
  switch (type) {
    case 'object': {
      if (patternProperties !== undefined) {
        const value = Object.values(patternProperties)[0] as JsonSchema;
        return Type.Record(Type.String(), typeBoxOf(value), options);
      }
      const fields = Object.entries(properties ?? {}).map(([key, field]) => {
        const inner = typeBoxOf(field);
        return [key, required.includes(key) ? inner : Type.Optional(inner)] as const;
      });
      const additionalProperties = typeof extra === 'boolean' ? extra : typeBoxOf(extra);
      return Type.Object(Object.fromEntries(fields), { ...options, additionalProperties });
    }
    case 'array':
      return Type.Array(items === undefined ? Type.Unknown() : typeBoxOf(items), options);
    case 'string':
      return Type.String(options);
    case 'integer':
      return Type.Integer(options);
    case 'number':
      return Type.Number(options);
    case 'boolean':
      return Type.Boolean(options);
    case 'null':
      return Type.Null(options);
    default:
      return Type.Unknown();
  }
}

/** The values an example of `type` stands for: NDJSON is one per line, JSON text is parsed. */
function valuesOf(type: string, example: unknown): unknown[] {
  if (typeof example !== 'string') return [example];
  if (type === 'application/x-www-form-urlencoded') {
    return [Object.fromEntries(new URLSearchParams(example))];
  }
  if (type === 'application/x-ndjson' || type === 'application/jsonl') {
    return example.split('\n').map((l) => JSON.parse(l));
  }
  if (type === 'text/plain' && /^[[{]/.test(example)) return [JSON.parse(example)];
  return [example];
}

/** Where the examples of `media` break its schema, as readable lines. */
function misfits(where: string, type: string, media: Media): string[] {
  if (media.schema === undefined) return [];
  const checker = TypeCompiler.Compile(typeBoxOf(media.schema));
  const examples = [
    ...(media.example === undefined ? [] : [media.example]),
    ...Object.values(media.examples ?? {}).map((e) => e.value),
  ];
  return examples
    .flatMap((example) => valuesOf(type, example))
    .flatMap((value) => [...checker.Errors(value)])
    .map((e) => `${where} ${type}: ${e.path || '/'} ${e.message}`);
}

describe('/openapi/json documents every operation with schemas and examples', () => {
  test('a summary, a schema and an example for each success and body, a schema per error', () => {
    expect(operations.length).toBeGreaterThan(60);
    expect(operations.flatMap(undocumented)).toEqual([]);
  });

  test('each operation has its own operationId (client generators name methods by it)', () => {
    expect(operations.filter((o) => o.op.operationId === undefined).map(nameOf)).toEqual([]);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(operations.find((o) => o.path === '/api/v1/live')?.op.operationId).toBe('getApiV1Live');
  });

  test('each operation but /health documents its 503 while the store opens', async () => {
    const missing = operations.filter(
      (o) => o.path !== '/health' && o.op.responses?.['503'] === undefined,
    );
    expect(missing.map(nameOf)).toEqual([]);
    const stats = operations.find((o) => o.path === '/api/v1/stats' && o.method === 'get');
    const example = stats?.op.responses?.['503']?.content?.['application/json']?.example;
    const answer = startingAnswer(new Request('http://localhost/api/v1/stats'), 1);
    expect(example).toEqual(await answer.json());
  });

  test('every route the app serves is an operation of the document', () => {
    // Hidden by choice: the document, its UI and the dashboard's pages (detail.hide); and the
    // CORS preflights (OPTIONS), which the browser sends, never a client.
    const served = t.app.routes.filter(
      (r) => r.method !== 'OPTIONS' && (r.hooks.detail as { hide?: boolean })?.hide !== true,
    );
    const documented = new Set(operations.map(nameOf));
    const missing = served
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
    expect(documented).toContain('GET /array/{token}/config.js');
    // Only the document, its UI and the dashboard are hidden: an API route is never left out
    // to suit a viewer (PostHog's capture GETs were, while Swagger UI seemed not to render).
    const hidden = t.app.routes
      .filter((r) => (r.hooks.detail as { hide?: boolean })?.hide === true)
      .map((r) => `${r.method} ${r.path}`)
      .filter((name) => !/^GET \/(openapi|docs$|redoc$|api\/v1\/docs$|dashboard)/.test(name));
    expect(hidden).toEqual([]);
    expect(documented).toContain('GET /capture/');
  });

  test('an answer operations give alike is written once, in components.responses', async () => {
    // Written out in every operation they made the document 2.1 MB, which Swagger UI took
    // 10-20 s to render (openapi-shared.ts). Each fetch names only answers it holds.
    for (const fetched of [0, 1]) {
      const spec = (await (await t.get('/openapi/json')).json()) as {
        paths: Record<string, Record<string, { responses?: Record<string, { $ref?: string }> }>>;
        components: { responses?: Record<string, unknown> };
      };
      const shared = spec.components.responses ?? {};
      const written = new Map<string, string>();
      const repeated: string[] = [];
      const dangling: string[] = [];
      for (const [path, ops] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const [status, answer] of Object.entries(op.responses ?? {})) {
            const at = `${fetched}: ${method} ${path} ${status}`;
            if (answer.$ref !== undefined) {
              const name = answer.$ref.replace('#/components/responses/', '');
              if (shared[name] === undefined) dangling.push(`${at}: ${answer.$ref}`);
              continue;
            }
            const json = JSON.stringify(answer);
            const first = written.get(json);
            if (first !== undefined) repeated.push(`${at} as ${first}`);
            else written.set(json, at);
          }
        }
      }
      expect(repeated).toEqual([]);
      expect(dangling).toEqual([]);
      expect(Object.keys(shared).length).toBeGreaterThan(20);
    }
  });

  test('each tag of the document has operations, and each operation only declared tags', async () => {
    const spec = (await (await t.get('/openapi/json')).json()) as { tags: { name: string }[] };
    const declared = spec.tags.map((tag) => tag.name);
    const used = new Set(operations.flatMap((o) => (o.op as { tags?: string[] }).tags ?? []));
    // Swagger UI lists a declared tag without operations as an empty section.
    expect(declared.filter((name) => !used.has(name))).toEqual([]);
    expect([...used].filter((name) => !declared.includes(name))).toEqual([]);
  });

  test('the parameters a route documents by hand are all in the document', () => {
    const documented = new Map(operations.map((o) => [nameOf(o), o.op.parameters ?? []]));
    const missing: string[] = [];
    for (const route of t.app.routes) {
      const detail = route.hooks.detail as { parameters?: Parameter[] } | undefined;
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const shown = documented.get(`${route.method.toUpperCase()} ${path}`);
      if (detail?.parameters === undefined || shown === undefined) continue;
      for (const p of detail.parameters) {
        const found = shown.some((s) => s.name === p.name && s.in === p.in);
        if (!found) missing.push(`${route.method} ${path}: ${p.in} ${p.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('the SQL endpoint documents both limits that set truncated: rows and their size', () => {
    // Its description and its field said the row limit alone; rows past 16M characters of JSON
    // are cut too (README).
    const found = operations.find((o) => o.method === 'post' && o.path === '/api/v1/query');
    const op = found?.op as { description?: string } | undefined;
    expect(op?.description).toContain('16M characters of JSON rows');
    const schema = found?.op.responses?.['200']?.content?.['application/json']?.schema as {
      properties?: Record<string, { description?: string }>;
    };
    expect(schema?.properties?.truncated?.description).toContain('size limit');
  });

  test('the event list and the export document bots, which they take', () => {
    for (const path of ['/api/v1/events', '/api/v1/export']) {
      const found = operations.find((o) => o.method === 'get' && o.path === path);
      const bots = found?.op.parameters?.find((p) => p.in === 'query' && p.name === 'bots');
      expect(bots?.schema?.enum).toEqual(['include', 'exclude']);
    }
  });

  test('a query parameter of choices keeps its description and examples', () => {
    // The plugin writes a union of literals (bots, bucket, a funnel's by …) as a bare enum,
    // dropping what the route's schema says of it: which default, what each choice means.
    const lost: string[] = [];
    for (const route of t.app.routes) {
      const query = (route.hooks as { query?: { properties?: Record<string, JsonSchema> } }).query;
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const found = operations.find((o) => nameOf(o) === `${route.method.toUpperCase()} ${path}`);
      if (query?.properties === undefined || found === undefined) continue;
      for (const [name, schema] of Object.entries(query.properties)) {
        const shown = found.op.parameters?.find((p) => p.in === 'query' && p.name === name);
        const kept = {
          description: shown?.schema?.description,
          examples: shown?.schema?.examples ?? schema.examples,
        };
        const wanted = { description: schema.description, examples: schema.examples };
        if (JSON.stringify(kept) !== JSON.stringify(wanted)) lost.push(`${nameOf(found)} ${name}`);
      }
    }
    expect(lost).toEqual([]);
  });

  test('every example fits its schema', () => {
    const problems: string[] = [];
    for (const found of operations) {
      const { op } = found;
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        problems.push(...misfits(`${nameOf(found)} body`, type, media));
      }
      for (const [status, answer] of Object.entries(op.responses ?? {})) {
        for (const [type, media] of Object.entries(answer.content ?? {})) {
          problems.push(...misfits(`${nameOf(found)} ${status}`, type, media));
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('a path parameter over its length limit gets a documented refusal', async () => {
    const problems: string[] = [];
    for (const found of operations) {
      const limited = (found.op.parameters ?? []).filter(
        (p) => p.in === 'path' && p.schema?.maxLength !== undefined,
      );
      for (const param of limited) {
        const tooLong = 'x'.repeat((param.schema?.maxLength as number) + 1);
        const path = found.path.replace(/\{(\w+)\}/g, (_, name: string) =>
          name === param.name ? tooLong : 'p1',
        );
        const method = found.method.toUpperCase();
        const body = method === 'POST' ? '{}' : undefined;
        const headers = { 'content-type': 'application/json' };
        const request = new Request(`http://localhost${path}`, { method, headers, body });
        const res = await t.app.handle(request);
        const documented = Object.keys(found.op.responses ?? {});
        if (res.status !== 422 || !documented.includes('422')) {
          problems.push(`${nameOf(found)} ${param.name}: ${res.status}, documented ${documented}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('a path parameter with broken percent-encoding gets a documented 400', async () => {
    const problems: string[] = [];
    for (const found of operations.filter((o) => o.path.includes('{'))) {
      const path = found.path.replace(/\{\w+\}/g, '100%');
      const method = found.method.toUpperCase();
      const request = new Request(`http://localhost${path}`, { method });
      const res = await t.app.handle(request);
      const documented = Object.keys(found.op.responses ?? {});
      if (res.status !== 400 || !documented.includes('400')) {
        problems.push(`${nameOf(found)}: ${res.status}, documented ${documented}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('a malformed or wrong-typed body gets a refusal its operation documents', async () => {
    const token = await ownerOfProject('p1');
    const problems: string[] = [];
    for (const found of operations.filter((o) => o.op.requestBody !== undefined)) {
      const types = Object.keys(found.op.requestBody?.content ?? {});
      const type = types.includes('application/json') ? 'application/json' : (types[0] as string);
      const path = found.path.replace(/\{\w+\}/g, 'p1');
      const documented = Object.keys(found.op.responses ?? {});
      for (const [what, body] of [
        ['malformed', '{"name":'],
        ['wrong-typed', '5'],
      ] as const) {
        const headers = { 'content-type': type, authorization: `Bearer ${token}` };
        const method = found.method.toUpperCase();
        const request = new Request(`http://localhost${path}`, { method, headers, body });
        const res = await t.app.handle(request);
        if (res.status < 400 || !documented.includes(String(res.status))) {
          problems.push(`${nameOf(found)} ${what}: ${res.status}, documented ${documented}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

/** Signs a user up and in, makes them the owner of project `id`; their access token. */
async function ownerOfProject(id: string): Promise<string> {
  const credentials = { email: 'owner@example.com', password: 'correct horse 1' };
  expect((await t.post('/api/v1/auth/register', credentials)).status).toBe(201);
  const login = await t.post('/api/v1/auth/login', credentials);
  const token = ((await login.json()) as { access_token: string }).access_token;
  const auth = { authorization: `Bearer ${token}` };
  expect((await t.post('/api/v1/projects', { id, name: id }, auth)).status).toBe(201);
  return token;
}
