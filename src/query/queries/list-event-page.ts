// An offset-paged list of a tenant's events in ascending (timestamp, event_id) order with the
// total count of the filtered set: the page/page_size/total listing of seed 002's GET /events.
// Bots are included: that service counts every event it was sent.

import type { StoredEvent } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { EVENT_SELECT, storedEventOf } from '../event-rows.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { numberOf, rangeOf, readRows, withSnapshot } from '../read.ts';
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
    const countParams = new SqlParams();
    const countWhere = whereOf(filterConditions(filters, countParams));
    const [count] = await readRows(
      snapshot,
      `SELECT count(*) AS total FROM ${snapshot.from} AS e ${countWhere}`,
      countParams,
    );
    const params = new SqlParams();
    const where = whereOf(filterConditions(filters, params));
    const limit = params.add(options.pageSize);
    const offset = params.add((options.page - 1) * options.pageSize);
    const rows = await readRows(
      snapshot,
      `SELECT ${EVENT_SELECT} FROM ${snapshot.from} AS e ${where}
        ORDER BY e."timestamp" ASC, e.event_id ASC LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return { items: rows.map(storedEventOf), total: numberOf(count?.total) };
  });
}
