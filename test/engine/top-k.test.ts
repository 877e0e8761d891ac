import { describe, expect, test } from 'bun:test';
import { TenantRollups } from '../../src/engine/rollups.ts';
import { SpaceSaving, type TopEntry, WindowedTopK } from '../../src/engine/top-k.ts';
import { seededRandom } from '../helpers/random.ts';

const H = 3_600_000;
/** The 24 h window of the rollups' top paths: 24 hourly buckets. */
const TOP_24H = { bucketMs: H, buckets: 24 };
const T0 = Date.UTC(2024, 0, 15, 0, 0, 0);

/** A Zipf-like stream of paths: path i is drawn with probability ∝ 1 / (i + 1). */
function zipfStream(distinct: number, length: number, seed: number): string[] {
  const next = seededRandom(seed);
  const weights = Array.from({ length: distinct }, (_, i) => 1 / (i + 1));
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) {
    sum += w;
    cumulative.push(sum);
  }
  const out: string[] = [];
  for (let n = 0; n < length; n++) {
    const r = next() * sum;
    let lo = 0;
    let hi = distinct - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? 0) < r) lo = mid + 1;
      else hi = mid;
    }
    out.push(`/page/${lo}`);
  }
  return out;
}

function exactCounts(stream: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of stream) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

function exactTop(counts: Map<string, number>, n: number): TopEntry[] {
  return [...counts]
    .map(([item, count]) => ({ item, count, error: 0 }))
    .sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : 1))
    .slice(0, n);
}

/** Every reported entry brackets the truth: count - error ≤ true ≤ count. */
function expectBounds(entries: TopEntry[], exact: Map<string, number>): void {
  for (const e of entries) {
    const truth = exact.get(e.item) ?? 0;
    expect(e.count - e.error).toBeLessThanOrEqual(truth);
    expect(truth).toBeLessThanOrEqual(e.count);
  }
}

describe('SpaceSaving', () => {
  test('is exact while distinct items fit the capacity', () => {
    const stream = zipfStream(500, 50_000, 1);
    const exact = exactCounts(stream);
    const s = new SpaceSaving(500);
    for (const item of stream) s.add(item);
    expect(s.top(1000)).toEqual(exactTop(exact, 1000));
    expect(s.unmonitoredCountMax).toBe(0);
    expect(s.total).toBe(50_000);
  });

  test('past capacity: bounded error, and every heavy item is reported', () => {
    const stream = zipfStream(20_000, 200_000, 2);
    const exact = exactCounts(stream);
    const capacity = 200;
    const s = new SpaceSaving(capacity);
    for (const item of stream) s.add(item);
    expect(s.size).toBe(capacity);
    const all = s.entries();
    expectBounds(all, exact);
    const threshold = s.total / capacity;
    expect(s.unmonitoredCountMax).toBeLessThanOrEqual(threshold);
    for (const e of all) expect(e.error).toBeLessThanOrEqual(threshold);
    const reported = new Set(all.map((e) => e.item));
    for (const [item, count] of exact) if (count > threshold) expect(reported.has(item)).toBe(true);
    expect(s.top(5).map((e) => e.item)).toEqual(exactTop(exact, 5).map((e) => e.item));
  });

  test('weighted adds, and ties ordered by item', () => {
    const s = new SpaceSaving(10);
    s.add('/b', 3);
    s.add('/a', 3);
    s.add('/c', 5);
    expect(s.top(2)).toEqual([
      { item: '/c', count: 5, error: 0 },
      { item: '/a', count: 3, error: 0 },
    ]);
    expect(s.top(0)).toEqual([]);
  });

  test('a new item past capacity takes the smallest counter as its error', () => {
    const s = new SpaceSaving(2);
    s.add('/a', 5);
    s.add('/b', 2);
    s.add('/c');
    expect(s.top(3)).toEqual([
      { item: '/a', count: 5, error: 0 },
      { item: '/c', count: 3, error: 2 },
    ]);
  });
});

