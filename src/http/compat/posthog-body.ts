// Reading a PostHog capture body in every form its SDKs send: JSON or text/plain JSON, gzip by
// Content-Encoding (posthog-node) or by `?compression=gzip-js` (posthog-js), base64, or a form
// with a `data` field. Every form is bounded: inflating stops at the body limit.

import { AppError } from '../../core/index.ts';
import { type BodyFormat, gunzipLimited, parseJson, readBody } from '../body.ts';
import { formFieldBytes } from '../form-urlencoded.ts';

const CAPTURE_TYPES: Record<string, BodyFormat> = {
  'application/json': 'json',
  'text/plain': 'json',
  'application/x-www-form-urlencoded': 'text',
};

/** The parsed JSON of a capture request, whatever its encoding. */
export async function readCaptureBody(request: Request, bytesMax: number): Promise<unknown> {
  const body = await readBody(request, CAPTURE_TYPES, bytesMax);
  const compression = new URL(request.url).searchParams.get('compression');
  let bytes = body.bytes;
  let base64 = compression === 'base64';
  if (body.format === 'text') {
    const data = formField(bytes, 'data');
    if (data === null) throw new AppError('bad_request', 'a form body must have a data field');
    bytes = data;
    base64 = base64 || !/^\s*[[{]/.test(data.toString('latin1'));
  }
  if (base64) bytes = Buffer.from(bytes.toString('utf8'), 'base64');
  // Inflated once, as PostHog's capture does: by Content-Encoding (readBody) when it names gzip,
  // even with `?compression=gzip-js` beside it; a body still gzip is inflated whatever it says.
  const inflated = /gzip/i.test(request.headers.get('content-encoding') ?? '');
  if ((compression === 'gzip-js' && !inflated) || isGzip(bytes)) {
    bytes = gunzipLimited(bytes, bytesMax);
  }
  return parseJson(bytes);
}

/**
 * The bytes of the first field `name` of a form, its escapes decoded. Bytes, not text:
 * URLSearchParams would turn an escape that is not UTF-8 (`%FF`) into U+FFFD, which
 * parseJson's UTF-8 check would then never see.
 */
function formField(bytes: Buffer, name: string): Buffer | null {
  const field = formFieldBytes(bytes).find(([n]) => n.toString('latin1') === name);
  return field === undefined ? null : field[1];
}

/** Gzip's magic bytes: a body still compressed after Content-Encoding was handled. */
function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
