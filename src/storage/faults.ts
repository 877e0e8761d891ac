// Named points in flush, compaction, deletions, retention, erasures and the rewriting of the
// copies of damaged log bytes (wal-damaged.ts) where a crash test can stop the process, to
// prove each step is recoverable. In production the hook is a no-op; a crash test sets
// FAULT_POINT and main.ts installs `killAt` that point.

export type FaultPoint =
  | StoreFaultPoint
  | DeleteFaultPoint
  | RetentionFaultPoint
  | ErasureFaultPoint
  | DamagedCopyFaultPoint;

/** The steps of the background work that every ingest-only crash test reaches. */
type StoreFaultPoint =
  | 'flush:after-write'
  | 'flush:after-rename'
  | 'flush:after-catalog'
  | 'flush:before-release'
  | 'compact:after-write'
  | 'compact:after-rename'
  | 'compact:after-catalog';

/** The steps of a tenant's deletion (see tenant-eraser.ts), reached only by a deletion. */
type DeleteFaultPoint = 'delete:after-catalog' | 'delete:after-purge' | 'delete:after-retire';

/** The steps of a retention pass deleting old days (see retention-eraser.ts). */
type RetentionFaultPoint = 'retention:after-catalog' | 'retention:after-retire';

/** The steps of an erasure of one person's events (see person-eraser.ts). */
type ErasureFaultPoint =
  | 'erase:after-record'
  | 'erase:after-cut'
  | 'erase:after-write'
  | 'erase:after-rename'
  | 'erase:after-catalog'
  | 'erase:after-retire'
  | 'erase:before-done';

/**
 * The rewrite of a copy of damaged log bytes by an erasure or a tenant's deletion: its temp
 * file written and fsynced, then renamed over the copy (wal-damaged.ts). Reached only when a
 * start kept such a copy.
 */
type DamagedCopyFaultPoint = 'copies:after-write' | 'copies:after-rename';

export const FAULT_POINTS: readonly StoreFaultPoint[] = [
  'flush:after-write',
  'flush:after-rename',
  'flush:after-catalog',
  'flush:before-release',
  'compact:after-write',
  'compact:after-rename',
  'compact:after-catalog',
];

export const DELETE_FAULT_POINTS: readonly DeleteFaultPoint[] = [
  'delete:after-catalog',
  'delete:after-purge',
  'delete:after-retire',
];

export const RETENTION_FAULT_POINTS: readonly RetentionFaultPoint[] = [
  'retention:after-catalog',
  'retention:after-retire',
];

export const ERASURE_FAULT_POINTS: readonly ErasureFaultPoint[] = [
  'erase:after-record',
  'erase:after-cut',
  'erase:after-write',
  'erase:after-rename',
  'erase:after-catalog',
  'erase:after-retire',
  'erase:before-done',
];

export const DAMAGED_COPY_FAULT_POINTS: readonly DamagedCopyFaultPoint[] = [
  'copies:after-write',
  'copies:after-rename',
];

/** Every point FAULT_POINT may name. */
export const ALL_FAULT_POINTS: readonly FaultPoint[] = [
  ...FAULT_POINTS,
  ...DELETE_FAULT_POINTS,
  ...RETENTION_FAULT_POINTS,
  ...ERASURE_FAULT_POINTS,
  ...DAMAGED_COPY_FAULT_POINTS,
];

export type FaultHook = (point: FaultPoint) => void;

export const noFaults: FaultHook = () => {};

/** A hook that SIGKILLs this process when `target` is reached (FAULT_POINT, crash tests only). */
export function killAt(target: FaultPoint): FaultHook {
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL');
  };
}
