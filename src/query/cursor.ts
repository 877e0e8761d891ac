// The opaque cursor of event and metric lists: the exact timestamp (µs) and event_id of the
// last item of a page, base64url JSON. Pages follow (timestamp desc, event_id asc), so the
// next page is everything strictly after that pair: keyset pagination, no offset.

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
/** `["<us>","<id>"]` without the two values: brackets, four quotes and a comma. */
const JSON_FRAME_BYTES = 7;
const US_CHARS_MAX = Math.max(String(US_MIN).length, String(US_MAX).length);
const CURSOR_JSON_BYTES_MAX =
  JSON_FRAME_BYTES + US_CHARS_MAX + JSON_BYTES_PER_ID_UNIT_MAX * eventLimits.eventIdCharsMax;

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
}

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.us, cursor.id])).toString('base64url');
}

export function decodeCursor(text: string): PageCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      /^-?\d{1,20}$/.test(value[0]) &&
      BigInt(value[0]) >= US_MIN &&
      BigInt(value[0]) <= US_MAX &&
      typeof value[1] === 'string'
    ) {
      return { us: value[0], id: value[1] };
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
