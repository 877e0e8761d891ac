// Public surface of engine: opening the engine, its background timers, the ingest path, the
// live rollups, data retention and the GeoIP country database.

export type { Erasure } from '../storage/index.ts';
export {
  DEDUP_EXPIRY_INTERVAL_MS,
  SESSION_PURGE_INTERVAL_MS,
  startTimers,
  type TimerOptions,
} from './background.ts';
export {
  CountryDb,
  CountryDbError,
  type CountryDbInfo,
  type CountryLookup,
} from './country-db.ts';
export { DedupIndex, type DedupOptions } from './dedup-index.ts';
export { type Engine, type EngineOptions, openEngine } from './engine.ts';
export type { Erasures } from './erasures.ts';
export type { EventResult, IngestOutcome } from './ingest.ts';
export type { ActorRegistry } from './registry.ts';
export {
  type RetentionDrop,
  type RetentionOptions,
  RetentionPass,
  type RetentionStore,
} from './retention.ts';
export type { LatestMetric, RollupSnapshot, WindowSnapshot } from './rollups.ts';
export { OTHER_NAME } from './sliding-window.ts';
export type { EventStatus, TenantActor } from './tenant-actor.ts';
export type { DeleteTenant, TenantDeletions } from './tenant-deletions.ts';
