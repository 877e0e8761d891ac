// GET /api/v1/export as NDJSON or CSV: the tenant's events in (timestamp, event_id,
// received_at) order, read in keyset pages, each page a read of its own (one snapshot, one place
// of the tenant's reads), so a long export holds neither a place nor a snapshot while its client
// takes the page before. What the export holds is fixed by its first page: the events received
// by then (every event acknowledged before the export began, hot or flushed; see firstPage), so
// it ends however fast events keep arriving while the server's clock does not go back. Each
// event comes exactly once although flushes and compactions move events between the hot tier
// and segments between pages: every snapshot sees each event once, and each page starts
// strictly after the last key of the one before. A page reads the time just after its key
// first, in windows (page-windows.ts) sized by how much time the page before took, each from
// the segments of its days: not every later event of the range, sorted, for a page of them.

import { timestampTZValue } from '@duckdb/node-api';
import { AppError, presentEvent } from '../../core/index.ts';
import type { EventSnapshot, EventSource, TimeRange } from '../../storage/index.ts';
import { EVENT_JSON, EVENT_SELECT, storedEventOfJson } from '../event-rows.ts';
import { EXPORT_ORDER, type ExportOptions } from '../export-scope.ts';
import { filterConditions, whereOf } from '../filters.ts';
import { queryLimits } from '../limits.ts';
import { oldestFirstWindows, PAGE_WINDOW_FIRST_MS, windowSql } from '../page-windows.ts';
import { numberOf, type Row, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import { clientGone } from '../tenant-reads.ts';
import { eventListFilters } from './list-events.ts';

/** The key of the last event sent: the next page starts strictly after it. */
interface ExportKey {
  /** Its timestamp in epoch microseconds (exact). */
  us: bigint;
  id: string;
  /** Its received_at in epoch microseconds. */
  receivedUs: bigint;
}

interface ExportPage {
  events: Record<string, unknown>[];
  /** The key to continue after; null once the export is done. */
  after: ExportKey | null;
  /** Milliseconds from its first event to its last. */
  spannedMs: number;
}

/**
 * The first window of a page after the first: twice the time the page before spanned (about
 * two pages of events at the same pace), and at least this (a page of events of one instant).
 */
const NEXT_WINDOW_MIN_MS = 1000;

/** How much one page of an export holds (queryLimits.exportPageRows, exportPageBytes). */
export interface PageBounds {
  rows: number;
  /** Of the events' JSON text; a page holds its first event whatever its size. */
  bytes: number;
}

const PAGE_BOUNDS: PageBounds = {
  rows: queryLimits.exportPageRows,
  bytes: queryLimits.exportPageBytes,
};

/**
 * The pages of an export, each within `bounds` (PageBounds), none empty. The first page is read
 * when the first one is asked for (its errors, e.g. a full read queue, are the request's);
 * later pages wait and ask again while the tenant's read queue is full (exportPageRetryMs).
 * Once `signal` aborts, the page being read is stopped and the generator throws client_closed.
 */
export async function* exportEventPages(
  source: EventSource,
  tenant: string,
  options: ExportOptions,
  signal?: AbortSignal,
  bounds: PageBounds = PAGE_BOUNDS,
): AsyncGenerator<Record<string, unknown>[], void, undefined> {
  const first = await firstPage(source, tenant, options, bounds, signal);
  if (first === null) return;
  let { page } = first;
  while (true) {
    if (page.events.length > 0) yield page.events;
    const after = page.after;
    if (after === null) return;
    const windowMs = Math.max(NEXT_WINDOW_MIN_MS, 2 * page.spannedMs);
    const range = pageRange(options, after);
    page = await whileOverloaded(signal, () =>
      withSnapshot(source, tenant, range, signal, (snapshot) =>
        readPage(snapshot, options, first.throughUs, after, bounds, {
          startMs: range.fromMs,
          windowMs,
        }),
      ),
    );
  }
}

/**
 * The first page and the bound on received_at every page keeps to: the latest receipt among
 * the matching events of the first snapshot. Every event acknowledged before the export began
 * is in that snapshot, so none is left out. One acknowledged later is in the export only when
 * the server's clock gave it no later receipt (a request in flight as the export began, one
 * received in the bound's millisecond, any while the clock is set back) and it sorts after the
 * key the pages had reached. (Not a bound on seq: a row's seq is the label of the load that put
 * it in the hot table, which an erasure's reload raises, so such a bound would drop events.)
 * Null when nothing matches.
 */
async function firstPage(
  source: EventSource,
  tenant: string,
  options: ExportOptions,
  bounds: PageBounds,
  signal: AbortSignal | undefined,
): Promise<{ page: ExportPage; throughUs: bigint } | null> {
  const range = rangeOf(options.fromMs, options.toMs);
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const params = new SqlParams();
    const where = whereOf(filterConditions(eventListFilters(options), params));
    const [row] = await readRows(
      snapshot,
      `SELECT epoch_us(max(e.received_at)) AS through_us,
         epoch_ms(min(e."timestamp")) AS first_ms FROM ${snapshot.allFrom} AS e ${where}`,
      params,
    );
    if (row?.through_us === null || row?.through_us === undefined) return null;
    const throughUs = BigInt(String(row.through_us));
    const start = { startMs: Number(row.first_ms), windowMs: PAGE_WINDOW_FIRST_MS };
    return { page: await readPage(snapshot, options, throughUs, null, bounds, start), throughUs };
  });
}

