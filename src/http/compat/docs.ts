// OpenAPI documentation of the compatibility routes, built from a few parts: a request body in
// the content types its handler reads, with an example the route accepts, and answers in the
// shape each API's clients expect. Doc only: these routes read and check their bodies by hand,
// so nothing here validates a request.

import { type IntegerOptions, Type } from '@sinclair/typebox';
import { type TSchema, t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { errorDocs, ingestErrorDocs, jsonOrTextContent, readErrorDocs } from '../openapi-docs.ts';

// The shared fragments, for the compatibility routes to take from one place.
export {
  type ErrorSchemaOf,
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonOrTextContent,
  type ResponseDocs,
  SLOW_BODY_TEXT,
} from '../openapi-docs.ts';

const JSON_BODY_NOTE =
  'JSON. `text/plain` is read as JSON too (browser beacons send it to skip the CORS ' +
  'preflight); `Content-Encoding: gzip` is inflated within the size limit.';

/** The body of a route that reads JSON or JSON sent as text/plain (body.ts JSON_TYPES). */
export function jsonRequestBody(
  schema: TSchema,
  example: unknown,
  description = JSON_BODY_NOTE,
): OpenAPIV3.RequestBodyObject {
  return {
    required: true,
    description,
    content: jsonOrTextContent(schema, example),
  };
}

const FASTAPI_BODY_NOTE =
  'JSON: `application/json` or any `application/*+json` (as FastAPI reads them; another ' +
  'type is its 422, the body being no object). ' +
  JSON_BODY_NOTE.slice('JSON. '.length);

/**
 * The body of a seed service's route (body.ts FASTAPI_JSON_TYPES): JSON as FastAPI takes it,
 * any `application/*+json` too, and text/plain as on every ingest route.
 */
export function fastApiRequestBody(schema: TSchema, example: unknown) {
  const body = jsonRequestBody(schema, example, FASTAPI_BODY_NOTE);
  const json = body.content['application/json'];
  return { ...body, content: { ...body.content, 'application/*+json': { ...json } } };
}

/**
 * Errors of the reference services' ingest routes (seeds 000, 002, 003, 004): another
 * Content-Type is FastAPI's 422 there (fastapi.ts readFastApiBody), a 415 only the encoding.
 */
export function fastApiIngestErrors() {
  return {
    ...ingestErrorDocs(),
    ...errorDocs({ 415: 'Unsupported Content-Encoding (another Content-Type is a 422)' }),
  };
}

/** Errors of the reference services' reads: a bad parameter, and the checks of required mode. */
export const fastApiReadErrors = readErrorDocs;

/**
 * A JSON integer. Elysia's t.Integer also takes numeric text (for query strings), which is not
 * what a JSON body or answer holds.
 */
export function jsonInteger(options?: IntegerOptions) {
  return Type.Integer(options);
}

/** A write key as the examples show one (any key works in AUTH_MODE=open). */
export const EXAMPLE_WRITE_KEY = 'wk_3fK9c0Qx_a1B7mZ2pR8sTqW4';

/** A query parameter of a compatibility read, documented as text. */
export function queryParam(
  name: string,
  description: string,
  required = false,
  example?: string,
): OpenAPIV3.ParameterObject {
  const param: OpenAPIV3.ParameterObject = {
    name,
    in: 'query',
    required,
    description,
    schema: { type: 'string' },
  };
  if (example !== undefined) param.example = example;
  return param;
}

/** Any JSON object (properties, traits, payloads): open, values of any type. */
export function openObject(description?: string) {
  return t.Record(t.String(), t.Unknown(), description === undefined ? {} : { description });
}
