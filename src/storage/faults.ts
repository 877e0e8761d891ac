// Named points in flush and compaction where a crash test can stop the process, to prove each
// step is recoverable. In production the hook is a no-op.

export type FaultPoint =
  | 'flush:after-write'
  | 'flush:after-rename'
  | 'flush:after-catalog'
  | 'flush:before-release'
  | 'compact:after-write'
  | 'compact:after-rename'
  | 'compact:after-catalog';

export const FAULT_POINTS: readonly FaultPoint[] = [
  'flush:after-write',
  'flush:after-rename',
  'flush:after-catalog',
  'flush:before-release',
  'compact:after-write',
  'compact:after-rename',
  'compact:after-catalog',
];

export type FaultHook = (point: FaultPoint) => void;

export const noFaults: FaultHook = () => {};
