// Reads a request body within limits before anything parses it: a declared or streamed size
// over the limit is refused with 413 as soon as it is known, one that takes too long to arrive
// with 408 (body-bytes.ts), and a gzip body is inflated only up to the limit (a gzip bomb never
// costs more than `bytesMax` of memory).

import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { AppError, eventLimits, requestLimits } from '../core/index.ts';
import { readWithin, tooLarge } from './body-bytes.ts';

export type BodyFormat = 'json' | 'ndjson' | 'text';

/** A body as read: how to parse it (`F`: the formats a route maps its types to) and its bytes. */
export interface BodyRead<F extends string = BodyFormat> {
  format: F;
  bytes: Buffer;
}

/** Content types each ingest route takes, mapped to how its body is parsed. */
export const JSON_TYPES: Record<string, BodyFormat> = {
  'application/json': 'json',
  'text/plain': 'json', // browser beacons send JSON as text/plain to avoid a CORS preflight
};

export const JSON_OR_NDJSON_TYPES: Record<string, BodyFormat> = {
  ...JSON_TYPES,
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

/**
 * The key of an `accepted` map that takes every `application/<subtype>+json` (RFC 6839's
 * structured syntax suffix): `application/vnd.api+json`, `application/merge-patch+json`.
 */
const SUFFIXED_JSON = 'application/*+json';

/** The key of an `accepted` map that takes every media type the map names not otherwise. */
export const ANY_MEDIA_TYPE = '*/*';

/**
 * What the seed services (FastAPI apps) read as JSON: FastAPI parses a body as JSON when its
 * media type is `application/json` or ends in `+json` (fastapi/routing.py checks the subtype).
 * `text/plain` stays as on every Tally ingest route. The native API keeps JSON_TYPES.
 */
export const FASTAPI_JSON_TYPES: Record<string, BodyFormat> = {
  ...JSON_TYPES,
  [SUFFIXED_JSON]: 'json',
};

/** How readBody takes a declared charset (BodyOptions). */
export interface BodyOptions {
  /**
   * Any charset is taken (and ignored): the FastAPI seed routes, whose services never read it
   * (Starlette hands the bytes to json.loads). Else one Tally cannot read is a 415.
   */
  anyCharset?: true;
  /**
   * The body is one event, `bytesMax` its limit: measured as an NDJSON line is (eventBytesOf),
   * without a byte order mark before it or a line end after it.
   */
  oneEvent?: true;
}

/** A UTF-8 byte order mark and a CRLF line end: around one event, not counted as its bytes. */
const EVENT_FRAMING_BYTES = 3 + 2;

export async function readBody<F extends string>(
  request: Request,
  accepted: Record<string, F>,
  bytesMax: number,
  options: BodyOptions = {},
): Promise<BodyRead<F>> {
  const contentType = request.headers.get('content-type');
  const format = formatOf(contentType, accepted);
  if (options.anyCharset !== true) requireReadableCharset(contentType);
  // Bytes read at most: one event's body may hold a byte order mark and a line end besides.
  const readMax = bytesMax + (options.oneEvent === true ? EVENT_FRAMING_BYTES : 0);
  const raw = await readWithin(request, readMax, bytesMax);
  // Every coding listed is a gzip (codingsOf), so the order they are undone in is moot.
  let bytes = raw;
  const gzips = codingsOf(request.headers.get('content-encoding')).length;
  for (let i = 0; i < gzips; i++) bytes = gunzipLimited(bytes, readMax, bytesMax);
  if (options.oneEvent === true && eventBytesOf(bytes) > bytesMax) {
    throw tooLarge(bytesMax, gzips > 0 ? 'decompressed ' : '');
  }
  return { format, bytes };
}

/**
 * The bytes of the one event a body holds, counted as an NDJSON line's (lineBytes): without a
 * byte order mark or a final line end (a file sent with `curl --data-binary`), which made an
 * event of the limit's size a 413 sent alone, while taken as an NDJSON line.
 */
function eventBytesOf(bytes: Buffer): number {
  return lineBytes(bytes, 0, bytes.at(-1) === 0x0a ? bytes.length - 1 : bytes.length);
}

/**
 * The gzip codings a Content-Encoding list names, `identity` (no coding) left out: `gzip`,
 * `GZIP`, `x-gzip` and `gzip, identity` are one gzip; 415 naming any other coding, or more
 * than requestLimits.contentCodingsMax gzips.
 */
function codingsOf(header: string | null): string[] {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  const unknown = codings.find((coding) => coding !== 'gzip' && coding !== 'x-gzip');
  if (unknown !== undefined) {
    throw new AppError(
      'unsupported_media_type',
      `Content-Encoding ${unknown} is not supported; send identity or gzip`,
    );
  }
  if (codings.length > requestLimits.contentCodingsMax) {
    throw new AppError(
      'unsupported_media_type',
      `Content-Encoding names ${codings.length} gzip codings ` +
        `(at most ${requestLimits.contentCodingsMax})`,
    );
  }
  return codings;
}

/** The format `accepted` maps the media type to, matched case-insensitively (RFC 9110 §8.3.1). */
export function formatOf<F extends string>(header: string | null, accepted: Record<string, F>): F {
  const type = (header ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  const suffixed = type.startsWith('application/') && type.endsWith('+json');
  const format =
    accepted[type] ?? (suffixed ? accepted[SUFFIXED_JSON] : undefined) ?? accepted[ANY_MEDIA_TYPE];
  if (format === undefined) {
    throw new AppError(
      'unsupported_media_type',
      `Content-Type ${type || '(empty)'} is not supported here; ` +
        `send ${Object.keys(accepted).join(', ')}`,
    );
  }
  return format;
}

/**
 * Charsets a body is read in as UTF-8: UTF-8 itself, and those that write ASCII text as UTF-8
 * does (US-ASCII, the ISO 8859 and Windows code pages), as clients that declare ISO-8859-1
 * send ASCII JSON; a byte of theirs that is not UTF-8 is the 400 of any body not UTF-8.
 */
const READ_AS_UTF8 = new RegExp(
  '^(utf[-_]?8|(us[-_]?)?ascii|iso[-_]?8859[-_]\\d{1,2}(:\\d{4})?|latin[-_]?1|l1|' +
    '(windows|cp)[-_]?125\\d)$',
);

/**
 * A 415 naming the charset the Content-Type declares when Tally cannot read it (UTF-16,
 * UTF-32, EBCDIC, …): JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), and such a
 * body read as UTF-8 was a 400 naming a character it never held ("Unrecognized token '\0'").
 */
function requireReadableCharset(header: string | null): void {
  if (header === null) return;
  for (const parameter of header.split(';').slice(1)) {
    const at = parameter.indexOf('=');
    if (at === -1 || parameter.slice(0, at).trim().toLowerCase() !== 'charset') continue;
    const charset = parameter
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (!READ_AS_UTF8.test(charset.toLowerCase())) {
      throw new AppError(
        'unsupported_media_type',
        `Content-Type charset ${charset || '(empty)'} is not supported: ` +
          'bodies are read as UTF-8 (RFC 8259); send charset=utf-8, or none',
      );
    }
  }
}

/** Inflates gzip up to `readMax` bytes (413 naming the limit `bytesMax` beyond; 400 if broken). */
export function gunzipLimited(raw: Buffer, readMax: number, bytesMax = readMax): Buffer {
  try {
    return gunzipSync(raw, { maxOutputLength: readMax });
  } catch (error) {
    if (
      error instanceof RangeError ||
      (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
    ) {
      throw tooLarge(bytesMax, 'decompressed ');
    }
    throw new AppError('bad_request', 'the body is not valid gzip', { cause: error });
  }
}

/**
 * A JSON.parse reviver; its third argument carries a primitive's source text (ES2025, as Bun
 * implements it), e.g. a number's digits as sent.
 */
export type JsonReviver = (
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
) => unknown;

/**
 * Parses a JSON body; malformed JSON is a 400 that says where it broke, and so is a body over
 * the event limit nesting deeper than `requestLimits.jsonDepthMax`.
 */
export function parseJson(bytes: Buffer, reviver?: JsonReviver): unknown {
  // Measured as the event limit measures one event: a body taken as one is not checked.
  if (eventBytesOf(bytes) > eventLimits.eventBytesMax) {
    requireDepthWithin(bytes, 0, bytes.length, 'the body');
  }
  if (!isUtf8(bytes)) throw notUtf8('the body');
  const text = bytes.toString('utf8', bomBytes(bytes));
  try {
    return JSON.parse(text, reviver);
  } catch (error) {
    // JSON.parse names a blank body 'Unexpected EOF', which reads as a body cut short.
    if (JSON_BLANK.test(text)) {
      throw new AppError('invalid_json', 'the body is empty (or only whitespace): send JSON');
    }
    const why = notJsonSpace(text) ?? (error as Error).message;
    throw new AppError('invalid_json', `the body is not valid JSON: ${why}`);
  }
}

/**
 * The 400 of a body that is not UTF-8. Decoded anyway, each bad byte would become U+FFFD: text
 * changed without a word, and two event_ids that differ there would be one id (a duplicate).
 */
function notUtf8(what: string): AppError {
  return new AppError('invalid_json', `${what} is not valid UTF-8 (JSON must be)`);
}

/**
 * 3 when `bytes` begin with a UTF-8 byte order mark, else 0. RFC 8259 lets a parser ignore one,
 * and the FastAPI services Tally replaces do (Python reads JSON bytes as utf-8-sig); some
 * Windows tools write one.
 */
export function bomBytes(bytes: Buffer): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * One pass over `bytes` from `start` to `end` counting `[`/`{` nesting outside strings; a 400
 * naming `what` past `requestLimits.jsonDepthMax`.
 */
function requireDepthWithin(bytes: Buffer, start: number, end: number, what: string): void {
  const depthMax = requestLimits.jsonDepthMax;
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > depthMax) {
        throw new AppError(
          'invalid_json',
          `${what} nests arrays and objects more than ${depthMax} levels deep`,
        );
      }
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
      depth--;
    }
  }
}

