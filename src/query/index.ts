// Public surface of query: every read of stored events (stats, time series, event and metric
// lists, single items, ad-hoc SQL), all over one tenant's EventSource snapshot, and the
// parsing of the time and filter parameters they share.

export type { EventSource } from '../storage/index.ts';
export { CHANNELS, type Channel } from './channels.ts';
export { roundHalfEven } from './clickhouse-round.ts';
export {
  COHORT_ACTOR_NAMES,
  COHORT_KINDS,
  type CohortActor,
  type CohortEvent,
  type CohortEvents,
  type CohortKind,
  parseCohortEvents,
} from './cohort-params.ts';
export {
  COHORT_PERIODS,
  type CohortPeriod,
  type CohortRange,
  type CohortRangeParams,
} from './cohort-periods.ts';
export { cursorCharsMax } from './cursor.ts';
export { SCROLL_DEPTH } from './engagement-metrics.ts';
export type { EventDataScope } from './event-data.ts';
export {
  EXPORT_COLUMNS,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportOptions,
} from './export-scope.ts';
export {
  type EventFilters,
  type FilterColumn,
  type FilterParams,
  filtersOf,
  listIncludesBots,
  propertyFiltersOf,
} from './filters.ts';
export {
  FUNNEL_BREAKDOWN_COLUMNS,
  type FunnelBreakdown,
  parseFunnelBreakdown,
} from './funnel-breakdown.ts';
export {
  FUNNEL_ACTOR_NAMES,
  type FunnelActor,
  parseFunnelSteps,
  parseFunnelWindow,
} from './funnel-params.ts';
export { queryLimits } from './limits.ts';
export {
  type AggregateMetricOptions,
  aggregateMetric,
  type MetricBucket,
} from './queries/aggregate-metric.ts';
export {
  aggregatePageVisits,
  type PageVisitBucket,
  type PageVisitOptions,
} from './queries/aggregate-page-visits.ts';
export {
  type CurrentVisitorsOptions,
  countCurrentVisitors,
} from './queries/count-current-visitors.ts';
export {
  countEventBuckets,
  type EventBucketCount,
  type EventBucketOptions,
} from './queries/count-event-buckets.ts';
export {
  countWeeklyVisitors,
  type WeeklyVisitorsOptions,
} from './queries/count-weekly-visitors.ts';
export { exportEventPages, type PageBounds } from './queries/export-events.ts';
export { type ExportFile, exportParquet } from './queries/export-parquet.ts';
export { findBadPattern } from './queries/find-bad-pattern.ts';
export { findSessionVisitor } from './queries/find-session-visitor.ts';
export {
  type Cohort,
  type CohortOptions,
  type Cohorts,
  getCohorts,
} from './queries/get-cohorts.ts';
export { type EventLookup, getEvent } from './queries/get-event.ts';
export {
  type EventDataEventRow,
  type EventDataEventsOptions,
  getEventDataEvents,
} from './queries/get-event-data-events.ts';
export { type EventDataFieldRow, getEventDataFields } from './queries/get-event-data-fields.ts';
export {
  type EventDataRecord,
  getEventDataOfEvent,
} from './queries/get-event-data-of-event.ts';
export {
  type EventDataPropertyRow,
  getEventDataProperties,
} from './queries/get-event-data-properties.ts';
export { type EventDataStats, getEventDataStats } from './queries/get-event-data-stats.ts';
export { type EventDataValueRow, getEventDataValues } from './queries/get-event-data-values.ts';
export { getEventTimeRange, getFirstEventMs } from './queries/get-first-event-time.ts';
export {
  type Funnel,
  type FunnelBreakdownResult,
  type FunnelOptions,
  type FunnelStepResult,
  getFunnel,
} from './queries/get-funnel.ts';
export {
  CONVERSION_RATE,
  conversionRateOf,
  type GoalDimension,
  type GoalMetric,
  type GoalMetricsOptions,
  type GoalMetricsRow,
  type GoalOrder,
  GROUP_CONVERSION_RATE,
  getGoalMetrics,
  ratesPerRow,
} from './queries/get-goal-metrics.ts';
export { getLatestMetric, type LatestPoint } from './queries/get-latest-metric.ts';
export { getMetric } from './queries/get-metric.ts';
export {
  getSessionData,
  getSessionDataProperties,
  getSessionDataValues,
  type SessionDataPropertyRow,
  type SessionDataRecord,
  type SessionDataScope,
  type SessionDataValueRow,
} from './queries/get-session-data.ts';
export { getSiteStats, type SiteStats, type SiteStatsOptions } from './queries/get-site-stats.ts';
export { getStats, PAGE_VIEW_NAMES, type Stats, type StatsOptions } from './queries/get-stats.ts';
export {
  type GroupBy,
  getTimeSeries,
  parseGroupBy,
  SERIES_METRICS,
  type SeriesMetric,
  type SeriesPoint,
  type TimeSeries,
  type TimeSeriesOptions,
} from './queries/get-time-series.ts';
export { getWebMetrics } from './queries/get-web-metrics.ts';
export {
  type EventDataListOptions,
  type EventDataOfEvent,
  type EventDataPage,
  listEventData,
} from './queries/list-event-data.ts';
export { type EventPage, type EventPageOptions, listEventPage } from './queries/list-event-page.ts';
export { type EventList, type ListEventsOptions, listEvents } from './queries/list-events.ts';
export { type ListMetricsOptions, listMetrics, type MetricList } from './queries/list-metrics.ts';
export {
  listWebEvents,
  type WebEvent,
  type WebEventPage,
  type WebEventsOptions,
} from './queries/list-web-events.ts';
export {
  listWebSessions,
  type WebSession,
  type WebSessionPage,
  type WebSessionsOptions,
} from './queries/list-web-sessions.ts';
export {
  type RunSqlOptions,
  runSql,
  type SqlParamValue,
  type SqlResult,
} from './queries/run-sql.ts';
export { VISIT_REACH_MINUTES } from './queries/visit-rows.ts';
export {
  VISIT_PARAM_NAMES,
  type VisitParam,
  type VisitScope,
  visitScopeOf,
} from './queries/visit-scope.ts';
export type { FunnelStep } from './step-syntax.ts';
export {
  BUCKET_UNITS,
  type BucketUnit,
  bucketStarts,
  clockHourStarts,
  labelledBuckets,
} from './time-buckets.ts';
export { TIME_ON_PAGE } from './time-on-page.ts';
export {
  type ResolvedRange,
  resolveRange,
  resolveSeriesRange,
  resolveTimeZone,
  type TimeParams,
} from './time-range.ts';
export {
  addDays,
  addMonths,
  formatInZone,
  instantOf,
  type LocalParts,
  localParts,
  spacedZoneMessage,
  timeZoneName,
} from './time-zone.ts';
export {
  conditionFilters,
  conditionSideOf,
  isFilter,
  type WebCondition,
} from './web-conditions.ts';
export {
  EXIT_RATE,
  type TimeKey,
  VISIT_METRICS,
  WEB_METRICS,
  type WebDimension,
  type WebMetric,
  type WebMetricsOptions,
  type WebMetricsRow,
  type WebOrder,
} from './web-metrics-model.ts';
export {
  type EventProperty,
  isPageProperty,
  regexPattern,
  VISIT_PROPERTIES,
  type VisitProperty,
  type WebFilter,
  type WebMatch,
  type WebProperty,
} from './web-properties.ts';