/**
 * The next events after `after` (from the start when null) within `bounds`, received by
 * throughUs, read in windows from `startMs` (no event of the page is earlier), the first
 * `windowMs` long.
 */
async function readPage(
  snapshot: EventSnapshot,
  options: ExportOptions,
  throughUs: bigint,
  after: ExportKey | null,
  bounds: PageBounds,
  start: { startMs: number; windowMs: number },
): Promise<ExportPage> {
  const texts: string[] = [];
  let rows = 0;
  let bytes = 0;
  let firstUs: bigint | null = null;
  let last: Row | null = null;
  const full = () => rows >= bounds.rows || bytes >= bounds.bytes;
  for (const window of oldestFirstWindows(start.startMs, options.toMs, start.windowMs)) {
    const left = { rows: bounds.rows - rows, bytes: bounds.bytes - bytes };
    const found = await readCut(snapshot, options, throughUs, after, window, left);
    const n = numberOf(found?.n);
    if (n > 0 && found !== undefined) {
      const cut = found.last as Row;
      texts.push(await readTexts(snapshot, options, throughUs, after, window, keyOf(cut)));
      firstUs ??= BigInt(String(found.first_us));
      last = cut;
      rows += n;
      bytes += numberOf(found.bytes);
    }
    if (full()) break;
  }
  const events = texts.flatMap((text) =>
    text.split('\n').map((line) => presentEvent(storedEventOfJson(line))),
  );
  return {
    events,
    after: !full() || last === null ? null : keyOf(last),
    spannedMs:
      firstUs === null || last === null
        ? 0
        : Number(BigInt(String(last.cursor_us)) - firstUs) / 1000,
  };
}

/** The order of a window's rows (keys of EVENT_SELECT's columns and `received_us`). */
const ROW_ORDER = 'cursor_us, event_id, received_us';

/**
 * Of a window's first `left.rows` events, those that start before `left.bytes` of JSON are
 * reached (so never none): their count, bytes, first time and last key. Only their keys and
 * sizes are sorted and held, not their texts: a page's bytes bound what DuckDB holds too,
 * where texts of its 20,000 rows (up to 32 KB each) would be 640 MB (readTexts then reads
 * the texts of the events kept).
 */
