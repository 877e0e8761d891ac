// What an export (GET /api/v1/export) holds and in which order, shared by its page reads and
// its Parquet copy: the stored fields of each event (every column but the store's internal
// `seq`), the event filters it takes (an event list's, bots included unless `bots=exclude`: an
// export is the raw data), and the total order (timestamp, event_id, received_at) its keyset
// pages follow.

import { EVENT_COLUMNS } from '../storage/index.ts';
import type { EventListFilters } from './queries/list-events.ts';

/** The exported fields, in the order of a CSV header and a Parquet schema. */
export const EXPORT_COLUMNS: readonly string[] = EVENT_COLUMNS.map(([name]) => name).filter(
  (name) => name !== 'seq',
);

export const EXPORT_FORMATS = ['ndjson', 'csv', 'parquet'] as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * An export's filters and range: those of an event list (bots included unless excluded), read
 * as the list reads them (list-events.ts's eventListFilters).
 */
export type ExportOptions = EventListFilters;

/**
 * The order of an export: timestamp, then event_id, then received_at, which sets apart the
 * rare two events of one id and timestamp (one sent again after its dedup window ended).
 */
export const EXPORT_ORDER = 'e."timestamp" ASC, e.event_id ASC, e.received_at ASC';
