// An offset-paged list of a tenant's events in ascending (timestamp, event_id) order (two of
// one id and time, an id sent again after its dedup window, by receipt) with the
// total count of the filtered set: the page/page_size/total listing of seed 002's GET /events.
// Bots are included: that service counts every event it was sent. A page is read in windows
// from the first event on (page-windows.ts), those before it only counted.

import type { StoredEvent } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { EVENT_SELECT, storedEventOf } from '../event-rows.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { oldestFirstWindows, PAGE_WINDOW_FIRST_MS, windowSql } from '../page-windows.ts';
import { numberOf, type Row, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

export interface EventPageOptions {
  source?: string | undefined;
  name?: string | undefined;
  /** Inclusive lower bound, UTC epoch ms. */
  fromMs?: number | undefined;
  /** Exclusive upper bound, UTC epoch ms. */
  toMs?: number | undefined;
  /** 1-based page number. */
  page: number;
  pageSize: number;
}

export interface EventPage {
  items: StoredEvent[];
  /** Events matching the filters, over all pages. */
  total: number;
}

export async function listEventPage(
  source: EventSource,
  tenant: string,
  options: EventPageOptions,
  signal?: AbortSignal,
): Promise<EventPage> {
  const filters: EventFilters = {
    equals: { source: options.source, name: options.name },
    includeBots: true,
    fromMs: options.fromMs,
    toMs: options.toMs,
  };
  const range = rangeOf(options.fromMs, options.toMs);
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const headParams = new SqlParams();
    const [head] = await readRows(
      snapshot,
      `SELECT count(*) AS total, epoch_ms(min(e."timestamp")) AS first_ms
         FROM ${snapshot.from} AS e ${whereOf(filterConditions(filters, headParams))}`,
      headParams,
    );
    const total = numberOf(head?.total);
    let skip = (options.page - 1) * options.pageSize;
    const rows: Row[] = [];
    if (total <= skip) return { items: [], total };
    // Oldest first, window by window from the first event (page-windows.ts): a window the page
    // starts after is only counted, so a deep page reads no more than the first does.
    const firstMs = numberOf(head?.first_ms);
    const windows = oldestFirstWindows(firstMs, options.toMs, PAGE_WINDOW_FIRST_MS);
    for (const window of windows) {
      const params = new SqlParams();
      const conditions = filterConditions(filters, params);
      const { conditions: inWindow, days } = windowSql(window, options, params);
      conditions.push(...inWindow);
      const from = snapshot.within(days);
      if (skip > 0) {
        const [counted] = await readRows(
          snapshot,
          `SELECT count(*) AS n FROM ${from} AS e ${whereOf(conditions)}`,
          params,
        );
        const inWindow = numberOf(counted?.n);
        if (inWindow <= skip) {
          skip -= inWindow;
          continue;
        }
      }
      rows.push(
        ...(await readRows(
          snapshot,
          `SELECT ${EVENT_SELECT} FROM ${from} AS e ${whereOf(conditions)}
            ORDER BY e."timestamp" ASC, e.event_id ASC, e.received_at ASC
            LIMIT ${params.add(options.pageSize - rows.length)} OFFSET ${params.add(skip)}`,
          params,
        )),
      );
      skip = 0;
      if (rows.length >= options.pageSize) break;
    }
    return { items: rows.map(storedEventOf), total };
  });
}
