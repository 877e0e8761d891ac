// GET /api/v1/events: the tenant's events, newest first, filtered, in keyset-paginated pages.

import type { EventSource } from '../../storage/index.ts';
import { type Page, readPage } from '../event-pages.ts';
import { presentEventRow } from '../event-rows.ts';
import type { EventFilters } from '../filters.ts';
import type { VisitScope } from './visit-scope.ts';

/** The event filters and range of an event list (and of an export: export-scope.ts). */
export interface EventListFilters {
  name?: string | undefined;
  user_id?: string | undefined;
  /** The ids an erasure takes besides user_id: a person's events found by the same id. */
  anonymous_id?: string | undefined;
  visitor_id?: string | undefined;
  session_id?: string | undefined;
  source?: string | undefined;
  path?: string | undefined;
  /** As the parsed user agent names them (the os, browser and device fields). */
  os?: string | undefined;
  browser?: string | undefined;
  device?: string | undefined;
  /** ISO 3166-1 alpha-2, any case (stored upper case). */
  country?: string | undefined;
  /** `property.<key>=value` filters: the property's JSON scalar equals value, as text. */
  properties?: Record<string, string> | undefined;
  /** Bot traffic is listed unless false (`bots=exclude`): a list shows the raw events. */
  includeBots?: boolean | undefined;
  /** Inclusive lower bound, UTC epoch ms. */
  fromMs?: number | undefined;
  /** Exclusive upper bound, UTC epoch ms. */
  toMs?: number | undefined;
}

/**
 * The filters of the events `options` asks for, as every read of events takes them: the
 * country in upper case, as it is stored, and bot traffic kept unless `includeBots` is false.
 */
export function eventListFilters(options: EventListFilters): EventFilters {
  return {
    equals: {
      name: options.name,
      user_id: options.user_id,
      anonymous_id: options.anonymous_id,
      visitor_id: options.visitor_id,
      session_id: options.session_id,
      source: options.source,
      path: options.path,
      os: options.os,
      browser: options.browser,
      device: options.device,
      country: options.country?.toUpperCase(),
    },
    properties: options.properties ?? {},
    includeBots: options.includeBots ?? true,
    fromMs: options.fromMs,
    toMs: options.toMs,
  };
}

export interface ListEventsOptions extends EventListFilters {
  limit: number;
  cursor?: string | undefined;
  /** Only the events of the visits that match (visit-scope.ts). */
  visits?: VisitScope | undefined;
  /** Now (UTC epoch ms): where the newest events are looked for first (event-pages.ts). */
  nowMs?: number | undefined;
}

export interface EventList {
  events: Record<string, unknown>[];
  next_cursor: string | null;
}

export async function listEvents(
  source: EventSource,
  tenant: string,
  options: ListEventsOptions,
  signal?: AbortSignal,
): Promise<EventList> {
  const page: Page<Record<string, unknown>> = await readPage(
    source,
    tenant,
    {
      filters: eventListFilters(options),
      limit: options.limit,
      cursor: options.cursor,
      visits: options.visits,
      nowMs: options.nowMs,
    },
    presentEventRow,
    signal,
  );
  return { events: page.items, next_cursor: page.next_cursor };
}
