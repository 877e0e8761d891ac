// Public surface of storage: the event store (log, hot tier, segments, catalog) and its parts.
export type { Catalog, NewSegment, Segment } from './catalog.ts';
export { countedRowsOf } from './counted-events.ts';
export { type DiskStatus, lowSpaceNote } from './disk.ts';
export { duckDbBytes, floorDivSql, lockDown, sqlStringBody } from './duckdb.ts';
export { fsyncPath } from './durable-fs.ts';
export type { Erasure, ErasureLog, ErasureStatus } from './erasure-log.ts';
export {
  EVENT_COLUMN_DEFS,
  EVENT_COLUMN_LIST,
  EVENT_COLUMNS,
  type EventColumn,
} from './event-columns.ts';
export type { EventSnapshot, EventSource, ExportedEvents, TimeRange } from './event-source.ts';
export {
  EventStore,
  type EventStoreOptions,
  type ReplayHandler,
  stagingOf,
} from './event-store.ts';
export {
  ALL_FAULT_POINTS,
  DAMAGED_COPY_FAULT_POINTS,
  DELETE_FAULT_POINTS,
  ERASURE_FAULT_POINTS,
  FAULT_POINTS,
  type FaultHook,
  type FaultPoint,
  killAt,
  RETENTION_FAULT_POINTS,
} from './faults.ts';
export { type FileIo, nodeFileIo } from './file-io.ts';
export {
  type Admission,
  COMMITS_IN_FLIGHT_MAX,
  type GroupCommitOptions,
  GroupCommitter,
  type SubmitOutcome,
} from './group-commit.ts';
export { interruptOnAbort } from './interrupt-on-abort.ts';
export { logIo, logPayloadBuffer } from './log-io.ts';
export {
  minuteCountsFile,
  minuteCountsOf,
  writeMinuteCounts,
} from './minute-counts.ts';
export type { ErasureRequest, PersonEraser } from './person-eraser.ts';
export type { DroppedDays, RetentionEraser } from './retention-eraser.ts';
export { DamagedStoreError, isUnusableStore } from './segment-check.ts';
export { publishSegments, segmentRelativePath } from './segment-files.ts';
export {
  SEGMENT_FORMAT,
  type SegmentFile,
  segmentRowsSql,
} from './segment-format.ts';
export {
  checkSegmentsSince,
  type SegmentKeyVisitor,
  type SegmentsAt,
  segmentKeysSince,
} from './segment-keys.ts';
export { DataDirInUseError, lockDataDir, openSqlite, SchemaTooNewError } from './sqlite.ts';
export { markChange, type StoreMark } from './store-mark.ts';
export type { DecideDeletion, Erased } from './tenant-eraser.ts';
export {
  type Durability,
  type WalDamage,
  WalDiskFullError,
  WalFileDeletedError,
  type WalOptions,
  type WalRecord,
  WriteAheadLog,
} from './wal.ts';
export { RECORD_BYTES_MAX } from './wal-frame.ts';
