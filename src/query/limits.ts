// The limits of the read API: how much one read may ask for. Plain constants, units last in
// each name; the SQL endpoint's time and row limits are tunables passed in by the caller.

import { assert, eventLimits } from '../core/index.ts';

/** Property equalities one read's filters or one step may combine (both limits below). */
const PROPERTY_CONDITIONS_MAX = 16;

export const queryLimits = {
  /** Buckets one time series or metric aggregate may span (422 beyond). */
  bucketsMax: 10_000,
  /** Series of a grouped time series: the top N group values by event count. */
  seriesDefault: 10,
  seriesMax: 50,
  /** Rows of each top list in /stats. */
  topDefault: 10,
  topMax: 100,
  /** Page size of event and metric lists. */
  pageDefault: 100,
  pageMax: 1000,
  /**
   * One page of an NDJSON or CSV export (GET /api/v1/export) holds at most this many events
   * and, past its first event, at most exportPageBytes of their JSON text. Each page is one
   * read of its own (a snapshot, a place of the tenant's reads) and decodes at least a row
   * group of each segment it touches (~122k events): pages of 1,000 events made a day's export
   * (333k events) 2.3× slower than pages of ~15,000 (6.7 s, not 2.9 s, in-process). Memory
   * holds about two pages at once (the one sent and the next); DuckDB sorts only the keys and
   * sizes of a window's first rows to cut them by bytes, then writes the texts of those kept
   * (not 20,000 texts of up to 32 KB: 640 MB).
   */
  exportPageRows: 20_000,
  /** See exportPageRows: 8 MiB is ~15,000 events of ~550 B, 256 of the largest (32 KB). */
  exportPageBytes: 8 * 1024 * 1024,
  /**
   * How long an export's next page waits before it asks again when the tenant's reads are
   * all taken and its queue is full (429 for a new read): an export under way is not failed
   * halfway for a burst of other reads.
   */
  exportPageRetryMs: 250,
  /** Bytes an export's Parquet file is sent in, chunk by chunk. */
  exportFileChunkBytes: 256 * 1024,
  /**
   * How long an export's client may take nothing (ask for no further chunk or page) before its
   * stream is cut and what it holds (a Parquet file's descriptor and disk space, pages in
   * memory) freed: a client reading 256 KiB or a page in 10 minutes is stuck, not slow.
   */
  exportStallMsMax: 10 * 60_000,
  /**
   * Exports of one tenant being sent at once (429 beyond): each holds a Parquet file's disk
   * space or pages in memory for as long as its client takes (http/export-slots.ts).
   */
  exportsPerTenantMax: 4,
  /**
   * Rows of one page of a breakdown (Plausible's Stats API: its own default and bound), and
   * its pages: rows skipped stay below breakdownRowsMax × breakdownPageMax.
   */
  breakdownRowsDefault: 100,
  breakdownRowsMax: 1000,
  breakdownPageMax: 10_000,
  /**
   * Filters of one web analytics read (`a;b;c`, or the filters of v2's nested ones), and
   * alternatives of one filter (`a|b`); how deep v2's `and`, `or` and `not` may nest.
   */
  webFiltersMax: 16,
  webFilterValuesMax: 100,
  webFilterDepthMax: 8,
  /**
   * Plausible's Stats API v2: a query's JSON body, the dimensions it groups by, its rows at
   * most (Plausible's default page), and the rows it may skip.
   */
  statsQueryBytesMax: 64 * 1024,
  statsQueryDimensionsMax: 5,
  statsQueryRowsMax: 10_000,
  statsQueryOffsetMax: 10_000_000,
  /** A visitor with an event this recently is a current visitor (Plausible's realtime). */
  currentVisitorsWindowMs: 5 * 60_000,
  /** Size of a statement for the SQL endpoint, and of its parameter list. */
  sqlCharsMax: 100_000,
  sqlParamsMax: 100,
  /** The SQL endpoint's JSON body (after gzip): room for the longest statement and its params. */
  sqlBodyBytesMax: 1024 * 1024,
  /**
   * Each SQL statement runs in a process of its own (sql-processes.ts): at most this many at
   * once (503 beyond), each stopped past this resident memory (400), with a DuckDB of this
   * memory limit and threads.
   */
  sqlProcessesMax: 4,
  /**
   * SQL statements of one tenant running at once (429 beyond): fewer than all, so one
   * tenant's slow statements leave places for the others (DESIGN §1).
   */
  sqlTenantProcessesMax: 2,
  sqlProcessBytesMax: 1024 * 1024 * 1024,
  /**
   * Reads of one tenant running at once in the server's DuckDB (stats, series, lists, items,
   * a SQL statement's export, each page or Parquet copy of GET /api/v1/export), and waiting
   * for a place (429 beyond): one tenant's burst of heavy reads delays only itself
   * (tenant-reads.ts).
   */
  tenantReadsRunningMax: 2,
  tenantReadsWaitingMax: 32,
  /**
   * Rows of segments (the catalog's count over the read's days) up to which /stats copies its
   * range's events once, into one Parquet file of the staging directory, for its four
   * statements to read (events-once.ts): over five years of small days each statement reading
   * 1,826 files was most of the read. The copy holds the columns the statements read,
   * uncompressed (1.8M generated events: 29 MB, the segments 34 MB); above it a tenant's reads
   * are bound by their rows, not their files, and a copy would only add a write of them.
   */
  eventsOnceRowsMax: 2_000_000,
  /**
   * Segment files from which /stats copies its events once (with eventsOnceRowsMax): over fewer
   * (a day's, a week's read) the files cost little, and the copy would be a write of the
   * range's events to disk at each read of a dashboard's "today".
   */
  eventsOnceFilesMin: 30,
  /**
   * Time a statement's process has to be ready (bun booted, its DuckDB set up) before the
   * statement starts; 503 beyond. The statement's own time limit counts from its start.
   */
  sqlStartMsMax: 10_000,
  sqlDuckDbBytesMax: 512 * 1024 * 1024,
  sqlThreads: 2,
  /**
   * How much lower a statement's process runs in CPU priority than the server (its nice value
   * added, 19 at most): 4 statements of 2 threads each on 2 cores took CPU from the server as
   * its equals, and every tenant's reads and ingest waited on them (stats 935 ms at the median
   * instead of 200; niced, 299).
   */
  sqlProcessNice: 10,
  /** Disk a statement's DuckDB may spill to (inside its export; a 400 past it). */
  sqlSpillBytesMax: 1024 * 1024 * 1024,
  /**
   * JSON characters of a statement's rows at most: rows past it are cut (`truncated`), so a
   * few huge rows never travel through the server's memory and event loop.
   */
  sqlResultCharsMax: 16 * 1024 * 1024,
  /**
   * Characters of a statement's error message at most (cut with `…`): DuckDB's message may
   * hold a value the statement built (`error(x)`, a failed cast of x), of any size.
   */
  sqlMessageCharsMax: 1_000,
  /**
   * Levels of arrays and objects one value of a statement's answer nests at most (a 400
   * beyond): a statement can build JSON nested 100,000 deep, which JSON.stringify and IPC
   * cannot carry (they recurse). Stored properties nest at most 512 (requestLimits).
   */
  sqlValueDepthMax: 1_000,
  /**
   * Steps of one funnel (PostHog's limit is 20), and its conversion window: how long after
   * its first step an actor may take the others (PostHog's default of 14 days).
   */
  funnelStepsMin: 2,
  funnelStepsMax: 20,
  funnelWindowMsDefault: 14 * 24 * 3_600_000,
  funnelWindowMsMin: 1000,
  funnelWindowMsMax: 365 * 24 * 3_600_000,
  /**
   * Values a funnel breakdown lists on their own (PostHog's breakdown_limit default, its
   * BREAKDOWN_VALUES_LIMIT); the actors of every other value are folded into one entry.
   */
  funnelBreakdownValuesMax: 25,
  /** `property.<key>=value` filters one read may combine (422 beyond). */
  propertyFiltersMax: PROPERTY_CONDITIONS_MAX,
  /**
   * Property conditions of one funnel step or cohort event (`property.<key>:<value>`, as many
   * as the property filters a read may combine), and a condition's value at most: the
   * properties of an event are at most propertiesBytesMax, so a longer value never matches.
   */
  stepPropertiesMax: PROPERTY_CONDITIONS_MAX,
  stepPropertyValueCharsMax: eventLimits.propertiesBytesMax,
  /**
   * Cohort retention (GET /api/v1/cohorts): the periods each cohort is followed for, period 0
   * included (PostHog's total intervals, 7 when its query API is given none), and the cohorts
   * one read may hold (the periods of its range): a year of days, 7 years of weeks, 30 of months.
   */
  cohortPeriodsDefault: 7,
  cohortPeriodsMax: 366,
  cohortsMax: 366,
} as const;

