// OpenAPI fragments every route module builds its `detail` from: JSON content and answers, and
// error answers in Tally's shapes (STYLE.md: 422 lists field issues, others say what failed).
// Doc only: nothing here validates a request or an answer.

import type { TSchema } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { requestLimits } from '../core/index.ts';
import { ErrorOut, openApiSchema, ValidationErrorOut } from './model.ts';

export type ResponseDocs = Record<number, OpenAPIV3.ResponseObject>;

/** The error body schema of an API for one status. */
export type ErrorSchemaOf = (status: number) => TSchema;

/** A JSON body or answer: its schema and, when given, an example. */
export function jsonContent(schema: TSchema, example?: unknown) {
  const media: OpenAPIV3.MediaTypeObject = { schema: openApiSchema(schema) };
  if (example !== undefined) media.example = example;
  return { 'application/json': media };
}

/**
 * A body read as JSON (body.ts JSON_TYPES): sent as JSON, or as text/plain, as a browser
 * beacon sends it to skip the CORS preflight; the example in each.
 */
export function jsonOrTextContent(schema: TSchema, example: unknown) {
  return {
    'application/json': { schema: openApiSchema(schema), example },
    'text/plain': { schema: openApiSchema(schema), example: JSON.stringify(example) },
  };
}

/** A JSON answer: its schema and, when given, an example of a real one. */
export function jsonAnswer(
  description: string,
  schema: TSchema,
  example?: unknown,
): OpenAPIV3.ResponseObject {
  return { description, content: jsonContent(schema, example) };
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

/** A read's 422, shown with the answer to a path parameter over its length limit. */
export function longParamDocs(param: string, charsMax: number): ResponseDocs {
  const issue = {
    loc: ['path', param],
    msg: `${param}: Expected string length less or equal to ${charsMax}`,
    type: 'value_error',
  };
  const description = `A parameter breaks its rule, e.g. ${param} over ${charsMax} characters`;
  return { 422: jsonAnswer(description, ValidationErrorOut, { detail: [issue] }) };
}

/** Tally's error bodies (FastAPI's): field issues for 422, `{detail, code}` otherwise. */
const tallyError: ErrorSchemaOf = (status) => (status === 422 ? ValidationErrorOut : ErrorOut);

/** Error answers in Tally's shapes. */
export function errorDocs(statuses: Record<number, string>): ResponseDocs {
  return errorAnswers(statuses, tallyError);
}

/**
 * The 408 of every route that reads a body (body-bytes.ts): it did not arrive whole within
 * requestLimits.bodyReadTimeoutMs. Nothing the body asked for is done.
 */
export const SLOW_BODY_TEXT =
  `The body did not arrive whole within ${requestLimits.bodyReadTimeoutMs / 1000} s ` +
  '(the connection is closed)';

/** What the error statuses of an ingest route mean, whatever the body shape. */
export const INGEST_ERROR_TEXT = {
  badJson: 'Malformed JSON',
  noKey: 'AUTH_MODE=required: no write key (or site alias), or an unknown or revoked key',
  forbidden:
    'AUTH_MODE=required: a read key or access token, or a key or site alias that may not ' +
    'write to that tenant',
  tooLarge: 'Body or event over its size limit',
  slowBody: `${SLOW_BODY_TEXT}; nothing was written`,
  mediaType: 'Unsupported Content-Type (or its charset) or Content-Encoding',
  invalid: 'Validation failed; nothing was written',
  busy: "The project's rate limit, or the tenant's backlog is full; see Retry-After",
  overloaded: 'Overloaded, shutting down, or the tenant is being deleted; see Retry-After',
} as const;

/** Every refusal an ingest route can answer, in Tally's shapes. */
export function ingestErrorDocs(): ResponseDocs {
  const e = INGEST_ERROR_TEXT;
  return errorDocs({
    400: e.badJson,
    401: e.noKey,
    403: e.forbidden,
    408: e.slowBody,
    413: e.tooLarge,
    415: e.mediaType,
    422: e.invalid,
    429: e.busy,
    503: e.overloaded,
  });
}

/** Every refusal a read route can answer: a bad parameter, and the checks of required mode. */
export function readErrorDocs(extra: Record<number, string> = {}): ResponseDocs {
  return errorDocs({
    400: 'The query string is not percent-encoded UTF-8 (`name=%FF`, a bare `%`) or holds a `#`',
    401: 'AUTH_MODE=required: no bearer token (a JWT or a read key), or an unknown one',
    403: 'AUTH_MODE=required: these credentials may not read that tenant',
    422: 'A parameter breaks its rule',
    429:
      "The project's (read keys) or user's (JWT) read rate limit, or the tenant's reads " +
      'running and waiting at once (tenant_overloaded); see Retry-After',
    ...extra,
  });
}

/** OpenAPI responses of a read: `ok` (and its example) as 200, every refusal (plus `errors`). */
export function readAnswers(
  ok: TSchema,
  description: string,
  example: unknown,
  errors: Record<number, string> = {},
): ResponseDocs {
  return { 200: jsonAnswer(description, ok, example), ...readErrorDocs(errors) };
}