async function readCut(
  snapshot: EventSnapshot,
  options: ExportOptions,
  throughUs: bigint,
  after: ExportKey | null,
  window: TimeRange,
  left: PageBounds,
): Promise<Row | undefined> {
  const params = new SqlParams();
  const { conditions, days } = windowConditions(options, throughUs, after, window, params);
  const [found] = await readRows(
    snapshot,
    `SELECT count(*) AS n, sum(len) AS bytes, min(cursor_us) AS first_us,
       max({'cursor_us': cursor_us, 'event_id': event_id, 'received_us': received_us}) AS last
     FROM (
       SELECT *, coalesce(sum(len) OVER (
           ORDER BY ${ROW_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
         ), 0) AS before
       FROM (SELECT e.event_id, epoch_us(e."timestamp") AS cursor_us,
           epoch_us(e.received_at) AS received_us, strlen(${EVENT_JSON}) AS len
         FROM ${snapshot.allWithin(days)} AS e ${whereOf(conditions)}
         ORDER BY ${EXPORT_ORDER} LIMIT ${params.add(left.rows)})
     ) WHERE before < ${params.add(left.bytes)}`,
    params,
  );
  return found;
}

/**
 * The window's events through `last` (readCut's) as one text, a JSON line each in export
 * order: the driver hands over one string, not a value per event.
 */
async function readTexts(
  snapshot: EventSnapshot,
  options: ExportOptions,
  throughUs: bigint,
  after: ExportKey | null,
  window: TimeRange,
  last: ExportKey,
): Promise<string> {
  const params = new SqlParams();
  const { conditions, days } = windowConditions(options, throughUs, after, window, params);
  conditions.push(keySql('through', last, params));
  const [found] = await readRows(
    snapshot,
    `SELECT string_agg(event, chr(10) ORDER BY ${ROW_ORDER}) AS events
     FROM (SELECT ${EVENT_SELECT}, epoch_us(e.received_at) AS received_us
       FROM ${snapshot.allWithin(days)} AS e ${whereOf(conditions)})`,
    params,
  );
  return String(found?.events);
}

/** The conditions of a page's events in `window`: after `after`, received by throughUs. */
function windowConditions(
  options: ExportOptions,
  throughUs: bigint,
  after: ExportKey | null,
  window: TimeRange,
  params: SqlParams,
): { conditions: string[]; days: TimeRange } {
  const conditions = filterConditions(eventListFilters(options), params);
  conditions.push(`e.received_at <= ${params.add(timestampTZValue(throughUs))}`);
  if (after !== null) conditions.push(keySql('after', after, params));
  const { conditions: inWindow, days } = windowSql(window, options, params);
  return { conditions: [...conditions, ...inWindow], days };
}

/** The events strictly after `key` in export order, or those up to it and itself. */
function keySql(side: 'after' | 'through', key: ExportKey, params: SqlParams): string {
  const [within, beyond, receipt] = side === 'after' ? ['>=', '>', '>'] : ['<=', '<', '<='];
  const at = params.add(timestampTZValue(key.us));
  const id = params.add(key.id);
  const received = params.add(timestampTZValue(key.receivedUs));
  // The first condition, on the time alone, lets DuckDB skip row groups by their time.
  return (
    `e."timestamp" ${within} ${at} AND (e."timestamp" ${beyond} ${at} OR ` +
    `e.event_id ${beyond} ${id} OR (e.event_id = ${id} AND e.received_at ${receipt} ${received}))`
  );
}

function keyOf(row: Row): ExportKey {
  return {
    us: BigInt(String(row.cursor_us)),
    id: String(row.event_id),
    receivedUs: BigInt(String(row.received_us)),
  };
}

/**
 * The range of a page after `after`, for pruning segments by day: from the key's millisecond
 * (rounded down, before 1970 too) on, within the export's range.
 */
function pageRange(options: ExportOptions, after: ExportKey): TimeRange & { fromMs: number } {
  const us = after.us;
  const keyMs = Number(us >= 0n ? us / 1000n : -((-us + 999n) / 1000n));
  const fromMs = Math.max(options.fromMs ?? keyMs, keyMs);
  return options.toMs === undefined ? { fromMs } : { fromMs, toMs: options.toMs };
}

/**
 * Runs `read`, and again after exportPageRetryMs each time it is refused because the tenant's
 * reads are all taken and its queue is full; stops (client_closed) once `signal` aborts.
 */
async function whileOverloaded<T>(
  signal: AbortSignal | undefined,
  read: () => Promise<T>,
): Promise<T> {
  while (true) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'tenant_overloaded') throw error;
    }
    await pause(queryLimits.exportPageRetryMs, signal);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(clientGone());
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(clientGone());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}
