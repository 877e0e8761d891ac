// Reads the body of an account route (auth, users, projects) by the rules of every other route
// (body.ts): the media type is matched case-insensitively, any other type or encoding is a 415,
// gzip is inflated within the limit, malformed JSON is a 400 saying where it broke. Elysia's
// own parser is off on these routes (`parse: 'none'`): it follows none of these rules.

import { requestLimits } from '../core/index.ts';
import { parseJson, readBody } from './body.ts';
import { errorDocs, type ResponseDocs } from './openapi-docs.ts';

type AccountFormat = 'json' | 'form';

const JSON_ONLY: Record<string, AccountFormat> = { 'application/json': 'json' };
/** OAuth2 token requests (login, refresh, logout) are forms (RFC 6749 §4.3.2, §6). */
const JSON_OR_FORM: Record<string, AccountFormat> = {
  ...JSON_ONLY,
  'application/x-www-form-urlencoded': 'form',
};

export interface AccountBodyOptions {
  /** Also take `application/x-www-form-urlencoded`, read as a record of its fields. */
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
  return parseJson(bytes);
}

/** What readAccountBody refuses, for the OpenAPI answers of each route that reads a body. */
export function accountBodyDocs(): ResponseDocs {
  return errorDocs({
    400: 'Malformed JSON',
    413: `Body over ${requestLimits.accountBodyBytesMax} bytes`,
    415: 'Unsupported Content-Type or Content-Encoding',
  });
}
