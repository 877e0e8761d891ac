// The time windows a newest-first page of events is read in. A page wants the newest events of
// a range, and the tenant's segments are per UTC day: reading the whole range and keeping the
// top rows scans every day of it (1.1 s for the first 100 of 10M events over 30 days), while
// the newest hour usually holds the page. So a page reads the window just below its anchor
// (the cursor, the range's end, or now), then windows 8 times wider each, further back, until
// it has its rows or the range ends; each window is a read of only the segments of its days
// (EventSnapshot.within). The windows do not overlap and lie in newest-first order, so the rows
// of consecutive windows, each sorted, are the range's rows sorted: only speed depends on
// where the windows fall, never the page.

import type { TimeRange } from '../storage/index.ts';

/** The first window: the hour below the anchor (and everything after it). */
export const NEWEST_WINDOW_FIRST_MS = 3_600_000;
/** Each further window is this many times as long as the one before. */
export const NEWEST_WINDOW_GROWTH = 8;
/**
 * Windows of growing length: 1 h, 8 h, 64 h, 21 days, 171 days, 3.7 years, 30 years: the
 * rest of the range (all before) is one last window.
 */
export const NEWEST_WINDOWS_MAX = 7;

/**
 * The windows to read, newest first, for a page whose newest event may be at `anchorMs` or
 * later, over a range starting at `fromMs` (inclusive; none: all the past). The first window
 * has no upper end (events after the anchor are its too), the last no lower end but `fromMs`;
 * together they cover every instant of the range once.
 */
export function* newestFirstWindows(
  anchorMs: number,
  fromMs: number | undefined,
): Generator<TimeRange> {
  let toMs: number | undefined;
  let span = NEWEST_WINDOW_FIRST_MS;
  for (let i = 0; i < NEWEST_WINDOWS_MAX; i++) {
    const lower = anchorMs - span;
    if (fromMs !== undefined && lower <= fromMs) break;
    yield toMs === undefined ? { fromMs: lower } : { fromMs: lower, toMs };
    toMs = lower;
    span *= NEWEST_WINDOW_GROWTH;
  }
  const rest: TimeRange = {};
  if (fromMs !== undefined) rest.fromMs = fromMs;
  if (toMs !== undefined) rest.toMs = toMs;
  yield rest;
}

/**
 * Where a page's newest event can be: the cursor's instant (rounded up to the millisecond) or
 * the range's end, whichever is earlier; without a cursor, now when the range ends later (a
 * range of today) or has no end. Now is only a guess: events after it (a client's clock
 * ahead of the server's) are still read, since the first window has no upper end.
 */
export function pageAnchorMs(
  cursorUs: string | undefined,
  toMs: number | undefined,
  nowMs: number,
): number {
  const end = toMs ?? Number.POSITIVE_INFINITY;
  if (cursorUs === undefined) return Math.min(end, nowMs);
  return Math.min(end, Math.floor(Number(cursorUs) / 1000) + 1);
}
