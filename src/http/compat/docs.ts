// OpenAPI documentation of the compatibility routes, built from a few parts: a request body in
// the content types its handler reads, with an example the route accepts, and answers in the
// shape each API's clients expect. Doc only: these routes read and check their bodies by hand,
// so nothing here validates a request.

import { type IntegerOptions, Type } from '@sinclair/typebox';
import { type TSchema, t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { ErrorOut, openApiSchema, ValidationErrorOut } from '../model.ts';

export type ResponseDocs = Record<number, OpenAPIV3.ResponseObject>;

/** The error body schema of an API for one status. */
export type ErrorSchemaOf = (status: number) => TSchema;

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
    content: {
      'application/json': { schema: openApiSchema(schema), example },
      'text/plain': { schema: openApiSchema(schema), example: JSON.stringify(example) },
    },
  };
}

/** A JSON answer: its schema and, when given, an example of a real one. */
export function jsonAnswer(
  description: string,
  schema: TSchema,
  example?: unknown,
): OpenAPIV3.ResponseObject {
  const media: OpenAPIV3.MediaTypeObject = { schema: openApiSchema(schema) };
  if (example !== undefined) media.example = example;
  return { description, content: { 'application/json': media } };
}

/** Error answers, one per status, each with the API's error body for that status. */
export function errorAnswers(
  statuses: Record<number, string>,
  schemaOf: ErrorSchemaOf,
): ResponseDocs {
  const docs: ResponseDocs = {};
  for (const [status, description] of Object.entries(statuses)) {
    docs[Number(status)] = jsonAnswer(description, schemaOf(Number(status)));
  }
  return docs;
}

/** What the error statuses of an ingest route mean, whatever the body shape. */
export const INGEST_ERROR_TEXT = {
  badJson: 'Malformed JSON',
  noKey: 'AUTH_MODE=required: no write key (or site alias), or an unknown or revoked key',
  forbidden: 'AUTH_MODE=required: this key or site alias may not write to that tenant',
  tooLarge: 'Body or event over its size limit',
  mediaType: 'Unsupported Content-Type or Content-Encoding',
  invalid: 'Validation failed; nothing was written',
  busy: "The key's rate limit, or the tenant's backlog is full; see Retry-After",
  overloaded: 'Overloaded or shutting down; see Retry-After',
} as const;

/** FastAPI's shapes (the reference services): 422 lists field issues, others say what failed. */
export const fastApiError: ErrorSchemaOf = (status) =>
  status === 422 ? ValidationErrorOut : ErrorOut;

/** Errors of the reference services' ingest routes (seeds 000, 002, 003, 004). */
export function fastApiIngestErrors(): ResponseDocs {
  const e = INGEST_ERROR_TEXT;
  return errorAnswers(
    {
      400: e.badJson,
      401: e.noKey,
      403: e.forbidden,
      413: e.tooLarge,
      415: e.mediaType,
      422: e.invalid,
      429: e.busy,
      503: e.overloaded,
    },
    fastApiError,
  );
}

/** Errors of the reference services' reads: a bad parameter, and the checks of required mode. */
export function fastApiReadErrors(extra: Record<number, string> = {}): ResponseDocs {
  return errorAnswers(
    {
      401: 'AUTH_MODE=required: no bearer token (a JWT or a read key), or an unknown one',
      403: 'AUTH_MODE=required: these credentials may not read that tenant',
      422: 'A parameter breaks its rule',
      429: "The key's or user's read rate limit; see Retry-After",
      ...extra,
    },
    fastApiError,
  );
}

/**
 * A JSON integer. Elysia's t.Integer also takes numeric text (for query strings), which is not
 * what a JSON body or answer holds.
 */
export function jsonInteger(options?: IntegerOptions) {
  return Type.Integer(options);
}

/** A write key as the examples show one (any key works in AUTH_MODE=open). */
export const EXAMPLE_WRITE_KEY = 'wk_3fK9c0Qx_a1B7mZ2pR8sTqW4';

/** Any JSON object (properties, traits, payloads): open, values of any type. */
export function openObject(description?: string) {
  return t.Record(t.String(), t.Unknown(), description === undefined ? {} : { description });
}
