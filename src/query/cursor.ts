// The opaque cursor of event and metric lists: the exact timestamp (µs), event_id and receipt
// (µs) of the last item of a page, base64url JSON. Pages follow (timestamp desc, event_id asc,
// received_at asc), so the next page is everything strictly after that key: keyset pagination,
// no offset. The receipt tells apart two events of one id and time (an id sent again after its
// dedup window); a cursor without it (handed out before it was added) continues after the
// pair, as it did.

import { AppError, EPOCH_MS_MAX, EPOCH_MS_MIN, eventLimits } from '../core/index.ts';

/** The microseconds a stored timestamp can have: years 0000 to 9999. */
const US_MIN = BigInt(EPOCH_MS_MIN) * 1000n;
const US_MAX = BigInt(EPOCH_MS_MAX) * 1000n + 999n;

/**
 * UTF-8 bytes of JSON one UTF-16 unit of an event_id takes at most: a control character or a
 * lone surrogate is written as `\uXXXX` (6 bytes); any other unit takes 3 at most (a BMP
 * character), a surrogate pair 4 for its two.
 */
const JSON_BYTES_PER_ID_UNIT_MAX = 6;
/** `["<us>","<id>","<received us>"]` without the values: brackets, six quotes, two commas. */
const JSON_FRAME_BYTES = 10;
const US_CHARS_MAX = Math.max(String(US_MIN).length, String(US_MAX).length);
const CURSOR_JSON_BYTES_MAX =
  JSON_FRAME_BYTES + 2 * US_CHARS_MAX + JSON_BYTES_PER_ID_UNIT_MAX * eventLimits.eventIdCharsMax;

/**
 * Characters of the longest cursor `encodeCursor` can produce (unpadded base64url: 4 per 3
 * bytes): the `cursor` parameter must take it, or a page after an event with a long non-ASCII
 * id could not be reached.
 */
export const cursorCharsMax = Math.ceil((CURSOR_JSON_BYTES_MAX * 4) / 3);

export interface PageCursor {
  /** Epoch microseconds of the last item's timestamp, as a decimal string (exact). */
  us: string;
  id: string;
  /** Epoch microseconds of its received_at (exact); absent in a cursor made before it was. */
  receivedUs?: string | undefined;
}

export function encodeCursor(cursor: PageCursor): string {
  const key = [cursor.us, cursor.id];
  if (cursor.receivedUs !== undefined) key.push(cursor.receivedUs);
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Whether `value` is an instant a stored event can have, as decimal epoch microseconds. */
function isInstantUs(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    /^-?\d{1,20}$/.test(value) &&
    BigInt(value) >= US_MIN &&
    BigInt(value) <= US_MAX
  );
}

export function decodeCursor(text: string): PageCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      (value.length === 2 || (value.length === 3 && isInstantUs(value[2]))) &&
      isInstantUs(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return value.length === 2
        ? { us: value[0], id: value[1] }
        : { us: value[0], id: value[1], receivedUs: value[2] };
    }
  } catch {
    // Not base64url JSON: reported below like any other malformed cursor.
  }
  throw AppError.validation([
    {
      loc: ['query', 'cursor'],
      msg: 'cursor is not a cursor this API returned (pass next_cursor unchanged)',
      type: 'value_error',
    },
  ]);
}