describe('WindowedTopK', () => {
  test('merges hourly buckets exactly while none is full', () => {
    const w = new WindowedTopK({ ...TOP_24H, capacity: 100 });
    for (let hour = 0; hour < 24; hour++) {
      const now = T0 + hour * H;
      w.add('/home', now, now, 2);
      if (hour % 2 === 0) w.add('/pricing', now, now);
    }
    expect(w.top(5, T0 + 23 * H)).toEqual([
      { item: '/home', count: 48, error: 0 },
      { item: '/pricing', count: 12, error: 0 },
    ]);
  });

  test('covers the last 24 hourly buckets including the current one', () => {
    const w = new WindowedTopK({ ...TOP_24H, capacity: 10 });
    w.add('/old', T0, T0);
    w.add('/new', T0 + H, T0 + H);
    expect(w.top(5, T0 + 24 * H - 1).map((e) => e.item)).toEqual(['/new', '/old']);
    expect(w.top(5, T0 + 24 * H).map((e) => e.item)).toEqual(['/new']);
    expect(w.top(5, T0 + 25 * H)).toEqual([]);
  });

  test('merged counts stay upper bounds with a true error when buckets overflow', () => {
    const w = new WindowedTopK({ ...TOP_24H, capacity: 50 });
    const all: string[] = [];
    for (let hour = 0; hour < 24; hour++) {
      const now = T0 + hour * H;
      for (const item of zipfStream(2000, 5000, 100 + hour)) {
        w.add(item, now, now);
        all.push(item);
      }
    }
    const exact = exactCounts(all);
    const top = w.top(50, T0 + 23 * H);
    expect(top.length).toBe(50);
    expectBounds(top, exact);
    expect(top.slice(0, 3).map((e) => e.item)).toEqual(exactTop(exact, 3).map((e) => e.item));
  });

  test('too old and far-future times are refused', () => {
    const w = new WindowedTopK({ ...TOP_24H, capacity: 10 });
    expect(w.add('/x', T0 - 24 * H, T0)).toBe('expired');
    expect(w.add('/x', T0 + H, T0)).toBe('future');
    expect(w.add('/x', T0 - 23 * H, T0)).toBe('counted');
    expect(w.top(1, T0)).toEqual([{ item: '/x', count: 1, error: 0 }]);
  });

  test('after a clock step back, a bucket with a later receipt is left out until then', () => {
    const w = new WindowedTopK({ ...TOP_24H, capacity: 10 });
    const received = T0 + H / 2;
    w.add('/before', received, received);
    expect(w.nextChangeAt(received)).toBe(Number.POSITIVE_INFINITY);
    const back = received - 60_000; // NTP steps the clock back a minute
    w.add('/after', back, back);
    expect(w.top(5, back)).toEqual([]);
    expect(w.nextChangeAt(back)).toBe(received);
    expect(w.top(5, received - 1)).toEqual([]);
    expect(w.top(5, received).map((e) => e.item)).toEqual(['/after', '/before']);
    expect(w.nextChangeAt(received)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('live top paths when distinct paths outnumber the counters', () => {
  test('paths seen often rank first, with views known for certain (never above the truth)', () => {
    const rollups = new TenantRollups({ namesMax: 10, pathsMax: 1000 });
    const start = Date.UTC(2026, 10, 26);
    const truth = new Map<string, number>();
    let id = 0;
    const next = seededRandom(1);
    for (let hour = 0; hour < 24; hour++) {
      // 10 real paths, 5 views an hour each, among 3,000 paths seen once an hour.
      const paths: string[] = [];
      for (let k = 0; k < 10; k++) for (let i = 0; i < 5; i++) paths.push(`/real${k}`);
      for (let i = 0; i < 3000; i++) paths.push(`/once-${hour}-${i}`);
      for (let i = paths.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [paths[i], paths[j]] = [paths[j] as string, paths[i] as string];
      }
      for (let s = 0; s < paths.length; s += 50) {
        const now = start + hour * 3_600_000 + s * 10;
        const events = paths.slice(s, s + 50).map((path) => {
          truth.set(path, (truth.get(path) ?? 0) + 1);
          const base = { name: 'page_view', visitor_id: 'v', is_bot: false, value: null };
          return { ...base, event_id: `${id++}`, path, received_at: now, timestamp: now };
        });
        rollups.apply(events, now);
      }
    }
    const top = rollups.snapshot(start + 24 * 3_600_000 - 1000).windows['24h'].top_paths;
    expect(top.map((t) => t.path).sort()).toEqual(
      Array.from({ length: 10 }, (_, k) => `/real${k}`).sort(),
    );
    for (const t of top) {
      expect(t.views).toBeGreaterThan(0);
      expect(t.views).toBeLessThanOrEqual(truth.get(t.path) as number);
    }
  });
});
