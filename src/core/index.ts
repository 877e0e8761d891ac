// Public surface of core: types, errors, clock, limits. Imports nothing else in src.
export { assert, InvariantError } from './assert.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export {
  ENGAGEMENT_EVENT_NAME,
  ENGAGEMENT_TIME_KEY,
  INTERACTIVE_KEY,
  SCROLL_DEPTH_KEY,
  SCROLL_DEPTH_PERCENT_MAX,
} from './engagement.ts';
export { ERASURE_FIELDS, type ErasureField } from './erasure.ts';
export { AppError, type AppErrorOptions, type ErrorCode, type FieldIssue } from './errors.ts';
export {
  type BaseEvent,
  type DerivedField,
  type EventInput,
  eventKey,
  type NormalizeResult,
  normalizeEvent,
  presentEvent,
  type RequestContext,
  type StoredEvent,
} from './event.ts';
export { addressKeyOf, isPublicAddress, normalizeIp, sentAddressOf } from './ip.ts';
export {
  DAY_MS,
  defaultTunables,
  erasureLimits,
  eventLimits,
  geoLimits,
  HOUR_MS,
  KiB,
  MiB,
  metricLimits,
  noRetryWaitLimits,
  propertyFitLimits,
  rebuildLimits,
  requestLimits,
  retentionLimits,
  signalLimits,
  snapshotLimits,
  startingWaitLimits,
  type Tunables,
  tenantShareLimits,
} from './limits.ts';
export { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './log.ts';
export { isOutOfSpace, readRoomError } from './out-of-space.ts';
export {
  CUT_PROPERTIES_KEY,
  type FittedProperties,
  fitProperties,
  POSTHOG_PROPERTIES_KEY,
  type Properties,
  type PropertyFit,
  propertiesFit,
} from './properties.ts';
export {
  RepeatedWarning,
  type RepeatedWarningLimits,
} from './repeated-warning.ts';
export { STOP_SIGNALS, type StopSignal } from './stop-signals.ts';
export {
  DEFAULT_TENANT,
  type IngestCredentials,
  TENANT_PATTERN,
  type TenantResolver,
} from './tenancy.ts';
export {
  EPOCH_MS_MAX,
  EPOCH_MS_MIN,
  parseAsUtc,
  parseRangeEnd,
  parseTimestamp,
  rangeEndMs,
  spacedOffsetMessage,
  type TimestampParse,
  utcDay,
  utcDayIndex,
} from './time.ts';
export {
  isCountedEventName,
  UMAMI_IDENTIFY_EVENT_NAME,
  UNCOUNTED_EVENT_NAMES,
} from './uncounted.ts';
export { cutToChars, mayHoldLoneSurrogate, wellFormed } from './unicode.ts';
export { pathOfUrl } from './url-path.ts';
