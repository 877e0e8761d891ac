// What the sustained report reads from the once-a-second samples (sampler.ts): one quantity per
// sample (a Pick), its average and max over a window of seconds, its trend from the warm-up to
// the last window, and the counts per window (events accepted, flushes finished).

import type { Sample } from './sampler.ts';

const MiB = 1024 ** 2;

/** One quantity of a sample; null when the sample lacks it (no status answer). */
export type Pick = (s: Sample) => number | null;

export const rss: Pick = (s) => (Number.isFinite(s.rssMiB) ? s.rssMiB : null);
/** The dedup index's tables: bounded by DEDUP_KEYS_MAX, so it may grow for a whole run. */
export const dedupMiB: Pick = (s) => (s.status ? s.status.dedup_bytes / MiB : null);
/** The rest of the memory, which must not grow (the status answers just after /proc's read). */
export const rssLessDedup: Pick = (s) => {
  const [all, dedup] = [rss(s), dedupMiB(s)];
  return all === null || dedup === null ? null : all - dedup;
};
export const dedupKeys: Pick = (s) => (s.status ? s.status.dedup_keys : null);
/** Log records acknowledged but not yet in segments. */
export const backlog: Pick = (s) =>
  s.status ? s.status.last_seq - s.status.flushed_through_seq : null;
export const hotMiB: Pick = (s) => (s.status ? s.status.hot_bytes / MiB : null);
export const walFiles: Pick = (s) => (s.status ? s.status.wal_files : null);
export const statusMs: Pick = (s) => (s.status ? s.statusMs : null);

export interface Window {
  avg: number;
  max: number;
  /** The lowest sample: for memory, the floor a collection leaves, which a leak raises. */
  min: number;
  count: number;
}

export function inWindow(
  samples: readonly Sample[],
  fromS: number,
  toS: number,
  pick: Pick,
): Window {
  const values = samples
    .filter((s) => s.atS >= fromS && s.atS < toS)
    .map(pick)
    .filter((v): v is number => v !== null);
  if (values.length === 0) {
    return { avg: Number.NaN, max: Number.NaN, min: Number.NaN, count: 0 };
  }
  const avg = values.reduce((a, b) => a + b, 0) / values.length;
  return { avg, max: Math.max(...values), min: Math.min(...values), count: values.length };
}

/** A quantity over the run: the warm-up, the settled 10–20 s, the last window, the max. */
export interface Trend {
  first: Window;
  settled: Window;
  last: Window;
  max: number;
}

export function trend(
  samples: readonly Sample[],
  durationS: number,
  windowS: number,
  pick: Pick,
): Trend {
  return {
    first: inWindow(samples, 0, windowS, pick),
    settled: inWindow(samples, windowS, 2 * windowS, pick),
    last: inWindow(samples, durationS - windowS, durationS, pick),
    max: inWindow(samples, 0, durationS, pick).max,
  };
}

/**
 * Pass when the last window's `stat` (its average, or its lowest sample) is at most `factor` ×
 * the 10–20 s one's, the latter at least `floor` (NaN fails).
 */
export function notGrowing(
  t: Trend,
  factor: number,
  floor: number,
  stat: 'avg' | 'min' = 'avg',
): boolean {
  return t.last[stat] <= factor * Math.max(t.settled[stat], floor);
}

/**
 * Events the server took per second in [fromS, toS), from the growth of its dedup keys (one per
 * distinct event accepted): between the last status before the window (or zero keys at the
 * start) and the last status inside it.
 */
export function acceptedPerS(samples: readonly Sample[], fromS: number, toS: number): number {
  const withStatus = samples.filter((s) => s.status !== null);
  const before = withStatus.filter((s) => s.atS < fromS).at(-1);
  const end = withStatus.filter((s) => s.atS < toS).at(-1);
  const startKeys = before?.status?.dedup_keys ?? 0;
  const startS = before?.atS ?? 0;
  if (end?.status == null || end.atS <= startS) return Number.NaN;
  return (end.status.dedup_keys - startKeys) / (end.atS - startS);
}

/** How many samples in [fromS, toS) saw flushed_through_seq advance: flushes that finished. */
export function flushesSeen(samples: readonly Sample[], fromS: number, toS: number): number {
  const withStatus = samples.filter((s) => s.status !== null);
  let count = 0;
  for (let i = 1; i < withStatus.length; i++) {
    const [prev, cur] = [withStatus[i - 1]?.status, withStatus[i] as Sample];
    if (cur.atS < fromS || cur.atS >= toS || prev == null || cur.status == null) continue;
    if (cur.status.flushed_through_seq > prev.flushed_through_seq) count++;
  }
  return count;
}
