// The page cursor: the longest one encodeCursor can produce fits cursorCharsMax exactly, so the
// `cursor` parameter takes every cursor a page hands out.

import { describe, expect, test } from 'bun:test';
import { EPOCH_MS_MAX, EPOCH_MS_MIN, eventLimits } from '../../src/core/index.ts';
import { decodeCursor, encodeCursor } from '../../src/query/cursor.ts';
import { cursorCharsMax } from '../../src/query/index.ts';

const idOf = (unit: string) => unit.repeat(eventLimits.eventIdCharsMax);

/** Event ids of the most JSON bytes per UTF-16 unit: escaped ones (6), then a BMP character. */
const LONG_IDS = {
  control: idOf('\u0001'),
  quote: idOf('"'),
  loneSurrogate: idOf('\ud800'),
  cjk: idOf('一'),
  astral: idOf('😀').slice(0, eventLimits.eventIdCharsMax),
};

describe('page cursors', () => {
  test('the cursor of the longest ids at the earliest and latest instants fits', () => {
    const instants = [BigInt(EPOCH_MS_MIN) * 1000n, BigInt(EPOCH_MS_MAX) * 1000n + 999n];
    const lengths: number[] = [];
    for (const us of instants.map(String)) {
      for (const receivedUs of instants.map(String)) {
        for (const id of Object.values(LONG_IDS)) {
          const cursor = encodeCursor({ us, id, receivedUs });
          lengths.push(cursor.length);
          expect(decodeCursor(cursor)).toEqual({ us, id, receivedUs });
        }
      }
    }
    // Escaped control characters at year 0000 (a minus sign) are the worst case, and meet it.
    expect(Math.max(...lengths)).toBe(cursorCharsMax);
    const earliest = String(instants[0]);
    const earliestControl = encodeCursor({
      us: earliest,
      id: LONG_IDS.control,
      receivedUs: earliest,
    });
    expect(earliestControl.length).toBe(cursorCharsMax);
    // A cursor of the pair alone, as handed out before receipts were in it, still reads.
    const pair = encodeCursor({ us: earliest, id: 'x' });
    expect(decodeCursor(pair)).toEqual({ us: earliest, id: 'x' });
  });
});
