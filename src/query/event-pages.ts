// One page of events in (timestamp desc, event_id asc, received_at asc) order, after an
// optional cursor:
// the shared body of the event and metric lists; the events of visits that match visit
// filters when asked (visit-scope.ts). Fetches one row more than the page to know
// whether a next page exists. Without visit filters a page is read newest window first
// (page-windows.ts), each window from the segments of its days alone.

import { timestampTZValue } from '@duckdb/node-api';
import type { EventSource, TimeRange } from '../storage/index.ts';
import { decodeCursor, encodeCursor, type PageCursor } from './cursor.ts';
import { EVENT_SELECT } from './event-rows.ts';
import { type EventFilters, filterConditions, whereOf } from './filters.ts';
import { newestFirstWindows, pageAnchorMs, windowSql } from './page-windows.ts';
import { PAGE_VIEW_NAMES } from './queries/get-stats.ts';
import { scopedRangeOf, type VisitScope, visitScopedFrom } from './queries/visit-scope.ts';
import { type Row, readRows, withSnapshot } from './read.ts';
import { SqlParams } from './sql-params.ts';

export interface PageOptions {
  filters: EventFilters;
  /** Items per page (the caller bounds it). */
  limit: number;
  /** next_cursor of the previous page. */
  cursor?: string | undefined;
  /** Only the events of the visits that match (queries/visit-scope.ts). */
  visits?: VisitScope | undefined;
  /**
   * Now (UTC epoch ms): where the newest events are looked for first when neither the cursor
   * nor the range's end says. Without it such a page is read in one window, the whole range.
   */
  nowMs?: number | undefined;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export async function readPage<T>(
  source: EventSource,
  tenant: string,
  options: PageOptions,
  present: (row: Row) => T,
  signal?: AbortSignal,
): Promise<Page<T>> {
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const { fromMs, toMs } = options.filters;
  const range = scopedRangeOf(options.visits, fromMs, toMs);
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const rows: Row[] = [];
    for (const window of windowsOf(options, after?.us)) {
      const params = new SqlParams();
      const conditions = filterConditions(options.filters, params);
      if (after !== undefined) {
        conditions.push(afterCursorSql(after, params));
      }
      const { conditions: inWindow, days } = windowSql(window, { fromMs, toMs }, params);
      conditions.push(...inWindow);
      const from =
        options.visits === undefined
          ? snapshot.within(days)
          : visitScopedFrom(snapshot, options.visits, options.filters, PAGE_VIEW_NAMES, params);
      const wanted = options.limit + 1 - rows.length;
      const sql =
        `SELECT ${EVENT_SELECT}, epoch_us(e.received_at) AS received_us ` +
        `FROM ${from} AS e ${whereOf(conditions)} ` +
        `ORDER BY e."timestamp" DESC, e.event_id ASC, e.received_at ASC ` +
        `LIMIT ${params.add(wanted)}`;
      rows.push(...(await readRows(snapshot, sql, params)));
      if (rows.length > options.limit) break;
    }
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    const more = rows.length > options.limit && last !== undefined;
    return {
      items: page.map(present),
      next_cursor: more
        ? encodeCursor({
            us: String(last.cursor_us),
            id: String(last.event_id),
            receivedUs: String(last.received_us),
          })
        : null,
    };
  });
}

/**
 * The events after `after` in page order: earlier, or of its instant with a later id, or of
 * its id too (sent again after its dedup window) received later. A cursor without a receipt
 * continues after the pair.
 */
function afterCursorSql(after: PageCursor, params: SqlParams): string {
  const at = params.add(timestampTZValue(BigInt(after.us)));
  const id = params.add(after.id);
  const later =
    after.receivedUs === undefined
      ? ''
      : ` OR (e.event_id = ${id} AND e.received_at > ${params.add(
          timestampTZValue(BigInt(after.receivedUs)),
        )})`;
  return `(e."timestamp" < ${at} OR (e."timestamp" = ${at} AND (e.event_id > ${id}${later})))`;
}

/**
 * The time windows `options`' page is read in, newest first (page-windows.ts): one, `{}` (the
 * filters' range), with visit filters (a visit is read whole, whatever its events' windows) or
 * without a guess of where the newest events are.
 */
function windowsOf(options: PageOptions, cursorUs: string | undefined): Iterable<TimeRange> {
  const { fromMs, toMs } = options.filters;
  const whole = [{}];
  if (options.visits !== undefined) return whole;
  if (cursorUs === undefined && toMs === undefined && options.nowMs === undefined) return whole;
  const anchor = pageAnchorMs(cursorUs, toMs, options.nowMs ?? Number.POSITIVE_INFINITY);
  return newestFirstWindows(anchor, fromMs);
}
