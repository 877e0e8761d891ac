// The sustained benchmark's memory verdict: RSS less the dedup index is judged on each window's
// lowest sample, so garbage awaiting a collection (a sawtooth whose peaks fall in one window
// and not the other) passes, and a floor that rises (a leak) fails.

import { describe, expect, test } from 'bun:test';
import { notGrowing, rssLessDedup, trend } from '../../bench/support/sample-windows.ts';
import type { Sample } from '../../bench/support/sampler.ts';

const MiB = 1024 ** 2;

/** One sample a second: `rest(s)` MiB besides a 256 MiB dedup index. */
function samples(durationS: number, rest: (s: number) => number): Sample[] {
  return Array.from({ length: durationS }, (_, s) => ({
    atS: s,
    rssMiB: 256 + rest(s),
    statusMs: 1,
    status: {
      last_seq: s,
      flushed_through_seq: s,
      hot_bytes: 0,
      wal_files: 1,
      dedup_keys: 1,
      dedup_bytes: 256 * MiB,
      actors: 1,
      rss_bytes: 0,
    },
  }));
}

describe('the sustained RSS verdict', () => {
  test('garbage awaiting a collection passes on the floor, not on the average', () => {
    // A collection every 10 s; garbage piles up 10 MiB a second before 50 s, then 80 (the
    // collector allows more once the index doubled): the last window's average is past 1.5 ×
    // that of 10–20 s, its floor is not.
    const run = samples(60, (s) => 400 + (s < 50 ? 10 : 80) * (s % 10));
    const t = trend(run, 60, 10, rssLessDedup);
    expect(t.last.avg).toBeGreaterThan(1.5 * t.settled.avg);
    expect(notGrowing(t, 1.5, 0)).toBe(false);
    expect(notGrowing(t, 1.5, 0, 'min')).toBe(true);
  });

  test('a floor that keeps rising fails', () => {
    const run = samples(60, (s) => 400 + 20 * s);
    const t = trend(run, 60, 10, rssLessDedup);
    expect(t.last.min).toBe(400 + 20 * 50);
    expect(notGrowing(t, 1.5, 0, 'min')).toBe(false);
  });

  test('the average stays the default, as the backlog is judged', () => {
    const run = samples(60, (s) => (s >= 50 ? 1000 : 400));
    const t = trend(run, 60, 10, rssLessDedup);
    expect(notGrowing(t, 1.5, 0)).toBe(false);
    expect(notGrowing(t, 2, 0)).toBe(false);
    expect(notGrowing(t, 2.5, 0)).toBe(true);
  });
});
