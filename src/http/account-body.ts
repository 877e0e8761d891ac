// Reads the body of an account route (auth, users, projects) by the rules of every other route
// (body.ts): the media type is matched case-insensitively, any other type or encoding is a 415,
// gzip is inflated within the limit, malformed JSON is a 400 saying where it broke. Elysia's
// own parser is off on these routes (`parse: 'none'`): it follows none of these rules.

import { isUtf8 } from 'node:buffer';
import { AppError, requestLimits } from '../core/index.ts';
import { parseJson, readBody } from './body.ts';
import { formFieldBytes } from './form-urlencoded.ts';
import { errorDocs, type ResponseDocs, SLOW_BODY_TEXT } from './openapi-docs.ts';

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
  if (format === 'form') return formFields(bytes);
  if (format === 'multipart') return multipartFields(bytes, request.headers.get('content-type'));
  return parseJson(bytes);
}

/**
 * The fields of a urlencoded form (the last of a repeated one). A name or value whose bytes
 * (escaped, `%FF`, or raw) are not UTF-8 is a 400, as malformed JSON is: decoded anyway it
 * would be U+FFFD, another password or token than the one sent.
 */
function formFields(bytes: Buffer): Record<string, string> {
  const fields: [string, string][] = [];
  for (const [name, value] of formFieldBytes(bytes)) {
    if (!isUtf8(name)) throw notUtf8Form('a field name');
    const text = name.toString('utf8');
    if (!isUtf8(value)) throw notUtf8Form(`the field ${text.slice(0, QUOTED_NAME_CHARS_MAX)}`);
    fields.push([text, value.toString('utf8')]);
  }
  return Object.fromEntries(fields);
}

/** Characters of a field's name a refusal quotes at most. */
const QUOTED_NAME_CHARS_MAX = 64;

function notUtf8Form(what: string): AppError {
  return new AppError(
    'bad_request',
    `the form body is not valid: ${what} is not UTF-8 (each %XX escape is a byte, and the ` +
      'bytes must spell UTF-8; send % itself as %25)',
  );
}

/**
 * The text fields of a multipart/form-data body (the last of a repeated one; files ignored). A
 * text field whose bytes are not UTF-8 is a 400, as in a urlencoded form: FormData decodes them
 * as U+FFFD. Its bytes are not at hand: in a body that is not UTF-8 (a file's bytes need not
 * be), a field holding U+FFFD is refused unless the body holds the field's text in UTF-8.
 */
async function multipartFields(bytes: Buffer, contentType: string | null) {
  const headers = { 'content-type': contentType ?? '' };
  const body = new Blob([new Uint8Array(bytes)]);
  const form = await new Response(body, { headers }).formData().catch((error: unknown) => {
    throw new AppError('bad_request', `the body is not valid multipart/form-data: ${error}`);
  });
  const utf8 = isUtf8(bytes);
  const fields: [string, string][] = [];
  form.forEach((value, name) => {
    if (typeof value !== 'string') return;
    if (!utf8 && (decodedBadBytes(bytes, name) || decodedBadBytes(bytes, value))) {
      throw notUtf8Multipart(name, decodedBadBytes(bytes, name));
    }
    fields.push([name, value]);
  });
  return Object.fromEntries(fields);
}

/** U+FFFD, what a decoder makes of bytes that are not UTF-8. */
const REPLACEMENT = '\uFFFD';

/** Whether `text` of `body` holds a U+FFFD that was not sent as one (its UTF-8 is absent). */
function decodedBadBytes(body: Buffer, text: string): boolean {
  return text.includes(REPLACEMENT) && !body.includes(Buffer.from(text, 'utf8'));
}

function notUtf8Multipart(name: string, inName: boolean): AppError {
  const what = inName ? 'a field name' : `the field ${name.slice(0, QUOTED_NAME_CHARS_MAX)}`;
  return new AppError(
    'bad_request',
    `the multipart/form-data body is not valid: ${what} is not UTF-8 (send each text field ` +
      'in UTF-8)',
  );
}

/** What readAccountBody refuses, for the OpenAPI answers of each route that reads a body. */
export function accountBodyDocs(): ResponseDocs {
  return errorDocs({
    400: 'Malformed JSON',
    408: SLOW_BODY_TEXT,
    413: `Body over ${requestLimits.accountBodyBytesMax} bytes`,
    415: 'Unsupported Content-Type (or its charset) or Content-Encoding',
  });
}