assert(queryLimits.seriesDefault <= queryLimits.seriesMax, 'default series within the maximum');
assert(queryLimits.topDefault <= queryLimits.topMax, 'default top within the maximum');
assert(queryLimits.pageDefault <= queryLimits.pageMax, 'default page within the maximum');
assert(
  queryLimits.breakdownRowsDefault <= queryLimits.breakdownRowsMax,
  'default breakdown rows within the maximum',
);
assert(
  queryLimits.funnelStepsMin >= 2 && queryLimits.funnelStepsMin <= queryLimits.funnelStepsMax,
  'a funnel has a second step',
);
assert(
  queryLimits.funnelWindowMsMin <= queryLimits.funnelWindowMsDefault &&
    queryLimits.funnelWindowMsDefault <= queryLimits.funnelWindowMsMax,
  'the default conversion window within its bounds',
);
assert(
  queryLimits.cohortPeriodsDefault >= 1 &&
    queryLimits.cohortPeriodsDefault <= queryLimits.cohortPeriodsMax &&
    queryLimits.cohortsMax >= 1,
  'a cohort read follows its default periods and holds a cohort',
);
assert(
  queryLimits.sqlTenantProcessesMax >= 1 &&
    queryLimits.sqlTenantProcessesMax < queryLimits.sqlProcessesMax,
  "one tenant's SQL statements may run, and never take every place",
);
assert(
  queryLimits.tenantReadsRunningMax >= 1 && queryLimits.tenantReadsWaitingMax >= 0,
  "a tenant's reads run",
);
assert(
  queryLimits.sqlDuckDbBytesMax < queryLimits.sqlProcessBytesMax,
  "a statement's DuckDB fits in its process's memory",
);
assert(
  queryLimits.exportPageBytes >= eventLimits.storedEventBytesMax && queryLimits.exportPageRows >= 1,
  "an export's page holds a whole event of the largest size",
);
