// Reading a PostHog capture body in every form its SDKs send: JSON or text/plain JSON, gzip by
// Content-Encoding (posthog-node) or by `compression=gzip-js` (posthog-js), lz-string's base64
// by `compression=lz64` (older posthog-js), base64, or a form with a `data` field; or, as
// PostHog's capture reads it before any body, a `data` query parameter (a GET, as older
// posthog-js sent one where a browser had no XMLHttpRequest, and as an `<img>` pixel does). The
// compression is named as PostHog's capture reads it: in the query, else in the form's own
// `compression` field (where older posthog-js puts it). Every form is bounded: decompressing
// stops at the body limit.

import { AppError } from '../../core/index.ts';
import { type BodyFormat, gunzipLimited, parseJson, readBody } from '../body.ts';
import { tooLarge } from '../body-bytes.ts';
import { formFieldBytes } from '../form-urlencoded.ts';
import { lz64Decode } from './lz-string.ts';

const CAPTURE_TYPES: Record<string, BodyFormat> = {
  'application/json': 'json',
  'text/plain': 'json',
  'application/x-www-form-urlencoded': 'text',
};

type Compression = 'gzip' | 'lz64' | 'base64';

/** The names PostHog's capture takes for each compression, in any case. */
const COMPRESSIONS: Record<string, Compression> = {
  gzip: 'gzip',
  'gzip-js': 'gzip',
  lz64: 'lz64',
  'lz-string': 'lz64',
  base64: 'base64',
  b64: 'base64',
};

/** The parsed JSON of a capture request, whatever its encoding. */
export async function readCaptureBody(request: Request, bytesMax: number): Promise<unknown> {
  return parseJson(await readCaptureJson(request, bytesMax));
}

/** The JSON bytes of a capture request, decoded from whatever encoding it came in. */
export async function readCaptureJson(request: Request, bytesMax: number): Promise<Buffer> {
  const url = new URL(request.url);
  let compression = compressionOf(url.searchParams.get('compression'));
  const queried = queryData(url);
  if (queried !== null) {
    if (queried.length > bytesMax) throw tooLarge(bytesMax);
    const data = dataFieldOf(queried, compression);
    return decoded(data.bytes, compression, data.base64, false, bytesMax);
  }
  const body = await readBody(request, CAPTURE_TYPES, bytesMax);
  let bytes = body.bytes;
  let base64 = compression === 'base64';
  if (body.format === 'text') {
    const fields = formFieldBytes(bytes);
    const data = formField(fields, 'data');
    if (data === null) throw new AppError('bad_request', 'a form body must have a data field');
    compression ??= compressionOf(formField(fields, 'compression')?.toString('latin1') ?? null);
    const field = dataFieldOf(data, compression);
    bytes = field.bytes;
    base64 = field.base64;
  }
  // Inflated once, as PostHog's capture does: by Content-Encoding (readBody) when it names gzip,
  // even with `?compression=gzip-js` beside it; a body still gzip is inflated whatever it says.
  const inflated = /gzip/i.test(request.headers.get('content-encoding') ?? '');
  return decoded(bytes, compression, base64, inflated, bytesMax);
}

/**
 * The query's `data`, its escapes decoded to bytes, when it holds any: PostHog's capture takes
 * a non-empty one in place of the body, whatever the method.
 */
function queryData(url: URL): Buffer | null {
  if (!url.searchParams.has('data')) return null;
  const data = formField(formFieldBytes(Buffer.from(url.search.slice(1), 'latin1')), 'data');
  return data === null || data.length === 0 ? null : data;
}

/**
 * A `data` field (a form's or the query's): JSON as sent, or else base64 (or lz64 when named
 * so), a `+` sent unescaped, which reads as a space, restored as PostHog's capture does.
 */
function dataFieldOf(
  data: Buffer,
  compression: Compression | null,
): { bytes: Buffer; base64: boolean } {
  const text = data.toString('latin1');
  const plain = /^\s*[[{]/.test(text);
  const bytes = plain ? data : Buffer.from(text.replaceAll(' ', '+'), 'latin1');
  return { bytes, base64: compression !== 'lz64' && (compression === 'base64' || !plain) };
}

/** `bytes` undone of their compression and base64; `inflated`: gzip already undone. */
function decoded(
  bytes: Buffer,
  compression: Compression | null,
  base64: boolean,
  inflated: boolean,
  bytesMax: number,
): Buffer {
  if (compression === 'lz64') return lz64Bytes(bytes, bytesMax);
  let json = base64 ? Buffer.from(bytes.toString('utf8'), 'base64') : bytes;
  if ((compression === 'gzip' && !inflated) || isGzip(json)) json = gunzipLimited(json, bytesMax);
  return json;
}

/** A compression PostHog names, or null (none, or one it does not know: read as none). */
function compressionOf(name: string | null): Compression | null {
  return name === null ? null : (COMPRESSIONS[name.toLowerCase()] ?? null);
}

/**
 * The UTF-8 of an lz64 body (413 past `bytesMax`, decoded or encoded); 400 for text that is no
 * Unicode (a lone surrogate), which PostHog's capture refuses too (`String::from_utf16`).
 */
function lz64Bytes(base64: Buffer, bytesMax: number): Buffer {
  const text = lz64Decode(base64, bytesMax);
  if (!text.isWellFormed()) {
    throw new AppError('bad_request', 'the lz64 body decodes to text that is not valid UTF-16');
  }
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > bytesMax) throw tooLarge(bytesMax, 'decompressed ');
  return bytes;
}

/**
 * The bytes of the first field `name` of a form, its escapes decoded. Bytes, not text:
 * URLSearchParams would turn an escape that is not UTF-8 (`%FF`) into U+FFFD, which
 * parseJson's UTF-8 check would then never see.
 */
function formField(fields: [Buffer, Buffer][], name: string): Buffer | null {
  const field = fields.find(([n]) => n.toString('latin1') === name);
  return field === undefined ? null : field[1];
}

/** Gzip's magic bytes: a body still compressed after Content-Encoding was handled. */
function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
