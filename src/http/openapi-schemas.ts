// The schemas many request bodies and error answers hold alike (Tally's error bodies, the
// compat APIs' error bodies, an SDK's event object inside each of its batch bodies), written
// once in the OpenAPI document's components.schemas and named by `$ref` where each was. Swagger
// UI 5 at /openapi processes the document as ApiDOM elements, a cost that grows with the
// number of values in it: shared, the document went from 988 kB (30,800 values) to 756 kB
// (22,200), and the page's browser CPU time to render from about 9.8 s to 7.7 s (medians on a
// loaded 2-vCPU host). The schemas of 1xx and 2xx answers and of parameters stay where they
// are (what a client reads back is one look away). A reader of the document resolves each
// `$ref` as any OpenAPI 3.1 reader does. Doc only.

import { ErrorOut, openApiSchema, ValidationErrorOut } from './model.ts';

/** Where a shared schema is, as a `$ref` names it. */
export const SHARED_SCHEMAS_REF = '#/components/schemas/';

/** A schema shared only when its JSON is at least this long (a `{"type":"string"}` stays),
 * or known by name. */
const SHARED_SCHEMA_CHARS_MIN = 200;

/** Names for the schemas a reader knows by name; the others are named where first found. */
const KNOWN_NAMES: [name: string, json: string][] = [
  ['Error', JSON.stringify(openApiSchema(ErrorOut))],
  ['ValidationError', JSON.stringify(openApiSchema(ValidationErrorOut))],
];

type Json = unknown;
type Media = { schema?: Json };
type Answer = { $ref?: string; content?: Record<string, Media> };
type Operation = { requestBody?: Answer; responses?: Record<string, Answer> };
export type SchemaSharedDocument = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json>; responses?: Record<string, Answer> };
};

/** Whether the schemas of the answer with `status` are shared: errors and redirects only. */
export const sharesAnswerSchemas = (status: string) => !/^[12]/.test(status);

/** Each place a shared schema may be: a media type's schema and where it is (for a name). */
interface Place {
  media: Media;
  at: string;
}

/** The request bodies' and error answers' media types of `doc`, each with where it is. */
function placesOf(doc: SchemaSharedDocument): Place[] {
  const places: Place[] = [];
  const add = (answer: Answer | undefined, at: string) => {
    if (answer === undefined || answer.$ref !== undefined) return;
    for (const media of Object.values(answer.content ?? {})) {
      if (typeof media?.schema === 'object' && media.schema !== null) places.push({ media, at });
    }
  };
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(operations)) {
      if (typeof op !== 'object' || op === null) continue;
      const name = `${method}${path.replace(/[^A-Za-z0-9]+/g, '_')}`.replace(/_$/, '');
      add(op.requestBody, `${name}.body`);
      for (const [status, answer] of Object.entries(op.responses ?? {})) {
        if (sharesAnswerSchemas(status)) add(answer, `${name}.${status}`);
      }
    }
  }
  for (const [name, answer] of Object.entries(doc.components?.responses ?? {})) {
    if (sharesAnswerSchemas(name)) add(answer, name);
  }
  return places;
}

/** Keys whose value is a schema, a list of schemas, or schemas by name (JSON Schema 2020-12). */
const ONE = new Set(['items', 'additionalProperties', 'not', 'contains', 'propertyNames']);
const LIST = new Set(['anyOf', 'allOf', 'oneOf', 'prefixItems']);
const NAMED = new Set(['properties', 'patternProperties']);

/** `schema` with `f` applied to each schema it holds directly (not itself); the rest as is. */
function mapInner(schema: object, f: (inner: Json, at: string) => Json, at: string): object {
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]): [string, Json] => {
      if (typeof value !== 'object' || value === null) return [key, value];
      if (ONE.has(key)) return [key, f(value, `${at}.${key}`)];
      if (LIST.has(key) && Array.isArray(value)) {
        return [key, value.map((inner, i) => f(inner, `${at}.${key}${i}`))];
      }
      if (NAMED.has(key)) {
        const named = Object.entries(value).map(([k, v]) => [k, f(v, `${at}.${k}`)]);
        return [key, Object.fromEntries(named)];
      }
      return [key, value];
    }),
  );
}

/** Calls `f` on each schema in `schema`, itself included, with its JSON. */
function eachSchema(schema: Json, f: (json: string) => void): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
  f(JSON.stringify(schema));
  mapInner(schema, (inner) => eachSchema(inner, f), '');
}

/**
 * `doc` with each schema that request bodies and error answers hold twice or more (the same
 * JSON, at least SHARED_SCHEMA_CHARS_MIN long) in components.schemas, named there by `$ref`:
 * the outermost shared first, so a shared schema names the smaller ones it holds. A copy: the
 * plugin keeps its document between requests. Runs after shareAnswers.
 */
export function shareSchemas(doc: SchemaSharedDocument): SchemaSharedDocument {
  const copy = structuredClone(doc);
  const places = placesOf(copy);
  const known = new Set(KNOWN_NAMES.map(([, json]) => json));
  const uses = new Map<string, number>();
  for (const { media } of places) {
    eachSchema(media.schema, (json) => {
      if (json.length < SHARED_SCHEMA_CHARS_MIN && !known.has(json)) return;
      uses.set(json, (uses.get(json) ?? 0) + 1);
    });
  }
  const schemas: Record<string, Json> = { ...copy.components?.schemas };
  const nameOf = new Map<string, string>();
  for (const [name, json] of KNOWN_NAMES) {
    if ((uses.get(json) ?? 0) >= 2 && !(name in schemas)) nameOf.set(json, name);
  }
  const share = (schema: Json, at: string): Json => {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
    const json = JSON.stringify(schema);
    if ((uses.get(json) ?? 0) < 2) return mapInner(schema, share, at);
    let name = nameOf.get(json);
    if (name === undefined || !(name in schemas)) {
      name ??= freeName(at, schemas);
      nameOf.set(json, name);
      schemas[name] = {}; // taken before the schemas inside it are named
      schemas[name] = mapInner(schema, share, at);
    }
    return { $ref: `${SHARED_SCHEMAS_REF}${name}` };
  };
  for (const place of places) place.media.schema = share(place.media.schema, place.at);
  return { ...copy, components: { ...copy.components, schemas: withoutFragmentIds(schemas) } };
}

/**
 * `schemas` without the `$id` the plugin gives a model (`#/components/schemas/LiveServerMessage`):
 * JSON Schema 2020-12's `$id` must not hold a fragment, so the document was not valid OpenAPI
 * 3.1 (openapi-spec-validator said so). Each is named by `$ref` to where it is, as the others.
 */
function withoutFragmentIds(schemas: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const id = (schema as { $id?: unknown } | null)?.$id;
    if (typeof id === 'string' && id.startsWith('#')) {
      const { $id: _, ...rest } = schema as Record<string, Json>;
      out[name] = rest;
    } else out[name] = schema;
  }
  return out;
}

/** `at` as a component name (letters, digits, `.`, `-`, `_`), made unique in `taken`. */
function freeName(at: string, taken: Record<string, Json>): string {
  const base = at.replace(/[^A-Za-z0-9._-]+/g, '_');
  let name = base;
  for (let i = 2; name in taken; i++) name = `${base}-${i}`;
  return name;
}
