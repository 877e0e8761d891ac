// What a web metrics read (get-web-metrics.ts) takes and answers: the metrics (and which are
// of visits, of the visits entered at a page, or the exit rate), the dimension its rows are by
// (a total, time buckets, a property's values, combinations of keys), their ranking, and
// Plausible's reading rules the read may be asked to follow.

import { SCROLL_DEPTH } from './engagement-metrics.ts';
import * as timeOnPage from './time-on-page.ts';
import type { WebCondition } from './web-conditions.ts';
import type { WebProperty } from './web-properties.ts';

export const WEB_METRICS = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
  timeOnPage.TIME_ON_PAGE,
  SCROLL_DEPTH,
] as const;

/**
 * Sums over the counted visits, for APIs that report counts where Plausible reports rates
 * (Umami's stats): the visits that bounced, and their whole seconds from their first to their
 * last page view (a bounce's 0), as Umami's totaltime spans its page views alone: a custom
 * event after a visit's last page view adds none.
 */
const VISIT_SUMS = ['bounces', 'visit_seconds'] as const;

/**
 * Plausible's exit rate, by a visit's exit page alone, without event filters: the visits that
 * left at the page ÷ the page views of it (in the visits of the other filters: top-level exit
 * page filters apart) × 100, to 1 decimal (a tie to even, as ClickHouse rounds it). Not among
 * WEB_METRICS: v1 does not know it.
 */
export const EXIT_RATE = 'exit_rate';

export type WebMetric =
  | (typeof WEB_METRICS)[number]
  | (typeof VISIT_SUMS)[number]
  | typeof EXIT_RATE;

/** Metrics of visits; the others count events. */
export const VISIT_METRICS: readonly WebMetric[] = [
  'visits',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  ...VISIT_SUMS,
];

/** Metrics of the visits that entered at a row's page, by a page with `byEntryPage`. */
export const ENTRY_METRICS: readonly WebMetric[] = ['bounce_rate', 'visit_duration'];

/** What a ranking's rows are: how many at most, after how many, in which order. */
interface Ranking {
  limit: number;
  offset: number;
  /** By default the first metric, descending; ties by the keys, ascending. */
  order?: WebOrder[];
  /** Each row also says how many rows the whole ranking has (`totalRows`). */
  countRows?: boolean;
}

export type WebDimension =
  | { kind: 'total' }
  /** Events by their time, visits as `reach` says, into buckets starting at `starts`. */
  | ({ kind: 'bucket' } & TimeKey)
  /**
   * Rows by a property's value, ranked; a visit counts under each value of an event property
   * it holds a counted event with.
   */
  | ({ kind: 'property'; property: WebProperty } & Ranking)
  /** Rows by a combination of keys (`keys` of each row, in this order), ranked; a row has all. */
  | ({ kind: 'group'; keys: WebKey[] } & Ranking);

/** A key of a group: a property's value, or the time bucket (as `bucket`) of those starts. */
export type WebKey = { property: WebProperty } | TimeKey;

/**
 * Time buckets: the span from each start to the next counts in the bucket of the start (its
 * key), or in the one `bucketOf` names for it (as long as `starts`: a wall-clock hour the
 * clocks put back in two parts apart, Chatham's, is one bucket, keyed by its first start).
 */
export interface TimeKey {
  starts: number[];
  bucketOf?: number[];
  /**
   * With `reach`, a visit counts in every bucket from its start to its last event (in the
   * range), as Plausible's sessions by hour (its time slots), not in its last event's alone.
   */
  spans?: boolean;
  /**
   * With `reach`, a visit counts in every bucket where it holds a counted event, as Plausible's
   * v2 counts `visits` when it reads them from its events table (`uniq(session_id)`). Over
   * `spans`.
   */
  byEvents?: boolean;
  /**
   * With `reach` and not `byEvents`, a row's visitors are those of its visits (the users of
   * the visits it counts), as Plausible counts `visitors` when it reads them from its sessions
   * table (uniq(user_id) by each session's `timestamp`, or time slots by hour), not the
   * visitors of its counted events: a visit over midnight is one visitor of its last day.
   */
  visitorsOfVisits?: boolean;
}

/** One key of a ranking: a metric read (a missing value ranks as 0) or a key's value. */
export interface WebOrder {
  /** A metric, or the index of a key (`{ key: 0 }` is a property dimension's value). */
  by: WebMetric | { key: number };
  desc: boolean;
}

export interface WebMetricsOptions {
  /** Inclusive, UTC epoch ms. */
  fromMs: number;
  /** Exclusive, UTC epoch ms. */
  toMs: number;
  /** At least one. */
  metrics: WebMetric[];
  /** All must hold; none mixes event and visit properties (conditionSideOf). */
  filters: WebCondition[];
  dimension: WebDimension;
  /**
   * Plausible's visits (its reads; Umami's read the range's events alone): each visit active
   * in the range whole, its events within VISIT_REACH_MS around it too (visit-rows.ts), in the
   * bucket of its last event (the range's last when it ends after the range), as Plausible's
   * sessions by their `timestamp`; in every bucket it spans with a TimeKey's `spans`. Without,
   * a visit is in the bucket of its start.
   */
  reach?: boolean;
  /** Missing campaign tags, browsers, OSs and devices as `(not set)` (Plausible's v2). */
  notSet?: boolean;
  /**
   * Visit filters as Plausible's read them (its v1 and v2): a value a visit lacks is '', as
   * Plausible stores it (web-properties.ts's visitFilterSql).
   */
  storedEmpty?: boolean;
  /**
   * Plausible's entry page rules. With a (top-level) `event:page` filter, the bounce rate is of
   * the visits that entered at such a page (its first such filter, read on the entry page).
   * By an `event:page` key (the only event key), ENTRY_METRICS are of the visits that entered
   * at each row's page (Plausible's sessions grouped by entry page; the page filters read on
   * the entry page), 0 for a page none entered; the rows are the pages viewed unless every
   * metric is one of those, then the entry pages.
   */
  byEntryPage?: boolean;
}

export interface WebMetricsRow {
  /** The bucket start (UTC epoch ms), the (first key's) value, or null in total. */
  key: number | string | null;
  /** By a group: the value of each key, in the group's order. */
  keys?: (number | string)[];
  /** Each metric asked for; null where there is no visit to measure. */
  values: Partial<Record<WebMetric, number | null>>;
  /** With countRows: the rows of the whole ranking, before its limit and offset. */
  totalRows?: number;
}