/**
 * Parses NDJSON, one value per non-empty line. A line longer than `lineBytesMax` is refused
 * before it is parsed, and so is a line nesting deeper than `requestLimits.jsonDepthMax`,
 * whatever the body's size: each line is within the event limit, so a body over it skipped the
 * check a JSON body over it gets, and the same event was stored from NDJSON but refused (400)
 * in a JSON batch.
 */
export function parseNdjson(bytes: Buffer, lineBytesMax: number, itemsMax: number): unknown[] {
  const items: unknown[] = [];
  let start = 0;
  let line = 0;
  // One pass over the whole body; lines are looked at one by one only to name the bad one.
  const utf8 = isUtf8(bytes);
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end === -1) end = bytes.length;
    line++;
    if (lineBytes(bytes, start, end) > lineBytesMax) {
      throw linesTooLarge(bytes, start, line, lineBytesMax);
    }
    if (!utf8 && !isUtf8(bytes.subarray(start, end))) throw notUtf8(`NDJSON line ${line}`);
    requireDepthWithin(bytes, start, end, `NDJSON line ${line}`);
    const text = bytes.toString('utf8', start === 0 ? bomBytes(bytes) : start, end);
    start = end + 1;
    if (JSON_BLANK.test(text)) continue;
    if (items.length === itemsMax) {
      throw AppError.validation([
        {
          loc: ['body', 'events'],
          msg: `a batch holds at most ${itemsMax} events`,
          type: 'too_long',
        },
      ]);
    }
    try {
      items.push(JSON.parse(text));
    } catch (error) {
      throw new AppError(
        'invalid_json',
        `NDJSON line ${line} is not valid JSON: ${notJsonSpace(text) ?? (error as Error).message}`,
      );
    }
  }
  return items;
}

