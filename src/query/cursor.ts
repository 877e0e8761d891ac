// The opaque cursor of event and metric lists: the exact timestamp (µs) and event_id of the
// last item of a page, base64url JSON. Pages follow (timestamp desc, event_id asc), so the
// next page is everything strictly after that pair: keyset pagination, no offset.

import { AppError } from '../core/index.ts';

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
