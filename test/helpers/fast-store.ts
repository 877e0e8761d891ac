// Settings that make a spawned server flush every 100 ms and merge every 250 ms as soon as two
// segments of a day exist, whatever their size: the crash tests' kills then land in flushes
// and compactions within a second of traffic.

export const FAST_FLUSH_ENV: Readonly<Record<string, string>> = {
  FLUSH_INTERVAL: '100ms',
  COMPACT_INTERVAL: '250ms',
  COMPACT_SEGMENTS_MIN: '2',
  SMALL_SEGMENT_BYTES_MAX: String(1 << 30),
};