/** A line of JSON whitespace only (RFC 8259 §2: space, tab, CR, LF): skipped, as ndjson lets. */
const JSON_BLANK = /^[ \t\r\n]*$/;

/**
 * What is wrong with a body or NDJSON line that fails to parse for a character around its
 * value that JavaScript counts as space but JSON does not (a no-break space, U+2028, a byte
 * order mark after the body's start): JSON.parse names it as an invisible "Unrecognized token".
 */
function notJsonSpace(text: string): string | undefined {
  const value = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  const char = /^\s/.test(value) ? value[0] : /\s$/.test(value) ? value.at(-1) : undefined;
  if (char === undefined) return undefined;
  const code = `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return (
    `${code} is not JSON whitespace (only space, tab, CR and LF are; a byte order mark ` +
    'only at the very start of the body)'
  );
}

/**
 * The bytes of the event on the NDJSON line from `start` to `end` (its LF left out): without
 * the CR of a CRLF line end, nor the byte order mark before the first line. Counted, they made
 * a line holding an event of the limit's size a 413 when written on Windows.
 */
function lineBytes(bytes: Buffer, start: number, end: number): number {
  const cr = end > start && bytes[end - 1] === 0x0d ? 1 : 0;
  const bom = start === 0 ? bomBytes(bytes) : 0;
  return end - start - cr - bom;
}

/**
 * The 413 of an NDJSON body whose line `line` (starting at byte `start`) is over the limit,
 * naming it and every later line over it too (found without parsing): a batch is refused
 * whole, so the client learns of each such line at once, not one per attempt.
 */
function linesTooLarge(bytes: Buffer, start: number, line: number, lineBytesMax: number) {
  const over: number[] = [];
  for (let at = start, n = line; at < bytes.length; n++) {
    let end = bytes.indexOf(10, at);
    if (end === -1) end = bytes.length;
    if (lineBytes(bytes, at, end) > lineBytesMax) over.push(n);
    at = end + 1;
  }
  const which = over.length === 1 ? `line ${line} is` : `lines ${over.join(', ')} are`;
  return new AppError(
    'payload_too_large',
    `NDJSON ${which} larger than the ${lineBytesMax}-byte event limit`,
  );
}
