// Public surface of engine: the ingest path and its parts.
export { DedupIndex, type DedupOptions } from './dedup-index.ts';
export {
  type EventResult,
  type EventStatus,
  type IngestOutcome,
  Ingestor,
  type IngestorOptions,
} from './ingest.ts';
