// Reads the body of an account route (auth, users, projects) by the rules of every other route
// (body.ts): the media type is matched case-insensitively, any other type or encoding is a 415,
// gzip is inflated within the limit, malformed JSON is a 400 saying where it broke. Elysia's
// own parser is off on these routes (`parse: 'none'`): it follows none of these rules.

import { AppError, requestLimits } from '../core/index.ts';
import { parseJson, readBody } from './body.ts';
import { errorDocs, type ResponseDocs } from './openapi-docs.ts';

type AccountFormat = 'json' | 'form' | 'multipart';

const JSON_ONLY: Record<string, AccountFormat> = { 'application/json': 'json' };
/**
 * OAuth2 token requests (login, refresh, logout) are forms (RFC 6749 §4.3.2, §6); FastAPI's
 * OAuth2PasswordRequestForm also reads multipart, which `fetch` sends for a `FormData`.
 */
const JSON_OR_FORM: Record<string, AccountFormat> = {
  ...JSON_ONLY,
  'application/x-www-form-urlencoded': 'form',
  'multipart/form-data': 'multipart',
};

export interface AccountBodyOptions {
  /** Also take forms (urlencoded or multipart), read as a record of their text fields. */
  form?: boolean;
}

/**
 * The body of an account route: a parsed JSON value, a form as a record of its fields (the
 * last of a repeated field), or undefined when the request has none. What the value must be is
 * the route's to check.
 */
export async function readAccountBody(
  request: Request,
  options: AccountBodyOptions = {},
): Promise<unknown> {
  const accepted = options.form === true ? JSON_OR_FORM : JSON_ONLY;
  const { format, bytes } = await readBody(request, accepted, requestLimits.accountBodyBytesMax);
  if (bytes.length === 0) return undefined;
  if (format === 'form') return Object.fromEntries(new URLSearchParams(bytes.toString('utf8')));
  if (format === 'multipart') return multipartFields(bytes, request.headers.get('content-type'));
  return parseJson(bytes);
}

/** The text fields of a multipart/form-data body (the last of a repeated one; files ignored). */
async function multipartFields(bytes: Buffer, contentType: string | null) {
  const headers = { 'content-type': contentType ?? '' };
  const body = new Blob([new Uint8Array(bytes)]);
  const form = await new Response(body, { headers }).formData().catch((error: unknown) => {
    throw new AppError('bad_request', `the body is not valid multipart/form-data: ${error}`);
  });
  const fields: [string, string][] = [];
  form.forEach((value, name) => {
    if (typeof value === 'string') fields.push([name, value]);
  });
  return Object.fromEntries(fields);
}

/** What readAccountBody refuses, for the OpenAPI answers of each route that reads a body. */
export function accountBodyDocs(): ResponseDocs {
  return errorDocs({
    400: 'Malformed JSON',
    413: `Body over ${requestLimits.accountBodyBytesMax} bytes`,
    415: 'Unsupported Content-Type (or its charset) or Content-Encoding',
  });
}
