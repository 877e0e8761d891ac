// The time windows a page of events is read in. A page wants the newest (or, for an export,
// the oldest) events of a range, and the tenant's segments are per UTC day: reading the whole
// range and keeping the top rows scans every day of it (1.1 s for the first 100 of 10M events
// over 30 days; an export paid that for every page of 1,000), while the next hour usually
// holds the page. So a page reads the window next to where it starts (the cursor, the range's
// end, or now; for an export the key it continues after), then windows 8 times wider, further
// on, until it has its rows or the range ends; each window is a read of only the segments of
// its days (EventSnapshot.within). The windows do not overlap and follow the page's order, so
// the rows of consecutive windows, each sorted, are the range's rows sorted: only speed
// depends on where the windows fall, never the page.

import { EPOCH_MS_MAX, EPOCH_MS_MIN } from '../core/index.ts';
import type { TimeRange } from '../storage/index.ts';
import type { SqlParams } from './sql-params.ts';

/**
 * The first window of a page with nothing better to go by: the hour below a newest-first
 * page's anchor (and all after it), or from an oldest-first page's first event.
 */
export const PAGE_WINDOW_FIRST_MS = 3_600_000;
/** Each further window is this many times as long as the one before. */
export const PAGE_WINDOW_GROWTH = 8;
/**
 * Windows of growing length a page reads at most (newest first: 1 h, 8 h, 64 h, 21 days, 171
 * days, 3.7 years, 30 years); the rest of the range is one last window.
 */
export const PAGE_WINDOWS_MAX = 7;

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
  let span = PAGE_WINDOW_FIRST_MS;
  for (let i = 0; i < PAGE_WINDOWS_MAX; i++) {
    const lower = anchorMs - span;
    // No event is stored before EPOCH_MS_MIN: the rest is the last window.
    if ((fromMs !== undefined && lower <= fromMs) || lower <= EPOCH_MS_MIN) break;
    yield toMs === undefined ? { fromMs: lower } : { fromMs: lower, toMs };
    toMs = lower;
    span *= PAGE_WINDOW_GROWTH;
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

/**
 * The windows to read, oldest first, for a page that starts at `startMs` (inclusive: its
 * first event may be at that instant or later, none before) over a range ending at `toMs`
 * (exclusive; none: all the future): `firstMs` long, then PAGE_WINDOW_GROWTH times longer
 * each, the rest of the range one last window after PAGE_WINDOWS_MAX.
 */
export function* oldestFirstWindows(
  startMs: number,
  toMs: number | undefined,
  firstMs: number,
): Generator<TimeRange & { fromMs: number }> {
  let fromMs = startMs;
  let span = firstMs;
  for (let i = 0; i < PAGE_WINDOWS_MAX; i++) {
    const upper = fromMs + span;
    // No event is stored after EPOCH_MS_MAX: the rest is the last window.
    if ((toMs !== undefined && upper >= toMs) || upper > EPOCH_MS_MAX) break;
    yield { fromMs, toMs: upper };
    fromMs = upper;
    span *= PAGE_WINDOW_GROWTH;
  }
  yield toMs === undefined ? { fromMs } : { fromMs, toMs };
}

/**
 * What a read over `range` (its filters' own) adds for one of its windows: the conditions on
 * `e."timestamp"`, and the range whose segments it reads (the window within `range`, for
 * EventSnapshot.within).
 */
export function windowSql(
  window: TimeRange,
  range: TimeRange,
  params: SqlParams,
): { conditions: string[]; days: TimeRange } {
  const conditions: string[] = [];
  if (window.fromMs !== undefined)
    conditions.push(`e."timestamp" >= ${params.addInstant(window.fromMs)}`);
  if (window.toMs !== undefined)
    conditions.push(`e."timestamp" < ${params.addInstant(window.toMs)}`);
  const days: TimeRange = {};
  const fromMs = window.fromMs ?? range.fromMs;
  const toMs = window.toMs ?? range.toMs;
  if (fromMs !== undefined) days.fromMs = fromMs;
  if (toMs !== undefined) days.toMs = toMs;
  return { conditions, days };
}
